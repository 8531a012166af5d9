"""Lowered limits and compaction edge cases, differential: reference etcd 3.5.1 and etcd-py both
started with --max-txn-ops 3 --max-request-bytes 65536, sent the same requests in order.

Compactions pass the sentinel's revision here, so after each test the stores are checked
for the current sentinel and equal revision and HashKV, not for the sentinel's history.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message

from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from tests.badinput import _known as known
from tests.badinput._grpcwire import Outcome, call, watch
from tests.badinput._http import request
from tests.badinput._servers import Pair, Server, pair

pytestmark = [
    pytest.mark.reference,
]

MAX_TXN_OPS = 3
MAX_REQUEST_BYTES = 65536
TRANSPORT_LIMIT = MAX_REQUEST_BYTES + 512 * 1024
KV = "/etcdserverpb.KV/"


def op_get(key: bytes) -> pb.RequestOp:
    return pb.RequestOp(request_range=pb.RangeRequest(key=key))


def op_put(key: bytes, value: bytes = b"v") -> pb.RequestOp:
    return pb.RequestOp(request_put=pb.PutRequest(key=key, value=value))


def op_txn(**kw: Any) -> pb.RequestOp:
    return pb.RequestOp(request_txn=pb.TxnRequest(**kw))


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    flags = ("--max-txn-ops", str(MAX_TXN_OPS), "--max-request-bytes", str(MAX_REQUEST_BYTES))
    with pair(tmp_path_factory.mktemp("badinput-limits"), *flags) as p:
        yield p


@pytest.fixture(autouse=True)
def _still_intact(servers: Pair) -> Iterator[None]:
    yield
    servers.assert_intact(history=False)


def both(servers: Pair, method: str, msg: Message | bytes) -> tuple[Outcome, Outcome]:
    data = msg if isinstance(msg, bytes) else msg.SerializeToString()
    return call(servers.ref.channel, KV + method, data), call(servers.ours.channel, KV + method, data)


def gcase(method: str, msg: Message, id: str, xfail: str | None = None) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=xfail)] if xfail else []
    return pytest.param(method, msg, id=id, marks=marks)


gets = [op_get(b"k%d" % i) for i in range(5)]

LIMIT_CASES = [
    gcase("Txn", pb.TxnRequest(success=gets[:3], failure=gets[:3]), "txn-at-limit"),
    gcase("Txn", pb.TxnRequest(success=gets[:4]), "txn-over-limit"),
    gcase("Txn", pb.TxnRequest(compare=[pb.Compare(key=b"k")] * 4), "txn-compares-over-limit"),
    gcase(
        "Txn", pb.TxnRequest(failure=[*gets[:2], op_txn(success=gets[:1])]), "txn-nested-within-what-is-left"
    ),
    gcase(
        "Txn", pb.TxnRequest(failure=[*gets[:2], op_txn(success=gets[:2])]), "txn-nested-over-what-is-left"
    ),
    gcase("Txn", pb.TxnRequest(success=[op_txn(success=[op_txn(success=gets[:2])])]), "txn-doubly-nested"),
    gcase("Put", pb.PutRequest(key=b"p", value=b"v" * (MAX_REQUEST_BYTES - 100)), "put-under-request-limit"),
    gcase("Put", pb.PutRequest(key=b"p", value=b"v" * (MAX_REQUEST_BYTES + 100)), "put-over-request-limit"),
    gcase(
        "Txn",
        pb.TxnRequest(
            success=[
                op_put(b"p", b"v" * (MAX_REQUEST_BYTES // 2)),
                op_put(b"q", b"v" * (MAX_REQUEST_BYTES // 2)),
            ]
        ),
        "txn-over-request-limit",
    ),
    gcase("Put", pb.PutRequest(key=b"p", value=b"v" * (TRANSPORT_LIMIT - 100)), "put-under-transport-limit"),
    gcase(
        "Put",
        pb.PutRequest(key=b"p", value=b"v" * (TRANSPORT_LIMIT + 100)),
        "put-over-transport-limit",
        known.TRANSPORT,
    ),
    gcase("Range", pb.RangeRequest(key=b"r" * (MAX_REQUEST_BYTES * 2)), "range-key-over-request-limit"),
]


@pytest.mark.parametrize(("method", "msg"), LIMIT_CASES)
def test_limits_same_answer_as_etcd(servers: Pair, method: str, msg: Message) -> None:
    want, got = both(servers, method, msg)
    assert got == want


def test_transport_limit_follows_max_request_bytes(servers: Pair) -> None:
    data = pb.PutRequest(key=b"p", value=b"v" * (TRANSPORT_LIMIT + 100)).SerializeToString()
    want, got = both(servers, "Put", data)
    sizes = f"received message larger than max ({len(data)} vs. {TRANSPORT_LIMIT})"
    assert want[:2] == got[:2] == ("error", "RESOURCE_EXHAUSTED")
    assert want[2].lower().endswith(sizes) and got[2].lower().endswith(sizes)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


GETS_JSON = [{"request_range": {"key": b64(b"k%d" % i)}} for i in range(4)]


@pytest.mark.parametrize(
    ("path", "body"),
    [
        pytest.param("/v3/kv/txn", {"success": GETS_JSON}, id="txn-over-limit"),
        pytest.param("/v3/kv/txn", {"failure": GETS_JSON[:3]}, id="txn-at-limit"),
        pytest.param(
            "/v3/kv/put",
            {"key": "cA==", "value": b64(b"v" * (MAX_REQUEST_BYTES + 100))},
            id="put-over-request-limit",
        ),
        pytest.param(
            "/v3/kv/put",
            {"key": "cA==", "value": b64(b"v" * (TRANSPORT_LIMIT + 100))},
            id="put-over-transport-limit",
            marks=pytest.mark.xfail(strict=True, reason=known.TRANSPORT),
        ),
        pytest.param(
            "/v3/kv/put",
            {"key": "cA==", "value": b64(b"v" * 900_000)},
            id="put-over-body-limit",
            marks=pytest.mark.xfail(strict=True, reason=known.BIG_BODY),
        ),
    ],
)
def test_gateway_limits_same_answer_as_etcd(servers: Pair, path: str, body: Any) -> None:
    data = json.dumps(body).encode()
    want = request(servers.ref.port, "POST", path, data)
    got = request(servers.ours.port, "POST", path, data)
    assert got.comparable() == want.comparable()


def _watch_from(server: Server, start: int, replies: int) -> list[Any]:
    """The first `replies` responses of a watch on everything from revision `start`."""
    create = pb.WatchCreateRequest(key=b"\0", range_end=b"\0", start_revision=start)
    return watch(server.channel, [pb.WatchRequest(create_request=create).SerializeToString()], replies)


def test_compaction_edge_cases(servers: Pair) -> None:
    """One scenario, step by step; every step must get the same answer from both."""
    for i in range(5):
        assert_same(servers, "Put", pb.PutRequest(key=b"c%d" % (i % 2), value=b"%d" % i))
    rev = servers.ref.revision()
    steps: list[tuple[str, Message]] = [
        ("Compact", pb.CompactionRequest(revision=0)),
        ("Compact", pb.CompactionRequest(revision=-1)),
        ("Compact", pb.CompactionRequest(revision=rev + 1)),
        ("Compact", pb.CompactionRequest(revision=1 << 62)),
        ("Compact", pb.CompactionRequest(revision=rev - 3)),
        ("Compact", pb.CompactionRequest(revision=rev - 3)),
        ("Compact", pb.CompactionRequest(revision=rev - 4)),
        ("Range", pb.RangeRequest(key=b"c0", revision=rev - 4)),
        ("Range", pb.RangeRequest(key=b"c0", revision=rev - 3)),
        ("Range", pb.RangeRequest(key=b"c", range_end=b"d", revision=rev - 2)),
        ("Range", pb.RangeRequest(key=b"c0", revision=rev + 1)),
        (
            "Txn",
            pb.TxnRequest(success=[pb.RequestOp(request_range=pb.RangeRequest(key=b"c0", revision=rev - 4))]),
        ),
        (
            "Txn",
            pb.TxnRequest(failure=[pb.RequestOp(request_range=pb.RangeRequest(key=b"c1", revision=rev - 3))]),
        ),
        ("Compact", pb.CompactionRequest(revision=rev, physical=True)),
        ("Compact", pb.CompactionRequest(revision=rev, physical=True)),
        ("Range", pb.RangeRequest(key=b"c", range_end=b"d", revision=rev)),
        ("Range", pb.RangeRequest(key=b"c", range_end=b"d", revision=rev - 1)),
        ("DeleteRange", pb.DeleteRangeRequest(key=b"c0")),
        ("Compact", pb.CompactionRequest(revision=rev + 1)),
        ("Range", pb.RangeRequest(key=b"c0", revision=rev)),
        ("Range", pb.RangeRequest(key=b"c0")),
    ]
    for method, msg in steps:
        assert_same(servers, method, msg)
    hashkv = "/etcdserverpb.Maintenance/HashKV"
    for r in (rev, rev + 1, rev + 2, 0):
        data = pb.HashKVRequest(revision=r).SerializeToString()
        assert call(servers.ours.channel, hashkv, data) == call(servers.ref.channel, hashkv, data), (
            f"HashKV {r}"
        )
    for start in (1, rev, rev + 1, rev + 50):
        assert _watch_from(servers.ours, start, 2 if start <= rev else 1) == _watch_from(
            servers.ref, start, 2 if start <= rev else 1
        ), f"watch from {start}"
    for path, body in [
        ("/v3/kv/compaction", {"revision": str(rev)}),
        ("/v3/kv/range", {"key": "YzA=", "revision": 2}),
        ("/v3/kv/compaction", {"revision": "-5"}),
    ]:
        data = json.dumps(body).encode()
        want = request(servers.ref.port, "POST", path, data)
        assert request(servers.ours.port, "POST", path, data).comparable() == want.comparable(), path


def assert_same(servers: Pair, method: str, msg: Message) -> None:
    want, got = both(servers, method, msg)
    assert got == want, f"{method} {msg}"


def test_grpc_still_serves_after_transport_refusals(servers: Pair) -> None:
    """A refused message does not break the connection it came on for later calls."""
    big = pb.PutRequest(key=b"p", value=b"v" * (TRANSPORT_LIMIT + 100)).SerializeToString()
    for server in (servers.ref, servers.ours):
        for _ in range(3):
            assert call(server.channel, KV + "Put", big)[1] == grpc.StatusCode.RESOURCE_EXHAUSTED.name
        assert call(server.channel, KV + "Range", pb.RangeRequest(key=b"p").SerializeToString())[0] == "ok"
