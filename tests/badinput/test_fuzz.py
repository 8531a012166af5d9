"""Bounded fuzzing of etcd-py's client port (no reference: answers are checked for form only).

Random bytes and mutations of valid requests go to gRPC methods, random JSON and random
bytes to /v3 paths. Every answer must be a well-formed gRPC status or HTTP response within
the timeout, no handler may fail with an unexpected exception, the process must stay up, and
the sentinel's history (its key-value at its revision and the HashKV up to it) must never
change; the sentinel itself may be legitimately overwritten or deleted. Compaction and
membership, alarm and auth changes are left out: they may legitimately drop that history or
stop the member serving writes.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest
from google.protobuf.message import Message
from hypothesis import given
from hypothesis import strategies as st

from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from tests.badinput._grpcwire import call
from tests.badinput._http import exchange, request
from tests.badinput._servers import Server, server
from tests.fuzz._protobuf import edits, mutate
from tests.fuzz._settings import fuzz_settings

FUZZ = fuzz_settings(300, 10)
TIMEOUT = 5.0
# The server is gone or stuck: never an acceptable answer to bad input.
BROKEN = {"UNAVAILABLE", "DEADLINE_EXCEEDED", "CANCELLED"}


def op_put(key: bytes, value: bytes = b"v", **kw: Any) -> pb.RequestOp:
    return pb.RequestOp(request_put=pb.PutRequest(key=key, value=value, **kw))


def op_get(key: bytes, **kw: Any) -> pb.RequestOp:
    return pb.RequestOp(request_range=pb.RangeRequest(key=key, **kw))


# Valid requests to mutate: every field of the KV requests set at least once.
SEEDS: list[tuple[str, Message]] = [
    (
        "/etcdserverpb.KV/Range",
        pb.RangeRequest(
            key=b"fuzz/a",
            range_end=b"fuzz/z",
            limit=3,
            revision=2,
            sort_order=pb.RangeRequest.DESCEND,
            sort_target=pb.RangeRequest.VALUE,
            serializable=True,
            keys_only=True,
            count_only=False,
            min_mod_revision=1,
            max_mod_revision=9,
            min_create_revision=1,
            max_create_revision=9,
        ),
    ),
    ("/etcdserverpb.KV/Put", pb.PutRequest(key=b"fuzz/p", value=b"\x00value\xff", lease=0, prev_kv=True)),
    ("/etcdserverpb.KV/Put", pb.PutRequest(key=b"fuzz/p", ignore_value=True, ignore_lease=True)),
    ("/etcdserverpb.KV/DeleteRange", pb.DeleteRangeRequest(key=b"fuzz/d", range_end=b"fuzz/e", prev_kv=True)),
    (
        "/etcdserverpb.KV/Txn",
        pb.TxnRequest(
            compare=[
                pb.Compare(key=b"fuzz/a", target=pb.Compare.VALUE, result=pb.Compare.NOT_EQUAL, value=b"x"),
                pb.Compare(key=b"fuzz/b", range_end=b"fuzz/c", target=pb.Compare.MOD, mod_revision=3),
            ],
            success=[
                op_put(b"fuzz/t", b"1"),
                op_get(b"fuzz/", range_end=b"fuzz0"),
                pb.RequestOp(request_txn=pb.TxnRequest(success=[op_put(b"fuzz/n")])),
            ],
            failure=[pb.RequestOp(request_delete_range=pb.DeleteRangeRequest(key=b"fuzz/t"))],
        ),
    ),
    ("/etcdserverpb.Lease/LeaseGrant", pb.LeaseGrantRequest(TTL=60, ID=77)),
    ("/etcdserverpb.Lease/LeaseRevoke", pb.LeaseRevokeRequest(ID=77)),
    ("/etcdserverpb.Lease/LeaseTimeToLive", pb.LeaseTimeToLiveRequest(ID=77, keys=True)),
    ("/etcdserverpb.Maintenance/HashKV", pb.HashKVRequest(revision=2)),
    ("/etcdserverpb.Maintenance/Status", pb.StatusRequest()),
    ("/etcdserverpb.Cluster/MemberList", pb.MemberListRequest(linearizable=True)),
]
METHODS = sorted(
    {m for m, _ in SEEDS} | {"/etcdserverpb.Lease/LeaseLeases", "/etcdserverpb.Maintenance/Hash"}
)

JSON_PATHS = [
    "/v3/kv/range",
    "/v3/kv/put",
    "/v3/kv/deleterange",
    "/v3/kv/txn",
    "/v3/lease/grant",
    "/v3/lease/revoke",
    "/v3/lease/timetolive",
    "/v3/lease/leases",
    "/v3/kv/lease/timetolive",
    "/v3/maintenance/status",
    "/v3/cluster/member/list",
    "/v3/auth/status",
    "/v3/nope",
    "/v3/kv/",
    "/health",
    "/version",
    "/",
]
FIELDS = [
    "key",
    "range_end",
    "rangeEnd",
    "value",
    "limit",
    "revision",
    "sort_order",
    "sortTarget",
    "keys_only",
    "count_only",
    "prev_kv",
    "lease",
    "ignore_value",
    "compare",
    "success",
    "failure",
    "request_put",
    "requestRange",
    "request_txn",
    "target",
    "result",
    "version",
    "TTL",
    "ID",
    "keys",
    "linearizable",
]


@pytest.fixture(scope="module")
def member(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with server("etcdpy", tmp_path_factory.mktemp("badinput-fuzz")) as s:
        yield s
        assert "Traceback" not in s.proc.log_path.read_text(errors="replace"), s.proc.log_tail(80)  # type: ignore[union-attr]


def check_grpc(member: Server, method: str, payload: bytes) -> None:
    outcome = call(member.channel, method, payload, timeout=TIMEOUT)
    if outcome[0] == "error":
        _, code, details = outcome
        assert code not in BROKEN, outcome
        # grpcio's report of a handler's exception; a DecodeError is the known undecodable-request case.
        assert not (code == "UNKNOWN" and "Unexpected" in details and "DecodeError" not in details), outcome
    else:
        assert outcome[0] == "ok", f"{method}: the response does not decode"
    member.assert_intact(current=False)


@FUZZ
@given(
    method=st.sampled_from(METHODS) | st.from_regex(r"/[a-zA-Z.]{1,20}/[a-zA-Z]{0,20}", fullmatch=True),
    payload=st.binary(max_size=300),
)
def test_grpc_random_bytes(member: Server, method: str, payload: bytes) -> None:
    check_grpc(member, method, payload)


@FUZZ
@given(seed=st.sampled_from(SEEDS), edits=edits, elsewhere=st.sampled_from([None, *METHODS]))
def test_grpc_mutated_requests(
    member: Server, seed: tuple[str, Message], edits: list[tuple[int, int, bytes]], elsewhere: str | None
) -> None:
    method, msg = seed
    check_grpc(member, elsewhere or method, mutate(msg.SerializeToString(), edits))


def _b64_text() -> st.SearchStrategy[str]:
    return st.binary(max_size=12).map(lambda b: base64.b64encode(b).decode())


json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(1 << 70), 1 << 70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | _b64_text()
    | st.sampled_from(["AA==", "ASCEND", "VALUE", "EQUAL", "-1", "9223372036854775808", "1e3"])
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(FIELDS) | st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=20,
)


@FUZZ
@given(
    path=st.sampled_from(JSON_PATHS) | st.from_regex(r"/v3/[a-z/]{0,20}", fullmatch=True),
    method=st.sampled_from(["POST", "POST", "POST", "GET", "PUT", "DELETE", "OPTIONS", "PATCH"]),
    body=json_values.map(lambda v: json.dumps(v).encode()) | st.binary(max_size=200),
)
def test_gateway_random_json(member: Server, path: str, method: str, body: bytes) -> None:
    got = request(member.port, method, path, body)
    assert len(got.responses) == 1 and not got.rest and got.closed, got
    response = got.responses[0]
    assert 200 <= response.status < 500 or response.status in (501, 503), response
    if response.header("content-type") == "application/json":
        json.loads(response.body)
    member.assert_intact(current=False)


@FUZZ
@given(
    head=st.sampled_from(
        [
            b"POST /v3/kv/range HTTP/1.1\r\n",
            b"GET /version HTTP/1.1\r\n",
            b"",
            b"POST /v3/kv/txn HTTP/1.0\r\n",
        ]
    ),
    junk=st.binary(max_size=200),
)
def test_http_random_bytes(member: Server, head: bytes, junk: bytes) -> None:
    got = exchange(member.port, head + junk, half_close=True, idle=1.0, limit=TIMEOUT)
    assert got.closed, "the server neither answered nor closed after the client's EOF"
    assert all(100 <= r.status < 600 for r in got.responses), got
    member.assert_intact(current=False)
