"""Bad input over gRPC, differential: the same bytes to reference etcd 3.5.1 and to etcd-py.

Every case must get the same answer from both: status code and details for an error, the
whole response (member IDs aside) otherwise. A rejected request must change nothing, and
after every test both stores must still agree (revision, HashKV) and hold the sentinel.

Cases marked xfail are known differences from etcd, each named in its reason; strict, so a
fix shows up as XPASS. Inputs that crash etcd 3.5.1 itself are sent to etcd-py only.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from google.protobuf.message import Message

from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from tests.badinput import _known as known
from tests.badinput._grpcwire import call, watch
from tests.badinput._servers import Pair, pair

pytestmark = [
    pytest.mark.reference,
]

KV = "/etcdserverpb.KV/"
MAX_REQUEST_BYTES = 1572864  # etcd's default --max-request-bytes
TRANSPORT_LIMIT = MAX_REQUEST_BYTES + 512 * 1024  # what the gRPC server accepts at all

SO = pb.RangeRequest.SortOrder


def put(key: bytes, value: bytes = b"v", **kw: Any) -> pb.PutRequest:
    return pb.PutRequest(key=key, value=value, **kw)


def op_put(key: bytes, value: bytes = b"v", **kw: Any) -> pb.RequestOp:
    return pb.RequestOp(request_put=put(key, value, **kw))


def op_get(key: bytes, **kw: Any) -> pb.RequestOp:
    return pb.RequestOp(request_range=pb.RangeRequest(key=key, **kw))


def op_del(key: bytes, **kw: Any) -> pb.RequestOp:
    return pb.RequestOp(request_delete_range=pb.DeleteRangeRequest(key=key, **kw))


def op_txn(**kw: Any) -> pb.RequestOp:
    return pb.RequestOp(request_txn=pb.TxnRequest(**kw))


def outside_enum(n: int) -> Any:
    """An enum field's value outside its enum (which the typed constructors refuse)."""
    return n


def case(method: str, payload: Message | bytes, id: str, xfail: str | None = None) -> Any:
    data = payload if isinstance(payload, bytes) else payload.SerializeToString()
    marks = [pytest.mark.xfail(strict=True, reason=xfail)] if xfail else []
    return pytest.param(method if method.startswith("/") else KV + method, data, id=id, marks=marks)


gets = [op_get(b"k%d" % i) for i in range(129)]
VARINT_OVERFLOW = b"\xff" * 10 + b"\x01"

CASES = [
    # Requests etcd refuses before proposing them.
    case("Range", pb.RangeRequest(), "range-empty-key"),
    case("Range", pb.RangeRequest(range_end=b"z"), "range-empty-key-with-end"),
    case("Put", put(b""), "put-empty-key"),
    case("DeleteRange", pb.DeleteRangeRequest(range_end=b"\0"), "delete-empty-key"),
    case("Put", put(b"k", ignore_value=True), "put-ignore-value-with-value"),
    case("Put", put(b"k", b"", lease=5, ignore_lease=True), "put-ignore-lease-with-lease"),
    case("Put", put(b"k", lease=12345), "put-unknown-lease"),
    case("Put", put(b"missing", b"", ignore_value=True), "put-ignore-value-missing-key"),
    case(
        "Txn",
        pb.TxnRequest(compare=[pb.Compare(target=pb.Compare.VALUE, value=b"x")]),
        "txn-compare-empty-key",
    ),
    case("Txn", pb.TxnRequest(success=[pb.RequestOp()]), "txn-empty-op"),
    case("Txn", pb.TxnRequest(failure=[op_put(b"")]), "txn-put-empty-key"),
    case("Txn", pb.TxnRequest(success=[op_txn(failure=[op_del(b"")])]), "txn-nested-empty-key"),
    case("Txn", pb.TxnRequest(success=[op_get(b"k", sort_order=SO.DESCEND, limit=-1)]), "txn-negative-limit"),
    case("Txn", pb.TxnRequest(success=[op_put(b"k", b"v", ignore_value=True)]), "txn-put-value-provided"),
    case("Txn", pb.TxnRequest(success=[op_put(b"k", lease=99)]), "txn-put-unknown-lease"),
    # Txn sizes: 128 is the default --max-txn-ops.
    case("Txn", pb.TxnRequest(success=gets), "txn-129-success"),
    case("Txn", pb.TxnRequest(failure=gets), "txn-129-failure"),
    case("Txn", pb.TxnRequest(compare=[pb.Compare(key=b"k%d" % i) for i in range(129)]), "txn-129-compares"),
    case("Txn", pb.TxnRequest(success=gets[:128], failure=gets[:128]), "txn-128-ok"),
    case(
        "Txn", pb.TxnRequest(success=[*gets[:100], op_txn(success=gets[:28])]), "txn-nested-over-what-is-left"
    ),
    case(
        "Txn",
        pb.TxnRequest(success=[*gets[:100], op_txn(success=gets[:27])]),
        "txn-nested-within-what-is-left",
    ),
    # Duplicate keys in one branch, nested txns included.
    case("Txn", pb.TxnRequest(success=[op_put(b"d"), op_put(b"d")]), "txn-dup-put"),
    case("Txn", pb.TxnRequest(failure=[op_put(b"d"), op_put(b"d", b"w")]), "txn-dup-put-failure"),
    case(
        "Txn", pb.TxnRequest(success=[op_del(b"a", range_end=b"c"), op_put(b"b")]), "txn-put-in-deleted-range"
    ),
    case("Txn", pb.TxnRequest(success=[op_put(b"b"), op_del(b"b")]), "txn-put-then-delete"),
    case("Txn", pb.TxnRequest(success=[op_put(b"d"), op_txn(success=[op_put(b"d")])]), "txn-dup-nested"),
    case("Txn", pb.TxnRequest(success=[op_put(b"d"), op_txn(failure=[op_put(b"d")])]), "txn-dup-nested-else"),
    case(
        "Txn",
        pb.TxnRequest(success=[op_txn(success=[op_txn(success=[op_put(b"d")])]), op_put(b"d")]),
        "txn-dup-doubly-nested",
    ),
    case(
        "Txn",
        pb.TxnRequest(success=[op_del(b"a", range_end=b"z"), op_txn(success=[op_put(b"m")])]),
        "txn-nested-put-in-deleted-range",
    ),
    case(
        "Txn",
        pb.TxnRequest(success=[op_txn(success=[op_put(b"x")]), op_txn(failure=[op_put(b"x")])]),
        "txn-dup-across-sibling-nested",
    ),
    case(
        "Txn",
        pb.TxnRequest(success=[op_put(b"t", b"1")], failure=[op_put(b"t", b"2")]),
        "txn-then-else-same-key",
    ),
    case(
        "Txn",
        pb.TxnRequest(success=[op_txn(success=[op_put(b"n", b"1")], failure=[op_put(b"n", b"2")])]),
        "txn-nested-then-else-same-key",
    ),
    case("Txn", pb.TxnRequest(success=[op_del(b"t"), op_del(b"t")]), "txn-dup-delete"),
    # Revisions out of range.
    case("Range", pb.RangeRequest(key=b"k", revision=1_000_000), "range-future-revision"),
    case("Range", pb.RangeRequest(key=b"k", revision=-1), "range-negative-revision"),
    case("Range", pb.RangeRequest(key=b"k", limit=-1), "range-negative-limit"),
    case("Txn", pb.TxnRequest(success=[op_get(b"k", revision=1_000_000)]), "txn-range-future-revision"),
    case(
        "Txn",
        pb.TxnRequest(
            compare=[pb.Compare(key=b"t", target=pb.Compare.MOD, mod_revision=-5)], success=[op_get(b"t")]
        ),
        "txn-compare-negative-revision",
    ),
    case("Range", pb.RangeRequest(key=b"b", range_end=b"a"), "range-end-before-key"),
    case("DeleteRange", pb.DeleteRangeRequest(key=b"zzz", range_end=b"a"), "delete-end-before-key"),
    case("/etcdserverpb.Maintenance/HashKV", pb.HashKVRequest(revision=1_000_000), "hashkv-future-revision"),
    case("/etcdserverpb.Maintenance/HashKV", pb.HashKVRequest(revision=-3), "hashkv-negative-revision"),
    # Leases.
    case("/etcdserverpb.Lease/LeaseGrant", pb.LeaseGrantRequest(TTL=9_000_000_001), "lease-ttl-too-large"),
    case("/etcdserverpb.Lease/LeaseRevoke", pb.LeaseRevokeRequest(ID=0), "lease-revoke-zero"),
    case("/etcdserverpb.Lease/LeaseRevoke", pb.LeaseRevokeRequest(ID=-1), "lease-revoke-negative"),
    case(
        "/etcdserverpb.Lease/LeaseTimeToLive",
        pb.LeaseTimeToLiveRequest(ID=-1, keys=True),
        "lease-ttl-missing",
    ),
    # Keys and values with any bytes, empty values, huge keys.
    case("Put", put(b"\x00\xff\xfe\x80", b"\x00\x01\xc3\x28\x00"), "put-binary"),
    case("Range", pb.RangeRequest(key=b"\x00\xff\xfe\x80"), "range-binary"),
    case("Put", put(b"\xc3\x28\xa0\xa1\xe2\x28\xa1", b"\xf0\x28\x8c\x28"), "put-invalid-utf8"),
    case("Range", pb.RangeRequest(key=b"\xc3", range_end=b"\xc4"), "range-invalid-utf8"),
    case("Put", put(b"\x00"), "put-nul-key"),
    case("Range", pb.RangeRequest(key=b"\x00", range_end=b"\x01", keys_only=True), "range-nul-prefix"),
    case("Put", put(b"empty", b""), "put-empty-value"),
    case("Range", pb.RangeRequest(key=b"empty"), "range-empty-value"),
    case("Put", put(b"K" * (1 << 20), b"huge key"), "put-huge-key"),
    case("Range", pb.RangeRequest(key=b"K" * (1 << 20)), "range-huge-key"),
    case("Range", pb.RangeRequest(key=b"R" * (MAX_REQUEST_BYTES + 1000)), "range-over-request-limit"),
    # Request size: proposals over --max-request-bytes, messages over the transport limit.
    case("Put", put(b"big", b"v" * (MAX_REQUEST_BYTES - 1000)), "put-under-request-limit"),
    case("Put", put(b"big", b"v" * (MAX_REQUEST_BYTES + 100)), "put-over-request-limit"),
    case("Put", put(b"big", b"v" * (TRANSPORT_LIMIT - 1000)), "put-under-transport-limit"),
    case(
        "Txn",
        pb.TxnRequest(success=[op_put(b"big", b"v" * (MAX_REQUEST_BYTES + 100))]),
        "txn-over-request-limit",
    ),
    case("Put", put(b"big", b"v" * (TRANSPORT_LIMIT + 100)), "put-over-transport-limit", known.TRANSPORT),
    # Bytes that are not a valid message.
    case("Put", b"\xff", "put-lone-byte", known.UNMARSHAL),
    case("Put", b"\x0a\x05ab", "put-truncated-bytes", known.UNMARSHAL),
    case("Range", b"\x0b", "range-start-group", known.UNMARSHAL),
    case("Range", b"\x0a\x01a\x0c", "range-end-group", known.UNMARSHAL),
    case("Range", b"\x0a\x01a\x0e", "range-wire-type-6", known.UNMARSHAL),
    case("Range", b"\x00\x01", "range-field-zero", known.UNMARSHAL),
    case("Range", b"\x0a\x01a\x38" + VARINT_OVERFLOW, "range-varint-overflow", known.UNMARSHAL),
    case("Range", b"\x0a\x01a\x12\x80\x80\x80\x80\x10", "range-length-overflow", known.UNMARSHAL),
    case(
        "Txn",
        pb.TxnRequest(success=[op_put(b"k")]).SerializeToString()[:-2],
        "txn-truncated",
        known.UNMARSHAL,
    ),
    case("/etcdserverpb.Maintenance/Hash", b"\xff", "hash-garbage", known.UNMARSHAL),
    case("/etcdserverpb.Lease/LeaseGrant", b"\x08", "lease-grant-truncated", known.UNMARSHAL),
    case("Range", b"\x08\x01", "range-key-as-varint", known.WIRE_TYPE),
    case("Range", b"\x0a\x01k\x1a\x01\x00", "range-limit-as-bytes", known.WIRE_TYPE),
    case("Range", b"\x0a\x01k\xa0\x1f\x01", "range-unknown-varint-field"),
    case("Range", b"\x0a\x01k\xa2\x1f\x03abc", "range-unknown-bytes-field"),
    case("Range", b"\x0a\x01x\x0a\x01k", "range-repeated-scalar-last-wins"),
    case("Range", b"", "range-no-bytes"),
    case("/grpc.health.v1.Health/Check", b"\x0a\x03foo", "health-unknown-service", known.HEALTH_UNKNOWN),
    case("/grpc.health.v1.Health/Check", b"", "health-all"),
    # Methods that do not exist.
    case("/etcdserverpb.KV/Nope", b"", "unknown-method"),
    case("/etcdserverpb.Nope/Put", b"", "unknown-service"),
    case("/etcdserverpb.KV/", b"", "empty-method"),
]


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    with pair(tmp_path_factory.mktemp("badinput-grpc")) as p:
        yield p


@pytest.fixture(autouse=True)
def _still_intact(servers: Pair) -> Iterator[None]:
    yield
    servers.assert_intact()


@pytest.mark.parametrize(("method", "payload"), CASES)
def test_same_answer_as_etcd(servers: Pair, method: str, payload: bytes) -> None:
    before = (servers.ref.revision(), servers.ours.revision())
    want = call(servers.ref.channel, method, payload)
    got = call(servers.ours.channel, method, payload)
    assert got == want
    if want[0] == "error":
        assert (servers.ref.revision(), servers.ours.revision()) == before, (
            "a rejected request changed the store"
        )


def test_transport_limit_same_code_and_sizes(servers: Pair) -> None:
    """Over the transport limit both refuse with RESOURCE_EXHAUSTED and name the same sizes."""
    payload = put(b"big", b"v" * (TRANSPORT_LIMIT + 100)).SerializeToString()
    want = call(servers.ref.channel, KV + "Put", payload)
    got = call(servers.ours.channel, KV + "Put", payload)
    sizes = f"received message larger than max ({len(payload)} vs. {TRANSPORT_LIMIT})"
    assert want[:2] == got[:2] == ("error", "RESOURCE_EXHAUSTED")
    assert want[2].lower().endswith(sizes) and got[2].lower().endswith(sizes)


@pytest.mark.parametrize(
    "metadata",
    [
        pytest.param((("token", "garbage"),), id="token"),
        pytest.param((("authorization", "garbage"),), id="authorization"),
        pytest.param((("hasleader", "true"),), id="hasleader"),
        pytest.param((("hasleader", "maybe"),), id="hasleader-garbage"),
        pytest.param((("client-api-version", "9.9"),), id="api-version-future"),
        pytest.param((("client-api-version", "garbage"),), id="api-version-garbage"),
        pytest.param((("x-unknown", "\x7f"),), id="unknown-key"),
    ],
)
def test_metadata_same_answer_as_etcd(servers: Pair, metadata: tuple[tuple[str, str], ...]) -> None:
    payload = pb.RangeRequest(key=b"k").SerializeToString()
    want = call(servers.ref.channel, KV + "Range", payload, metadata=metadata)
    assert call(servers.ours.channel, KV + "Range", payload, metadata=metadata) == want


def create(**kw: Any) -> bytes:
    return pb.WatchRequest(create_request=pb.WatchCreateRequest(**kw)).SerializeToString()


def wcase(requests: list[bytes], replies: int, id: str, xfail: str | None = None) -> Any:
    marks = [pytest.mark.xfail(strict=True, reason=xfail)] if xfail else []
    return pytest.param(requests, replies, id=id, marks=marks)


WATCH_CASES = [
    wcase([create(key=b"")], 1, "empty-key"),
    wcase([create(key=b"b", range_end=b"a")], 1, "range-end-before-key"),
    wcase([create(key=b"k", start_revision=1_000_000)], 1, "future-start-revision"),
    wcase([create(key=b"k", start_revision=-5)], 1, "negative-start-revision"),
    wcase([create(key=b"k", filters=[outside_enum(99)])], 1, "unknown-filter"),
    wcase([create(key=b"k", watch_id=5), create(key=b"j", watch_id=5)], 2, "duplicate-watch-id"),
    wcase([create(key=b"k", watch_id=-7)], 1, "negative-watch-id"),
    wcase([pb.WatchRequest().SerializeToString(), create(key=b"k")], 1, "empty-request-first"),
    wcase(
        [pb.WatchRequest(progress_request=pb.WatchProgressRequest()).SerializeToString()], 1, "progress-only"
    ),
    wcase(
        [
            pb.WatchRequest(cancel_request=pb.WatchCancelRequest(watch_id=42)).SerializeToString(),
            create(key=b"k"),
        ],
        1,
        "cancel-unknown-id",
    ),
    wcase([b"\xff"], 1, "garbage-message", known.UNMARSHAL),
    wcase([create(key=b"k"), b"\x0a\x05"], 2, "garbage-after-create", known.UNMARSHAL),
]


@pytest.mark.parametrize(("requests", "replies"), WATCH_CASES)
def test_watch_same_answer_as_etcd(servers: Pair, requests: list[bytes], replies: int) -> None:
    assert watch(servers.ours.channel, requests, replies) == watch(servers.ref.channel, requests, replies)


# Sent to etcd-py only: each of these makes etcd 3.5.1 panic (nil sorter, nil alarm response).
# etcd-py answers "etcdserver: invalid sort option" (etcd 3.5 later added this check) or a response.
INVALID_SORT = ("error", "INVALID_ARGUMENT", "etcdserver: invalid sort option")


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param(pb.RangeRequest(key=b"k", sort_target=outside_enum(99)), id="range-sort-target-99"),
        pytest.param(
            pb.RangeRequest(key=b"k", sort_target=outside_enum(-1)), id="range-sort-target-negative"
        ),
        pytest.param(
            pb.RangeRequest(key=b"k", sort_order=SO.ASCEND, sort_target=outside_enum(5)),
            id="range-sort-target-5",
        ),
        pytest.param(
            pb.TxnRequest(success=[op_get(b"k", sort_target=outside_enum(7))]), id="txn-sort-target"
        ),
        pytest.param(
            pb.TxnRequest(success=[op_txn(failure=[op_get(b"k", sort_target=outside_enum(9))])]),
            id="nested-txn-sort-target",
        ),
    ],
)
def test_invalid_sort_target_rejected(servers: Pair, payload: Message) -> None:
    method = KV + ("Txn" if isinstance(payload, pb.TxnRequest) else "Range")
    assert call(servers.ours.channel, method, payload.SerializeToString()) == INVALID_SORT


def test_invalid_sort_order_deviation(servers: Pair) -> None:
    """etcd 3.5.1 ignores an unknown sort_order (no sorting); etcd-py rejects it like the sort target."""
    payload = pb.RangeRequest(key=b"k", sort_order=outside_enum(99)).SerializeToString()
    assert call(servers.ref.channel, KV + "Range", payload)[0] == "ok"
    assert call(servers.ours.channel, KV + "Range", payload) == INVALID_SORT


def test_alarm_unknown_action_is_answered(servers: Pair) -> None:
    for action, alarm in ((7, 0), (-1, 1)):
        req = pb.AlarmRequest(
            action=outside_enum(action), alarm=outside_enum(alarm), memberID=1
        ).SerializeToString()
        outcome = call(servers.ours.channel, "/etcdserverpb.Maintenance/Alarm", req)
        assert outcome[0] in ("ok", "error")
    got = servers.ours.maintenance.Alarm(pb.AlarmRequest(action=pb.AlarmRequest.GET), timeout=10)
    assert list(got.alarms) == [], "an unknown alarm action raised an alarm"
