"""The real etcdctl 3.5.1 managing users, roles and auth against etcd-py and reference etcd side by side:
every command's exit code, output and error must match."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.auth._ctl import normalized, run, servers

pytestmark = pytest.mark.reference

R = ["--user", "root:pw"]
A = ["--user", "alice:a"]
STEPS: list[list[str]] = [
    ["auth", "enable"],
    ["user", "add", "root:pw"],
    ["auth", "enable"],
    ["get", "/a"],
    [*R, "user", "add", "alice:a"],
    [*R, "user", "add", "alice:a"],
    [*R, "role", "add", "r1"],
    [*R, "role", "grant-permission", "r1", "readwrite", "/a", "/b"],
    [*R, "role", "grant-permission", "r1", "read", "/p", "--prefix"],
    [*R, "role", "grant-permission", "r1", "write", "/z", "--from-key"],
    [*R, "role", "grant-permission", "r1", "read", "/k"],
    [*R, "role", "grant-permission", "r1", "write", "/k"],
    [*R, "role", "get", "r1"],
    [*R, "role", "get", "root"],
    [*R, "user", "grant-role", "alice", "r1"],
    [*R, "user", "grant-role", "alice", "r1"],
    [*R, "user", "grant-role", "alice", "nosuch"],
    [*R, "user", "grant-role", "nosuch", "r1"],
    [*R, "user", "get", "alice"],
    [*R, "user", "list"],
    [*R, "role", "list"],
    [*A, "put", "/a", "x"],
    [*A, "put", "/c", "x"],
    [*A, "get", "/a"],
    [*A, "get", "/a", "/c"],
    [*A, "get", "/p", "--prefix"],
    [*A, "put", "/z1", "v"],
    [*A, "get", "/z1"],
    [*A, "del", "/a"],
    [*A, "user", "get", "alice"],
    [*A, "user", "get", "root"],
    [*A, "role", "get", "r1"],
    [*A, "role", "get", "root"],
    [*A, "user", "list"],
    [*A, "role", "list"],
    [*A, "auth", "status"],
    [*A, "auth", "disable"],
    [*A, "user", "add", "eve:e"],
    [*A, "member", "list", "-w", "simple"],
    [*A, "member", "add", "x", "--peer-urls", "http://127.0.0.1:1"],
    [*A, "endpoint", "hashkv"],
    [*A, "endpoint", "hash"],
    [*A, "defrag"],
    [*A, "alarm", "list"],
    ["--user", "alice:b", "get", "/a"],
    ["--user", "nobody:b", "get", "/a"],
    [*R, "user", "revoke-role", "root", "root"],
    [*R, "user", "delete", "root"],
    [*R, "role", "delete", "root"],
    [*R, "role", "revoke-permission", "r1", "/q"],
    [*R, "role", "revoke-permission", "r1", "/k"],
    [*R, "role", "revoke-permission", "r1", "/k"],
    [*R, "role", "get", "r1"],
    [*R, "user", "add", "bob", "--no-password"],
    ["--user", "bob:x", "get", "/a"],
    [*R, "user", "revoke-role", "alice", "r1"],
    [*R, "user", "revoke-role", "alice", "r1"],
    [*A, "get", "/a"],
    [*R, "user", "passwd", "alice", "--interactive=false"],
    [*A, "get", "/a"],
    [*R, "role", "delete", "r1"],
    [*R, "user", "delete", "bob"],
    [*R, "user", "list"],
    [*R, "auth", "status"],
    [*R, "auth", "disable"],
    [*R, "auth", "disable"],
    ["auth", "status"],
    ["get", "/a"],
]


def test_etcdctl_auth_commands_match_reference(tmp_path: Path) -> None:
    with servers(tmp_path, ["etcdpy", "reference"]) as procs:
        for step in STEPS:
            stdin = "a2\n" if "passwd" in step else ""
            ours, ref = (
                normalized(run(procs[k].endpoint, *step, stdin=stdin)) for k in ("etcdpy", "reference")
            )
            assert ours == ref, f"etcdctl {' '.join(step)}"
