"""Pre-proposal request checks (outcomes cross-checked against etcd 3.5.1 in test_reference.py)."""

from __future__ import annotations

import pytest

from etcdpy.api import errors
from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.api.v3rpc import validate

RR = pb.RangeRequest


def put(key: bytes, **kw: object) -> pb.RequestOp:
    return pb.RequestOp(request_put=pb.PutRequest(key=key, **kw))  # type: ignore[arg-type]


def dele(key: bytes, end: bytes = b"") -> pb.RequestOp:
    return pb.RequestOp(request_delete_range=pb.DeleteRangeRequest(key=key, range_end=end))


def rng(key: bytes, **kw: object) -> pb.RequestOp:
    return pb.RequestOp(request_range=RR(key=key, **kw))  # type: ignore[arg-type]


def sub(success: list[pb.RequestOp] | None = None, failure: list[pb.RequestOp] | None = None) -> pb.RequestOp:
    return pb.RequestOp(request_txn=pb.TxnRequest(success=success or [], failure=failure or []))


def error_of(check: object, *args: object) -> errors.EtcdError | None:
    try:
        check(*args)  # type: ignore[operator]
    except errors.EtcdError as e:
        return e
    return None


def test_range() -> None:
    assert error_of(validate.check_range, RR(key=b"a", range_end=b"b")) is None
    assert error_of(validate.check_range, RR(range_end=b"b")) == errors.EMPTY_KEY
    bad_order = RR(key=b"a", sort_order=3)  # type: ignore[arg-type]
    bad_target = RR(key=b"a", sort_target=5)  # type: ignore[arg-type]
    assert error_of(validate.check_range, bad_order) == errors.INVALID_SORT_OPTION
    assert error_of(validate.check_range, bad_target) == errors.INVALID_SORT_OPTION


def test_put_and_delete() -> None:
    assert error_of(validate.check_put, pb.PutRequest(key=b"a", ignore_value=True, ignore_lease=True)) is None
    assert error_of(validate.check_put, pb.PutRequest(value=b"x")) == errors.EMPTY_KEY
    assert error_of(validate.check_put, pb.PutRequest(key=b"a", value=b"x", ignore_value=True)) == (
        errors.VALUE_PROVIDED
    )
    assert error_of(validate.check_put, pb.PutRequest(key=b"a", lease=1, ignore_lease=True)) == (
        errors.LEASE_PROVIDED
    )
    assert error_of(validate.check_delete_range, pb.DeleteRangeRequest(range_end=b"z")) == errors.EMPTY_KEY
    assert error_of(validate.check_delete_range, pb.DeleteRangeRequest(key=b"a")) is None


@pytest.mark.parametrize(
    ("success", "failure", "error"),
    [
        ([put(b"a"), put(b"b"), rng(b"a"), dele(b"c")], [put(b"a")], None),
        ([put(b"a"), put(b"a")], [], errors.DUPLICATE_KEY),
        ([put(b"b"), dele(b"a", b"c")], [], errors.DUPLICATE_KEY),
        ([put(b"b"), dele(b"b")], [], errors.DUPLICATE_KEY),
        ([put(b"b"), dele(b"a", b"b")], [], None),
        ([put(b"b"), dele(b"c", b"a")], [], None),
        ([put(b"b"), dele(b"a", b"\0")], [], None),  # etcd reads "\0" literally here: no overlap
        ([dele(b"a", b"c"), dele(b"b")], [], None),
        ([put(b"b"), sub([put(b"b")])], [], errors.DUPLICATE_KEY),
        ([sub([put(b"b")], [put(b"b")])], [], None),
        ([sub([put(b"b")]), sub(failure=[put(b"b")])], [], errors.DUPLICATE_KEY),
        ([dele(b"a", b"c"), sub(failure=[put(b"b")])], [], errors.DUPLICATE_KEY),
        ([sub([dele(b"b")]), put(b"b")], [], errors.DUPLICATE_KEY),
        ([sub([dele(b"b")]), sub([put(b"b")])], [], errors.DUPLICATE_KEY),
        ([sub([sub([put(b"x")])]), put(b"x")], [], errors.DUPLICATE_KEY),
        ([pb.RequestOp()], [], errors.KEY_NOT_FOUND),
        ([put(b"")], [], errors.EMPTY_KEY),
        ([sub([rng(b"")])], [], errors.EMPTY_KEY),
        ([], [dele(b"")], errors.EMPTY_KEY),
        ([put(b"a", value=b"x", ignore_value=True)], [], errors.VALUE_PROVIDED),
        ([rng(b"a", sort_target=9)], [], errors.INVALID_SORT_OPTION),
    ],
)
def test_txn_ops(
    success: list[pb.RequestOp], failure: list[pb.RequestOp], error: errors.EtcdError | None
) -> None:
    assert error_of(validate.check_txn, pb.TxnRequest(success=success, failure=failure)) == error


def test_txn_sizes() -> None:
    assert error_of(validate.check_txn, pb.TxnRequest(success=[put(b"k%d" % i) for i in range(128)])) is None
    assert error_of(validate.check_txn, pb.TxnRequest(failure=[rng(b"k")] * 129)) == errors.TOO_MANY_OPS
    assert (
        error_of(validate.check_txn, pb.TxnRequest(compare=[pb.Compare(key=b"a")] * 129))
        == errors.TOO_MANY_OPS
    )
    assert (
        error_of(validate.check_txn, pb.TxnRequest(compare=[pb.Compare(key=b"a")] * 3), 2)
        == errors.TOO_MANY_OPS
    )
    assert error_of(validate.check_txn, pb.TxnRequest(compare=[pb.Compare()])) == errors.EMPTY_KEY
    # A nested txn may use what its parent's widest list leaves of the limit.
    nested = sub([rng(b"q")] * 120)
    assert error_of(validate.check_txn, pb.TxnRequest(success=[nested] * 8)) is None
    assert error_of(validate.check_txn, pb.TxnRequest(success=[nested] * 9)) == errors.TOO_MANY_OPS
    # Sizes are checked before overlaps.
    assert error_of(validate.check_txn, pb.TxnRequest(success=[put(b"a")] * 129)) == errors.TOO_MANY_OPS
