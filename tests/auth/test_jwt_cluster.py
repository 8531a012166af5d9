"""Auth across a 3-member cluster: JWT tokens (keys made here with `cryptography`) made by one member
are honoured by the others, as on reference etcd 3.5.1; a member that catches up by snapshot keeps
the users, roles and the auth switch it missed."""

from __future__ import annotations

import functools
from pathlib import Path

import grpc
import pytest

from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.api.pb.etcdserverpb import rpc_pb2_grpc as stubs
from tests.auth._ctl import run
from tests.auth._jwt import jwt_spec
from tests.cluster._cluster import running_cluster
from tests.servers import wait_until

T = 8.0


def _setup_auth(endpoint: str) -> None:
    """root, and alice who may read under r/; then auth on."""
    with grpc.insecure_channel(endpoint) as ch:
        auth = stubs.AuthStub(ch)
        for user in ("root", "alice"):
            auth.UserAdd(pb.AuthUserAddRequest(name=user, password="pw"), timeout=T)
        auth.UserGrantRole(pb.AuthUserGrantRoleRequest(user="root", role="root"), timeout=T)
        auth.RoleAdd(pb.AuthRoleAddRequest(name="reader"), timeout=T)
        grant = pb.AuthRoleGrantPermissionRequest(name="reader")
        grant.perm.key, grant.perm.range_end = b"r/", b"r0"
        auth.RoleGrantPermission(grant, timeout=T)
        auth.UserGrantRole(pb.AuthUserGrantRoleRequest(user="alice", role="reader"), timeout=T)
        auth.AuthEnable(pb.AuthEnableRequest(), timeout=T)


def _token(endpoint: str, user: str) -> str:
    with grpc.insecure_channel(endpoint) as ch:
        req = pb.AuthenticateRequest(name=user, password="pw")
        return str(stubs.AuthStub(ch).Authenticate(req, timeout=T).token)


def _range(endpoint: str, token: str, key: bytes) -> str:
    with grpc.insecure_channel(endpoint) as ch:
        try:
            stubs.KVStub(ch).Range(pb.RangeRequest(key=key), metadata=(("token", token),), timeout=T)
        except grpc.RpcError as e:
            return f"{e.code().name}: {e.details()}"
    return "OK"


def _accepted(endpoint: str, token: str) -> bool:
    return _range(endpoint, token, b"r/1") == "OK"


@pytest.mark.reference
@pytest.mark.parametrize("kind", ["etcdpy", "reference"])
def test_jwt_from_one_member_works_on_the_others(tmp_path: Path, kind: str) -> None:
    spec = jwt_spec(tmp_path, "ES256")
    with running_cluster(kind, tmp_path, 3, extra_args=("--auth-token", spec, "--bcrypt-cost", "4")) as c:
        eps = [m.endpoint for m in c.members]
        _setup_auth(eps[0])
        token = _token(eps[1], "alice")
        assert token.count(".") == 2
        for ep in eps:
            # A member honours the JWT once it has applied the users and roles it names.
            wait_until(functools.partial(_accepted, ep, token), 10, f"the token accepted on {ep}")
            assert _range(ep, token, b"x") == "PERMISSION_DENIED: etcdserver: permission denied"
            forged = token[: token.rindex(".") + 1] + "AAAA"
            assert _range(ep, forged, b"r/1") == "UNAUTHENTICATED: etcdserver: invalid auth token"


SNAPSHOT_ARGS = ("--snapshot-count=50", "--experimental-snapshot-catchup-entries=10", "--bcrypt-cost=4")


def test_member_caught_up_by_snapshot_keeps_users_and_roles(tmp_path: Path) -> None:
    with running_cluster("etcdpy", tmp_path, 3, extra_args=SNAPSHOT_ARGS) as c:
        leader = c.member_by_id(c.wait_one_leader())
        follower = next(m for m in c.members if m is not leader)
        follower.kill9()
        _setup_auth(leader.endpoint)
        root = _token(leader.endpoint, "root")
        with grpc.insecure_channel(leader.endpoint) as ch:
            kv = stubs.KVStub(ch)
            for i in range(120):
                kv.Put(pb.PutRequest(key=b"r/%03d" % i, value=b"v"), metadata=(("token", root),), timeout=T)
        follower.start(wait=False)
        follower.wait_ready(timeout=60)
        ep = follower.endpoint
        user = ("--user", "root:pw", "--consistency=s")
        wait_until(lambda: run(ep, *user, "get", "r/119", "--print-value-only").out == "v\n", 30,
                   "the follower to catch up")  # fmt: skip
        assert "applied snapshot" in follower.log_tail(400)
        assert run(ep, "--user", "root:pw", "auth", "status").out.startswith("Authentication Status: true")
        assert run(ep, "--user", "root:pw", "user", "list").out == "alice\nroot\n"
        assert run(ep, "--user", "root:pw", "role", "get", "reader").out == (
            "Role reader\nKV Read:\n\t[r/, r0) (prefix r/)\nKV Write:\n"
        )
        alice = _token(ep, "alice")
        assert _range(ep, alice, b"r/1") == "OK"
        assert _range(ep, alice, b"x") == "PERMISSION_DENIED: etcdserver: permission denied"
        assert run(ep, "get", "r/1").err == "Error: etcdserver: user name is empty"
