"""Under auth: the Lock and Election services over gRPC and through their gateway paths, and the
JSON gateway's `Authorization` header (range, put, watch, a wrong token), for granted and not
granted users; every outcome the same on etcd-py and reference etcd 3.5.1."""

from __future__ import annotations

import base64
import http.client
import json
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest

from etcdpy.api.pb.authpb import auth_pb2
from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.api.pb.etcdserverpb import rpc_pb2_grpc as stubs
from etcdpy.api.pb.v3electionpb import v3election_pb2 as epb
from etcdpy.api.pb.v3electionpb import v3election_pb2_grpc as estubs
from etcdpy.api.pb.v3lockpb import v3lock_pb2 as lpb
from etcdpy.api.pb.v3lockpb import v3lock_pb2_grpc as lstubs
from tests.auth._ctl import servers
from tests.servers import EtcdProcess

pytestmark = pytest.mark.reference

T = 8.0
KINDS = ("etcdpy", "reference")
USERS = ("locker", "outsider", "anonymous")
Metadata = tuple[tuple[str, str], ...]


@pytest.fixture(scope="module")
def members(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, EtcdProcess]]:
    """Both servers with auth on: root; "locker" may read and write under lk/ and el/, "outsider"
    only under other/."""
    with servers(tmp_path_factory.mktemp("lock-election"), KINDS, "--bcrypt-cost", "4") as procs:
        for p in procs.values():
            with grpc.insecure_channel(p.endpoint) as ch:
                auth = stubs.AuthStub(ch)
                for user in ("root", "locker", "outsider"):
                    auth.UserAdd(pb.AuthUserAddRequest(name=user, password="pw"), timeout=T)
                auth.UserGrantRole(pb.AuthUserGrantRoleRequest(user="root", role="root"), timeout=T)
                for role, prefixes in (("locker", (b"lk/", b"el/")), ("outsider", (b"other/",))):
                    auth.RoleAdd(pb.AuthRoleAddRequest(name=role), timeout=T)
                    for prefix in prefixes:
                        grant = pb.AuthRoleGrantPermissionRequest(name=role)
                        grant.perm.CopyFrom(
                            auth_pb2.Permission(
                                permType=auth_pb2.Permission.READWRITE,
                                key=prefix,
                                range_end=prefix[:-1] + b"0",
                            )
                        )
                        auth.RoleGrantPermission(grant, timeout=T)
                    auth.UserGrantRole(pb.AuthUserGrantRoleRequest(user=role, role=role), timeout=T)
                auth.AuthEnable(pb.AuthEnableRequest(), timeout=T)
        yield procs


def _token(p: EtcdProcess, user: str) -> str:
    if user == "anonymous":
        return ""
    with grpc.insecure_channel(p.endpoint) as ch:
        return (
            stubs.AuthStub(ch).Authenticate(pb.AuthenticateRequest(name=user, password="pw"), timeout=T).token
        )


def _outcome(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except grpc.RpcError as e:
        return (e.code().name, e.details())


def _same_on_both(members: dict[str, EtcdProcess], body: Callable[[EtcdProcess], Any]) -> Any:
    got = {kind: body(p) for kind, p in members.items()}
    assert got["etcdpy"] == got["reference"]
    return got["reference"]


# -- Lock and Election over gRPC ------------------------------------------------------------------


def _grpc_lock_election(p: EtcdProcess, user: str) -> dict[str, Any]:
    token = _token(p, user)
    md: Metadata = (("token", token),) if token else ()
    root: Metadata = (("token", _token(p, "root")),)
    with grpc.insecure_channel(p.endpoint) as ch:
        lease = stubs.LeaseStub(ch).LeaseGrant(pb.LeaseGrantRequest(TTL=60), metadata=root, timeout=T).ID
        lock, election = lstubs.LockStub(ch), estubs.ElectionStub(ch)

        def lock_unlock() -> Any:
            key = lock.Lock(lpb.LockRequest(name=b"lk/m", lease=lease), metadata=md, timeout=T).key
            lock.Unlock(lpb.UnlockRequest(key=key), metadata=md, timeout=T)
            return key.startswith(b"lk/m/")

        def campaign_resign() -> Any:
            req = epb.CampaignRequest(name=b"el/e", lease=lease, value=b"me")
            leader = election.Campaign(req, metadata=md, timeout=T).leader
            got = election.Leader(epb.LeaderRequest(name=b"el/e"), metadata=md, timeout=T).kv.value
            election.Resign(epb.ResignRequest(leader=leader), metadata=md, timeout=T)
            return got

        def observe() -> Any:
            """The first answer of Observe on an election root leads; a stream that ends: "ended"."""
            req = epb.CampaignRequest(name=b"el/obs", lease=lease, value=b"root")
            leader = election.Campaign(req, metadata=root, timeout=T).leader
            stream: Any = election.Observe(epb.LeaderRequest(name=b"el/obs"), metadata=md, timeout=T)
            try:
                return next(stream).kv.value
            except StopIteration:
                return "ended"
            finally:
                stream.cancel()
                election.Resign(epb.ResignRequest(leader=leader), metadata=root, timeout=T)

        return {
            "lock": _outcome(lock_unlock),
            "lock outside": _outcome(
                lambda: lock.Lock(lpb.LockRequest(name=b"zz", lease=lease), metadata=md, timeout=T).key[:3]
            ),
            "campaign": _outcome(campaign_resign),
            "leader": _outcome(
                lambda: election.Leader(epb.LeaderRequest(name=b"el/none"), metadata=md, timeout=T).kv.value
            ),
            "observe": _outcome(observe),
        }


@pytest.mark.parametrize("user", USERS)
def test_lock_and_election_over_grpc(members: dict[str, EtcdProcess], user: str) -> None:
    got = _same_on_both(members, lambda p: _grpc_lock_election(p, user))
    if user == "locker":
        assert got["lock"] is True and got["campaign"] == b"me" and got["observe"] == b"root"


# -- the JSON gateway -------------------------------------------------------------------------------


def _b64(s: bytes) -> str:
    return base64.b64encode(s).decode()


def _post(p: EtcdProcess, path: str, body: dict[str, Any], token: str) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", p.client_port, timeout=T)
    try:
        headers = {"Authorization": token} if token else {}
        conn.request("POST", path, json.dumps(body), headers)
        resp = conn.getresponse()
        return resp.status, json.loads(resp.read())
    finally:
        conn.close()


def _summary(status: int, body: Any) -> Any:
    """What must match: the status and either the error or the fields that do not vary."""
    if "error" in body or "message" in body:
        return status, body.get("code"), body.get("message")
    result = body.get("result", body)
    return status, sorted(k for k in result if k != "header")


def _watch_first_line(p: EtcdProcess, key: bytes, token: str) -> tuple[int, Any]:
    """The status and the first message's (created, canceled, cancel_reason) of a gateway watch."""
    conn = http.client.HTTPConnection("127.0.0.1", p.client_port, timeout=T)
    try:
        headers = {"Authorization": token} if token else {}
        conn.request("POST", "/v3/watch", json.dumps({"create_request": {"key": _b64(key)}}), headers)
        resp = conn.getresponse()
        msg = json.loads(resp.readline())
        if "error" in msg:
            return resp.status, msg["error"].get("message")
        result = msg["result"]
        return resp.status, (result.get("created"), result.get("canceled"), result.get("cancel_reason"))
    finally:
        conn.close()


def _gateway_calls(p: EtcdProcess, user: str) -> dict[str, Any]:
    token = {"bad": "not-a-token"}.get(user) or _token(p, user)
    root = _token(p, "root")
    lease = int(_post(p, "/v3/lease/grant", {"TTL": 60}, root)[1]["ID"])
    return {
        "put": _summary(*_post(p, "/v3/kv/put", {"key": _b64(b"lk/g"), "value": _b64(b"v")}, token)),
        "range": _summary(*_post(p, "/v3/kv/range", {"key": _b64(b"lk/g")}, token)),
        "range other": _summary(*_post(p, "/v3/kv/range", {"key": _b64(b"other/g")}, token)),
        "watch": _watch_first_line(p, b"lk/g", token),
        "watch other": _watch_first_line(p, b"zz", token),
        "lock": _summary(*_post(p, "/v3/lock/lock", {"name": _b64(b"lk/gw"), "lease": lease}, token)),
        "campaign": _summary(*_post(p, "/v3/election/campaign",
                                    {"name": _b64(b"el/gw"), "lease": lease, "value": _b64(b"x")}, token)),
    }  # fmt: skip


@pytest.mark.parametrize("user", [*USERS, "bad"])
def test_gateway_with_authorization_header(members: dict[str, EtcdProcess], user: str) -> None:
    got = _same_on_both(members, lambda p: _gateway_calls(p, user))
    if user == "locker":
        assert got["put"] == (200, []) and got["lock"][0] == 200 and got["campaign"][0] == 200
        denied = "rpc error: code = PermissionDenied desc = etcdserver: permission denied"
        assert got["watch"] == (200, (True, None, None)) and got["watch other"] == (200, (True, True, denied))


def test_gateway_watch_delivers_events_to_a_granted_user(members: dict[str, EtcdProcess]) -> None:
    def body(p: EtcdProcess) -> Any:
        token = _token(p, "locker")
        conn = http.client.HTTPConnection("127.0.0.1", p.client_port, timeout=T)
        try:
            conn.request("POST", "/v3/watch", json.dumps({"create_request": {"key": _b64(b"lk/w")}}),
                         {"Authorization": token})  # fmt: skip
            resp = conn.getresponse()
            assert json.loads(resp.readline())["result"]["created"] is True
            _post(p, "/v3/kv/put", {"key": _b64(b"lk/w"), "value": _b64(b"1")}, token)
            event = json.loads(resp.readline())["result"]["events"][0]["kv"]
            return base64.b64decode(event["key"]), base64.b64decode(event["value"])
        finally:
            conn.close()

    assert _same_on_both(members, body) == (b"lk/w", b"1")
