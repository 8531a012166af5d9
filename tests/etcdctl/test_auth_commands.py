"""etcdctl auth, user and role, and the --user/--password flags: etcd-py's etcdctl against the
real etcdctl 3.5.1, each against its own reference etcd 3.5.1, step by step in lockstep.

The same steps run with etcd-py's etcdctl against etcd-py's server ("full") once that
server implements the Auth service; until then (its AuthStatus answers UNIMPLEMENTED) that
half is skipped.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from google.protobuf.message import Message

from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from tests.etcdctl._harness import Masks, Pair, compare, make_pair, run

pytestmark = pytest.mark.reference

ROOT = ("--user", "root:rootpw")
FORMATS = ("simple", "json", "fields", "protobuf", "table")


@pytest.fixture(scope="module", params=["etcdctl", "full"])
def pair(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    p = make_pair(tmp_path_factory.mktemp("auth"), request.param)
    try:
        yield p
    finally:
        for side in p.sides():
            side.server.stop()


@dataclass(frozen=True)
class Step:
    args: tuple[str, ...]
    stdin: bytes = b""
    pb_type: type[Message] | None = None


def _steps(*items: tuple[str, ...] | Step) -> list[Step]:
    return [item if isinstance(item, Step) else Step(item) for item in items]


def _run_steps(pair: Pair, steps: list[Step], cwd: Path) -> None:
    for step in steps:
        ref, ours = compare(pair, step.args, stdin=step.stdin, masks=Masks(pb_type=step.pb_type), cwd=cwd)
        assert ours == ref, step.args


def _formats(
    *args: str, pb_type: type[Message], user: tuple[str, ...] = ROOT, formats: tuple[str, ...] = FORMATS
) -> list[Step]:
    return [
        Step((*user, "-w", fmt, *args), pb_type=pb_type if fmt == "protobuf" else None) for fmt in formats
    ]


def test_enabling_authentication(pair: Pair, tmp_path: Path) -> None:
    steps = _steps(
        ("auth", "status"),
        Step(("-w", "json", "auth", "status")),
        Step(("-w", "protobuf", "auth", "status"), pb_type=pb.AuthStatusResponse),
        ("-w", "fields", "auth", "status"),
        ("-w", "table", "auth", "status"),
        ("auth", "enable"),  # no root user yet
        ("user", "add", "root", "--new-user-password=rootpw"),
        ("auth", "enable"),  # creates the root role, grants it, enables
        ("auth", "status"),  # no credentials
        ("user", "list"),
        ("--user", "root:wrong", "user", "list"),
        ("--user", "nobody:x", "get", "a"),
        ("--user", "root", "--password", "rootpw", "auth", "status"),
        Step(("--user", "root", "auth", "status"), stdin=b"rootpw\n"),
        ("--user", "root:", "user", "list"),  # an empty password: no login at all
        (*ROOT, "auth", "disable"),
        (*ROOT, "auth", "enable"),  # logging in fails (not enabled), enabling works
        (*ROOT, "-w", "table", "auth", "enable"),
        ("auth", "enable", "x"),
        ("auth", "disable", "x"),
        ("auth", "status", "x"),
    )
    _run_steps(pair, steps, tmp_path)


def test_users_and_roles(pair: Pair, tmp_path: Path) -> None:
    ensure_root = [(*ROOT, "auth", "status")]
    for side in pair.sides():
        argv = ["--endpoints", side.server.endpoint]
        if run(pair.ref.command, [*argv, *ensure_root[0]], b"", {}, tmp_path).code != 0:
            for setup in (("user", "add", "root:rootpw"), ("auth", "enable")):
                assert run(pair.ref.command, [*argv, *setup], b"", {}, tmp_path).code == 0
    steps = _steps(
        (*ROOT, "role", "add", "r1"),
        (*ROOT, "role", "add", "r1"),
        (*ROOT, "role", "grant-permission", "r1", "read", "a"),
        (*ROOT, "role", "grant-permission", "r1", "write", "b", "c"),
        (*ROOT, "role", "grant-permission", "--prefix", "r1", "readwrite", "p"),
        (*ROOT, "role", "grant-permission", "--from-key", "r1", "READ", "f"),
        (*ROOT, "role", "grant-permission", "r1", "read", ""),
        (*ROOT, "role", "grant-permission", "--prefix", "r1", "write", ""),
        (*ROOT, "role", "grant-permission", "r1", "bogus", "k"),
        (*ROOT, "role", "grant-permission", "r1", "read"),
        (*ROOT, "role", "grant-permission", "--prefix", "r1", "read", "k", "e"),
        (*ROOT, "role", "grant-permission", "--from-key", "r1", "read", "k", "e"),
        (*ROOT, "role", "grant-permission", "--prefix", "--from-key", "r1", "read", "k"),
        (*ROOT, "role", "grant-permission", "nope", "read", "k"),
        *_formats("role", "get", "r1", pb_type=pb.AuthRoleGetResponse),
        *_formats("role", "list", pb_type=pb.AuthRoleListResponse),
        (*ROOT, "role", "get", "nope"),
        (*ROOT, "user", "add", "u1:p1"),
        (*ROOT, "user", "add", "u1:p1"),
        (*ROOT, "user", "add", ":p1"),
        Step((*ROOT, "user", "add", "u2", "--interactive=false"), stdin=b"  pw2 rest\n"),
        (*ROOT, "user", "add", "u3", "--no-password"),
        (*ROOT, "user", "add", "u4", "--new-user-password", "pw4"),
        Step((*ROOT, "user", "add", "u5"), stdin=b"pw5\npw5\n"),
        Step((*ROOT, "user", "add", "u6"), stdin=b"pw6\nother\n"),
        Step((*ROOT, "user", "add", "u6"), stdin=b""),
        (*ROOT, "user", "grant-role", "u1", "r1"),
        (*ROOT, "user", "grant-role", "u1", "root"),
        (*ROOT, "user", "grant-role", "u1", "nope"),
        (*ROOT, "user", "grant-role", "nobody", "r1"),
        *_formats("user", "get", "u1", pb_type=pb.AuthUserGetResponse),
        *_formats(
            "user", "get", "--detail", "u1", pb_type=pb.AuthRoleGetResponse, formats=("simple", "json")
        ),
        *_formats(
            "user", "get", "--detail", "u1", pb_type=pb.AuthRoleGetResponse, formats=("fields", "table")
        ),
        *_formats("user", "list", pb_type=pb.AuthUserListResponse),
        (*ROOT, "user", "get", "nobody"),
        ("--user", "u2:pw2", "user", "list"),  # u2 has no role: permission denied
        ("--user", "u1:p1", "user", "list"),  # u1 is root now
        (*ROOT, "user", "revoke-role", "u1", "root"),
        (*ROOT, "user", "revoke-role", "u1", "root"),
        Step((*ROOT, "user", "passwd", "u2", "--interactive=false"), stdin=b"new2\n"),
        Step((*ROOT, "user", "passwd", "u2"), stdin=b"x\nx\n"),
        Step((*ROOT, "user", "passwd", "u2"), stdin=b"\n"),
        (*ROOT, "user", "passwd", "nobody", "--interactive=false"),
        (*ROOT, "role", "revoke-permission", "r1", "a"),
        (*ROOT, "role", "revoke-permission", "r1", "b", "c"),
        (*ROOT, "role", "revoke-permission", "--prefix", "r1", "p"),
        (*ROOT, "role", "revoke-permission", "--from-key", "r1", "f"),
        (*ROOT, "role", "revoke-permission", "r1", "a"),
        (*ROOT, "role", "revoke-permission", "--prefix", "r1", "a", "b"),
        (*ROOT, "role", "revoke-permission", "r1"),
        (*ROOT, "user", "delete", "u3"),
        (*ROOT, "user", "delete", "u3"),
        (*ROOT, "role", "delete", "r1"),
        (*ROOT, "role", "delete", "r1"),
    )
    for fmt in FORMATS[1:]:
        # Every one of these responses is a header only.
        header_only = pb.AuthRoleAddResponse if fmt == "protobuf" else None
        steps += [
            Step(args, stdin, header_only)
            for args, stdin in (
                ((*ROOT, "-w", fmt, "role", "add", f"x{fmt}"), b""),
                ((*ROOT, "-w", fmt, "user", "add", f"x{fmt}:p"), b""),
                ((*ROOT, "-w", fmt, "user", "passwd", f"x{fmt}", "--interactive=false"), b"q\n"),
                ((*ROOT, "-w", fmt, "user", "grant-role", f"x{fmt}", f"x{fmt}"), b""),
                ((*ROOT, "-w", fmt, "user", "revoke-role", f"x{fmt}", f"x{fmt}"), b""),
                ((*ROOT, "-w", fmt, "role", "grant-permission", f"x{fmt}", "read", "k"), b""),
                ((*ROOT, "-w", fmt, "role", "revoke-permission", f"x{fmt}", "k"), b""),
                ((*ROOT, "-w", fmt, "role", "delete", f"x{fmt}"), b""),
                ((*ROOT, "-w", fmt, "user", "delete", f"x{fmt}"), b""),
            )
        ]
    _run_steps(pair, steps, tmp_path)


def test_argument_errors(pair: Pair, tmp_path: Path) -> None:
    steps = _steps(
        ("user", "add"),
        ("user", "add", "a", "b"),
        ("user", "delete"),
        ("user", "get"),
        ("user", "list", "x"),
        ("user", "passwd"),
        ("user", "grant-role", "a"),
        ("user", "revoke-role", "a"),
        ("role", "add"),
        ("role", "delete"),
        ("role", "get"),
        ("role", "list", "x"),
        ("role", "revoke-permission", "r"),
        ("role", "grant-permission", "r", "read"),
        ("user",),
        ("role",),
        ("auth",),
        ("user", "add", "--help"),
        ("role", "grant-permission", "--help"),
    )
    _run_steps(pair, steps, tmp_path)
