"""etcd-py with auth across restarts, token expiry, a 3-member cluster and JWT tokens."""

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
from tests.servers import EtcdProcess, wait_until

T = 8.0


def _enable_auth(endpoint: str) -> None:
    with grpc.insecure_channel(endpoint) as ch:
        auth = stubs.AuthStub(ch)
        auth.UserAdd(pb.AuthUserAddRequest(name="root", password="pw"), timeout=T)
        auth.UserGrantRole(pb.AuthUserGrantRoleRequest(user="root", role="root"), timeout=T)
        auth.AuthEnable(pb.AuthEnableRequest(), timeout=T)


def _token(endpoint: str) -> str:
    with grpc.insecure_channel(endpoint) as ch:
        return (
            stubs.AuthStub(ch)
            .Authenticate(pb.AuthenticateRequest(name="root", password="pw"), timeout=T)
            .token
        )


def _get(endpoint: str, token: str) -> grpc.StatusCode:
    with grpc.insecure_channel(endpoint) as ch:
        try:
            stubs.KVStub(ch).Range(pb.RangeRequest(key=b"k"), metadata=(("token", token),), timeout=T)
        except grpc.RpcError as e:
            return e.code()
    return grpc.StatusCode.OK


def _token_works(endpoint: str, token: str) -> bool:
    return _get(endpoint, token) == grpc.StatusCode.OK


def test_restart_keeps_users_roles_and_auth(tmp_path: Path) -> None:
    p = EtcdProcess("etcdpy", tmp_path / "a.etcd", extra_args=["--bcrypt-cost", "4"])
    p.start()
    try:
        _enable_auth(p.endpoint)
        assert run(p.endpoint, "--user", "root:pw", "role", "add", "r1").rc == 0
        token = _token(p.endpoint)
        p.stop()
        p.start()
        assert run(p.endpoint, "get", "k").err == "Error: etcdserver: user name is empty"
        assert run(p.endpoint, "--user", "root:pw", "role", "list").out == "r1\n"
        assert run(p.endpoint, "--user", "root:pw", "auth", "status").out.startswith(
            "Authentication Status: true"
        )
        assert _get(p.endpoint, token) == grpc.StatusCode.UNAUTHENTICATED  # simple tokens die with the member
    finally:
        p.stop()


def test_simple_token_expires_after_ttl_of_disuse(tmp_path: Path) -> None:
    p = EtcdProcess("etcdpy", tmp_path / "a.etcd", extra_args=["--auth-token-ttl", "1", "--bcrypt-cost", "4"])
    p.start()
    try:
        _enable_auth(p.endpoint)
        token = _token(p.endpoint)
        assert _get(p.endpoint, token) == grpc.StatusCode.OK
        # Each look renews the token: look less often than its TTL.
        wait_until(
            lambda: _get(p.endpoint, token) == grpc.StatusCode.UNAUTHENTICATED,
            6,
            "token to expire",
            interval=1.5,
        )
    finally:
        p.stop()


def test_three_members_share_auth_and_simple_tokens(tmp_path: Path) -> None:
    with running_cluster("etcdpy", tmp_path, 3, extra_args=("--bcrypt-cost", "4")) as cluster:
        eps = [m.endpoint for m in cluster.members]
        _enable_auth(eps[0])
        token = _token(eps[1])
        for ep in eps:  # a token made through one member is known to every member
            wait_until(functools.partial(_token_works, ep, token), 5, f"token known on {ep}")
        assert run(eps[2], "--user", "root:pw", "put", "k", "v").out == "OK\n"
        assert run(eps[0], "get", "k").err == "Error: etcdserver: user name is empty"


@pytest.mark.parametrize("method", ["RS256", "ES256"])
def test_jwt_tokens(tmp_path: Path, method: str) -> None:
    spec = jwt_spec(tmp_path, method)
    p = EtcdProcess("etcdpy", tmp_path / "a.etcd", extra_args=["--auth-token", spec, "--bcrypt-cost", "4"])
    p.start()
    try:
        _enable_auth(p.endpoint)
        token = _token(p.endpoint)
        assert token.count(".") == 2
        assert _get(p.endpoint, token) == grpc.StatusCode.OK
        assert _get(p.endpoint, token[:-4] + "AAAA") == grpc.StatusCode.UNAUTHENTICATED
        # A JWT outlives a change of the auth store but is then refused as old (etcd re-authenticates).
        assert run(p.endpoint, "--user", "root:pw", "role", "add", "r1").rc == 0
        assert _get(p.endpoint, token) == grpc.StatusCode.INVALID_ARGUMENT
    finally:
        p.stop()
