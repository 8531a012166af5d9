"""Building blocks for transactions: comparisons and operations.

Example::

    client.txn(
        compare=[txn.Value("k").eq("v1"), txn.Version("k").gt(0)],
        success=[txn.put("k", "v2")],
        failure=[txn.get("k")],
    )
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.client._requests import Bytes, delete_request, key_range, put_request, range_request, to_bytes

_RESULTS: dict[str, pb.Compare.CompareResult] = {
    "=": pb.Compare.EQUAL,
    "!=": pb.Compare.NOT_EQUAL,
    "<": pb.Compare.LESS,
    ">": pb.Compare.GREATER,
}


class _Target:
    """A compare target on a key (or a key range); its methods produce `Compare` messages."""

    target: pb.Compare.CompareTarget
    field: str

    def __init__(self, key: Bytes, range_end: Bytes = b"", *, prefix: bool = False) -> None:
        self.key, self.range_end = key_range(key, range_end, prefix, False)

    def _operand(self, value: Any) -> Any:
        return int(value)

    def compare(self, op: str, value: Any) -> pb.Compare:
        """`op` is one of `=`, `!=`, `<`, `>`."""
        result = _RESULTS.get(op)
        if result is None:
            raise ValueError(f"unknown compare operator {op!r}")
        cmp = pb.Compare(result=result, target=self.target, key=self.key, range_end=self.range_end)
        setattr(cmp, self.field, self._operand(value))
        return cmp

    def eq(self, value: Any) -> pb.Compare:
        return self.compare("=", value)

    def ne(self, value: Any) -> pb.Compare:
        return self.compare("!=", value)

    def lt(self, value: Any) -> pb.Compare:
        return self.compare("<", value)

    def gt(self, value: Any) -> pb.Compare:
        return self.compare(">", value)


class Version(_Target):
    target = pb.Compare.VERSION
    field = "version"


class CreateRevision(_Target):
    target = pb.Compare.CREATE
    field = "create_revision"


class ModRevision(_Target):
    target = pb.Compare.MOD
    field = "mod_revision"


class Lease(_Target):
    target = pb.Compare.LEASE
    field = "lease"


class Value(_Target):
    target = pb.Compare.VALUE
    field = "value"

    def _operand(self, value: Any) -> Any:
        return to_bytes(value)


def get(key: Bytes, range_end: Bytes = b"", **options: Any) -> pb.RequestOp:
    """A range operation; `options` are those of `Client.get`."""
    return pb.RequestOp(request_range=range_request(key, range_end, **options))


def put(key: Bytes, value: Bytes = b"", **options: Any) -> pb.RequestOp:
    """A put operation; `options` are those of `Client.put`."""
    return pb.RequestOp(request_put=put_request(key, value, **options))


def delete(key: Bytes, range_end: Bytes = b"", **options: Any) -> pb.RequestOp:
    """A delete-range operation; `options` are those of `Client.delete`."""
    return pb.RequestOp(request_delete_range=delete_request(key, range_end, **options))


def txn_request(
    compare: Iterable[pb.Compare] = (),
    success: Iterable[pb.RequestOp] = (),
    failure: Iterable[pb.RequestOp] = (),
) -> pb.TxnRequest:
    return pb.TxnRequest(compare=list(compare), success=list(success), failure=list(failure))


def txn(
    compare: Iterable[pb.Compare] = (),
    success: Iterable[pb.RequestOp] = (),
    failure: Iterable[pb.RequestOp] = (),
) -> pb.RequestOp:
    """A nested transaction operation."""
    return pb.RequestOp(request_txn=txn_request(compare, success, failure))
