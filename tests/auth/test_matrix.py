"""Authorization matrix: every kind of operation under every kind of caller, through raw gRPC, on
etcd-py and reference etcd 3.5.1 side by side; each result (response summary or status code and
message) must be the same."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest

from etcdpy.api.pb.authpb import auth_pb2
from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.api.pb.etcdserverpb import rpc_pb2_grpc as stubs
from tests.auth._ctl import servers

pytestmark = pytest.mark.reference

Metadata = tuple[tuple[str, str | bytes], ...]
Op = Callable[[grpc.Channel, Metadata, bytes], Any]
T = 8.0


def _kv(ch: grpc.Channel) -> stubs.KVStub:
    return stubs.KVStub(ch)


def _watch(ch: grpc.Channel, md: Metadata, key: bytes) -> Any:
    req = pb.WatchRequest(create_request=pb.WatchCreateRequest(key=key))
    stream: Any = stubs.WatchStub(ch).Watch(iter([req]), metadata=md, timeout=T)  # stubs lack __next__
    try:
        first = next(stream)
        return ("watch", first.created, first.canceled, first.cancel_reason)
    finally:
        stream.cancel()


def _lease_revoke(ch: grpc.Channel, md: Metadata, key: bytes, root: Metadata) -> Any:
    """Revoke a lease that root attached `key` to."""
    lease = stubs.LeaseStub(ch).LeaseGrant(pb.LeaseGrantRequest(TTL=60), metadata=root, timeout=T).ID
    _kv(ch).Put(pb.PutRequest(key=key, value=b"l", lease=lease), metadata=root, timeout=T)
    stubs.LeaseStub(ch).LeaseRevoke(pb.LeaseRevokeRequest(ID=lease), metadata=md, timeout=T)
    return "revoked"


def _lease_attach(ch: grpc.Channel, md: Metadata, key: bytes, root: Metadata) -> Any:
    """Put `key` with a lease root attached /a to."""
    lease = stubs.LeaseStub(ch).LeaseGrant(pb.LeaseGrantRequest(TTL=60), metadata=root, timeout=T).ID
    _kv(ch).Put(pb.PutRequest(key=b"/a", value=b"l", lease=lease), metadata=root, timeout=T)
    _kv(ch).Put(pb.PutRequest(key=key, value=b"l", lease=lease), metadata=md, timeout=T)
    return "attached"


def _put_op(key: bytes) -> pb.RequestOp:
    return pb.RequestOp(request_put=pb.PutRequest(key=key, value=b"t"))


OPS: dict[str, Callable[[grpc.Channel, Metadata, bytes, Metadata], Any]] = {
    "get": lambda ch, md, k, r: len(_kv(ch).Range(pb.RangeRequest(key=k), metadata=md, timeout=T).kvs) >= 0,
    "get_serializable": lambda ch, md, k, r: (
        _kv(ch).Range(pb.RangeRequest(key=k, serializable=True), metadata=md, timeout=T).count >= 0
    ),
    "put": lambda ch, md, k, r: (
        _kv(ch).Put(pb.PutRequest(key=k, value=b"v"), metadata=md, timeout=T).HasField("header")
    ),
    "put_prev_kv": lambda ch, md, k, r: (
        _kv(ch)
        .Put(pb.PutRequest(key=k, value=b"v", prev_kv=True), metadata=md, timeout=T)
        .HasField("prev_kv")
    ),
    "delete": lambda ch, md, k, r: (
        _kv(ch).DeleteRange(pb.DeleteRangeRequest(key=k), metadata=md, timeout=T).deleted >= 0
    ),
    "txn_compare": lambda ch, md, k, r: (
        _kv(ch)
        .Txn(
            pb.TxnRequest(
                compare=[pb.Compare(key=k, target=pb.Compare.VERSION, result=pb.Compare.GREATER, version=100)]
            ),
            metadata=md,
            timeout=T,
        )
        .succeeded
    ),
    "txn_put": lambda ch, md, k, r: (
        _kv(ch).Txn(pb.TxnRequest(success=[_put_op(k)]), metadata=md, timeout=T).succeeded
    ),
    "txn_read": lambda ch, md, k, r: (
        _kv(ch)
        .Txn(
            pb.TxnRequest(success=[pb.RequestOp(request_range=pb.RangeRequest(key=k))]),
            metadata=md,
            timeout=T,
        )
        .succeeded
    ),
    "txn_nested": lambda ch, md, k, r: (
        _kv(ch)
        .Txn(
            pb.TxnRequest(
                failure=[pb.RequestOp(request_txn=pb.TxnRequest(success=[_put_op(k)]))],
                compare=[
                    pb.Compare(key=b"/a", target=pb.Compare.VERSION, result=pb.Compare.GREATER, version=100)
                ],
            ),
            metadata=md,
            timeout=T,
        )
        .succeeded
    ),
    "watch": lambda ch, md, k, r: _watch(ch, md, k),
    "lease_grant": lambda ch, md, k, r: (
        stubs.LeaseStub(ch).LeaseGrant(pb.LeaseGrantRequest(TTL=60), metadata=md, timeout=T).TTL
    ),
    "lease_revoke": _lease_revoke,
    "lease_attach": _lease_attach,
    "compact": lambda ch, md, k, r: (
        _kv(ch).Compact(pb.CompactionRequest(revision=2), metadata=md, timeout=T).HasField("header")
    ),
    "member_remove": lambda ch, md, k, r: (
        stubs.ClusterStub(ch)
        .MemberRemove(pb.MemberRemoveRequest(ID=1), metadata=md, timeout=T)
        .HasField("header")
    ),
    "member_list": lambda ch, md, k, r: len(
        stubs.ClusterStub(ch).MemberList(pb.MemberListRequest(), metadata=md, timeout=T).members
    ),
    "status": lambda ch, md, k, r: (
        stubs.MaintenanceStub(ch).Status(pb.StatusRequest(), metadata=md, timeout=T).version
    ),
    "hash_kv": lambda ch, md, k, r: (
        stubs.MaintenanceStub(ch).HashKV(pb.HashKVRequest(), metadata=md, timeout=T).HasField("header")
    ),
    "user_list": lambda ch, md, k, r: list(
        stubs.AuthStub(ch).UserList(pb.AuthUserListRequest(), metadata=md, timeout=T).users
    ),
    "role_get": lambda ch, md, k, r: len(
        stubs.AuthStub(ch).RoleGet(pb.AuthRoleGetRequest(role="r1"), metadata=md, timeout=T).perm
    ),
    "user_get_self": lambda ch, md, k, r: list(
        stubs.AuthStub(ch).UserGet(pb.AuthUserGetRequest(name="alice"), metadata=md, timeout=T).roles
    ),
}


def _outcome(op: Callable[[], Any]) -> Any:
    try:
        return ("ok", op())
    except grpc.RpcError as e:
        return ("error", e.code().name, e.details())


def _token(ch: grpc.Channel, user: str, password: str) -> str:
    resp = stubs.AuthStub(ch).Authenticate(pb.AuthenticateRequest(name=user, password=password), timeout=T)
    return resp.token


def _setup(ch: grpc.Channel) -> dict[str, Metadata]:
    """Users root, alice (role r1: readwrite [/a, /b)) and mallory (r1, revoked after login); auth on."""
    auth = stubs.AuthStub(ch)
    for name in ("root", "alice", "mallory"):
        auth.UserAdd(pb.AuthUserAddRequest(name=name, password=name), timeout=T)
    auth.RoleAdd(pb.AuthRoleAddRequest(name="root"), timeout=T)
    auth.RoleAdd(pb.AuthRoleAddRequest(name="r1"), timeout=T)
    perm = auth_pb2.Permission(permType=auth_pb2.Permission.READWRITE, key=b"/a", range_end=b"/b")
    auth.RoleGrantPermission(pb.AuthRoleGrantPermissionRequest(name="r1", perm=perm), timeout=T)
    auth.UserGrantRole(pb.AuthUserGrantRoleRequest(user="root", role="root"), timeout=T)
    for name in ("alice", "mallory"):
        auth.UserGrantRole(pb.AuthUserGrantRoleRequest(user=name, role="r1"), timeout=T)
    auth.AuthEnable(pb.AuthEnableRequest(), timeout=T)
    # A token the server no longer holds, as one past --auth-token-ttl (tests/auth/test_lifecycle.py
    # shows that expiry answers the same): disabling auth drops every simple token.
    expired = _token(ch, "alice", "alice")
    auth.AuthDisable(pb.AuthDisableRequest(), metadata=(("token", _token(ch, "root", "root")),), timeout=T)
    auth.AuthEnable(pb.AuthEnableRequest(), timeout=T)
    creds: dict[str, Metadata] = {
        name: (("token", _token(ch, name, name)),) for name in ("root", "alice", "mallory")
    }
    auth.UserRevokeRole(
        pb.AuthUserRevokeRoleRequest(name="mallory", role="r1"), metadata=creds["root"], timeout=T
    )
    creds["none"] = ()
    creds["invalid"] = (("token", "notatoken"),)
    creds["expired"] = (("token", expired),)
    return creds


# (caller, key): alice inside and outside her range, a caller whose role was revoked, none, a bad token,
# an expired token.
CALLERS = [
    ("alice", b"/a"),
    ("alice", b"/c"),
    ("mallory", b"/a"),
    ("none", b"/a"),
    ("invalid", b"/a"),
    ("expired", b"/a"),
    ("root", b"/c"),
]


def _matrix(endpoint: str) -> dict[str, Any]:
    results: dict[str, Any] = {}
    with grpc.insecure_channel(endpoint) as ch:
        creds = _setup(ch)
        for name, op in OPS.items():
            for caller, key in CALLERS:
                results[f"{name} {caller} {key.decode()}"] = _outcome(
                    functools.partial(op, ch, creds[caller], key, creds["root"])
                )
    return results


def test_authorization_matrix_matches_reference(tmp_path: Path) -> None:
    with servers(tmp_path, ["etcdpy", "reference"]) as procs:
        ours = _matrix(procs["etcdpy"].endpoint)
        ref = _matrix(procs["reference"].endpoint)
    diffs = {k: (ours[k], ref[k]) for k in ref if ours[k] != ref[k]}
    assert not diffs, "\n".join(f"{k}: etcd-py {o} != etcd {r}" for k, (o, r) in diffs.items())
