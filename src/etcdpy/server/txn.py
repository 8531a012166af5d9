"""etcd 3.5's semantics for the KV requests, applied to a KVStore.

Each function returns the response message with only `header.revision` set
(as etcd's applier does); the server fills in cluster_id, member_id and
raft_term. Responses nested in a TxnResponse carry headers exactly as etcd
sends them: revision-only, and empty for a nested Txn.

Errors are the `etcdpy.api.errors` constants. A Txn is checked completely
against the state before it (compares, then lease and ignore_* preconditions
of its puts, then the revisions of its ranges) before anything is written, so
a failing Txn changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol, TypeVar

from etcdpy.api import errors
from etcdpy.api.pb.etcdserverpb.rpc_pb2 import (
    CompactionRequest,
    CompactionResponse,
    Compare,
    DeleteRangeRequest,
    DeleteRangeResponse,
    PutRequest,
    PutResponse,
    RangeRequest,
    RangeResponse,
    RequestOp,
    TxnRequest,
    TxnResponse,
)
from etcdpy.api.pb.mvccpb.kv_pb2 import KeyValue
from etcdpy.mvcc.go_sort import go_sort
from etcdpy.mvcc.kvstore import KVStore, RangeResult
from etcdpy.mvcc.txn_write import TxnWrite

LeaseExists = Callable[[int], bool]
_T = TypeVar("_T", bytes, int)

_ASCEND = RangeRequest.ASCEND
_DESCEND = RangeRequest.DESCEND
_NONE = RangeRequest.NONE

_INT_SORT_FIELDS: dict[int, Callable[[KeyValue], int]] = {
    RangeRequest.VERSION: lambda kv: kv.version,
    RangeRequest.CREATE: lambda kv: kv.create_revision,
    RangeRequest.MOD: lambda kv: kv.mod_revision,
}

# Compare target -> (the KeyValue field compared, the Compare operand), for the integer targets.
_INT_COMPARES: dict[int, tuple[Callable[[KeyValue], int], Callable[[Compare], int]]] = {
    Compare.VERSION: (lambda kv: kv.version, lambda c: c.version),
    Compare.CREATE: (lambda kv: kv.create_revision, lambda c: c.create_revision),
    Compare.MOD: (lambda kv: kv.mod_revision, lambda c: c.mod_revision),
    Compare.LEASE: (lambda kv: kv.lease, lambda c: c.lease),
}
_EMPTY_KV = KeyValue()


class KVReader(Protocol):
    """A KVStore, or a TxnWrite (which also sees its own changes)."""

    def range(
        self, key: bytes, end: bytes | None = None, *, rev: int = 0, limit: int = 0, count_only: bool = False
    ) -> RangeResult: ...


def range(kv: KVReader, req: RangeRequest) -> RangeResponse:
    """Range: filters and sorts the whole range when asked to, else reads one past the limit for `more`."""
    limit = req.limit
    filtered = bool(
        req.min_mod_revision or req.max_mod_revision or req.min_create_revision or req.max_create_revision
    )
    if req.sort_order != _NONE or filtered:
        limit = 0
    if limit > 0:
        limit += 1
    rr = kv.range(req.key, req.range_end, rev=req.revision, limit=limit, count_only=req.count_only)
    kvs = rr.kvs
    if filtered:
        kvs = [item for item in kvs if _within_filters(req, item)]
    sort_order = req.sort_order
    if req.sort_target != RangeRequest.KEY and sort_order == _NONE:
        sort_order = _ASCEND  # the store returns key order; any other target defaults to ascending
    already_sorted = sort_order == _ASCEND and req.sort_target == RangeRequest.KEY
    if sort_order in (_ASCEND, _DESCEND) and not already_sorted:
        kvs = _sorted(kvs, req.sort_target, sort_order == _DESCEND)
    resp = RangeResponse(count=rr.count)
    if 0 < req.limit < len(kvs):
        kvs = kvs[: req.limit]
        resp.more = True
    if req.keys_only:
        for item in kvs:
            item.value = b""
    resp.kvs.extend(kvs)
    resp.header.revision = rr.rev
    return resp


def _sorted(kvs: list[KeyValue], target: int, descending: bool) -> list[KeyValue]:
    """kvs in the order etcd returns them, ties included (see go_sort)."""
    if target == RangeRequest.KEY:
        return go_sort([kv.key for kv in kvs], kvs, descending=descending)
    if target == RangeRequest.VALUE:
        return go_sort([kv.value for kv in kvs], kvs, descending=descending)
    field = _INT_SORT_FIELDS[target]
    return go_sort([field(kv) for kv in kvs], kvs, descending=descending)


def _within_filters(req: RangeRequest, kv: KeyValue) -> bool:
    return not (
        (req.max_mod_revision and kv.mod_revision > req.max_mod_revision)
        or (req.min_mod_revision and kv.mod_revision < req.min_mod_revision)
        or (req.max_create_revision and kv.create_revision > req.max_create_revision)
        or (req.min_create_revision and kv.create_revision < req.min_create_revision)
    )


def put(txn: TxnWrite, req: PutRequest, *, lease_exists: LeaseExists) -> PutResponse:
    """Put into the open write `txn`. On an error nothing was changed."""
    if req.lease and not lease_exists(req.lease):
        raise errors.LEASE_NOT_FOUND
    value, lease = req.value, req.lease
    if req.ignore_value or req.ignore_lease:
        current = txn.range(req.key).kvs
        if not current:
            raise errors.KEY_NOT_FOUND
        if req.ignore_value:
            value = current[0].value
        if req.ignore_lease:
            lease = current[0].lease
    prev = txn.put(req.key, value, lease)
    resp = PutResponse()
    if req.prev_kv and prev is not None:
        resp.prev_kv.CopyFrom(prev)
    resp.header.revision = txn.rev
    return resp


def delete_range(txn: TxnWrite, req: DeleteRangeRequest) -> DeleteRangeResponse:
    """DeleteRange in the open write `txn`."""
    deleted = txn.delete_range(req.key, req.range_end)
    resp = DeleteRangeResponse(deleted=len(deleted))
    if req.prev_kv:
        resp.prev_kvs.extend(deleted)
    resp.header.revision = txn.rev
    return resp


def txn(
    kv: KVStore, req: TxnRequest, *, lease_exists: LeaseExists, consistent_index: int | None = None
) -> TxnResponse:
    """Txn as one write revision (none if nothing changes); `consistent_index` is saved with it."""
    path = _compare_path(kv, req)
    _check_ops(req, iter(path), lambda op: _check_put(kv, op, lease_exists))
    _check_ops(req, iter(path), lambda op: _check_range(kv, op))
    with kv.write() as write:
        resp = _apply(write, req, iter(path), lease_exists)
        resp.header.revision = write.rev
        write.end(consistent_index)
    return resp


def compact(
    kv: KVStore, req: CompactionRequest, *, consistent_index: int | None = None
) -> CompactionResponse:
    """Compaction; it is complete (physical) when this returns."""
    kv.compact(req.revision, consistent_index=consistent_index)
    resp = CompactionResponse()
    resp.header.revision = kv.rev
    return resp


def _branch(req: TxnRequest, succeeded: bool) -> list[RequestOp]:
    return list(req.success if succeeded else req.failure)


def _compare_path(kv: KVReader, req: TxnRequest) -> list[bool]:
    """The outcome of req's compares, then of the nested txns on the branch taken, depth first."""
    succeeded = all(_compare(kv, c) for c in req.compare)
    path = [succeeded]
    for op in _branch(req, succeeded):
        if op.HasField("request_txn"):
            path.extend(_compare_path(kv, op.request_txn))
    return path


def _compare(kv: KVReader, c: Compare) -> bool:
    """True if the compare holds for every key in its range. With no key it is checked against an
    empty KeyValue, except that a VALUE compare on no key is false."""
    kvs = kv.range(c.key, c.range_end).kvs
    if c.target == Compare.VALUE:
        return bool(kvs) and all(_holds(c.result, _order(item.value, c.value)) for item in kvs)
    getters = _INT_COMPARES.get(c.target)
    if getters is None:
        return _holds(c.result, 0)
    field, operand_of = getters
    operand = operand_of(c)
    return all(_holds(c.result, _order(field(item), operand)) for item in kvs or [_EMPTY_KV])


def _order(a: _T, b: _T) -> int:
    return (a > b) - (a < b)


def _holds(result: int, order: int) -> bool:
    if result == Compare.EQUAL:
        return order == 0
    if result == Compare.NOT_EQUAL:
        return order != 0
    if result == Compare.GREATER:
        return order > 0
    if result == Compare.LESS:
        return order < 0
    return True


def _check_ops(req: TxnRequest, path: Iterator[bool], check: Callable[[RequestOp], None]) -> None:
    """Run `check` on every non-txn op of the branches the compares chose, in order."""
    for op in _branch(req, next(path)):
        if op.HasField("request_txn"):
            _check_ops(op.request_txn, path, check)
        else:
            check(op)


def _check_put(kv: KVReader, op: RequestOp, lease_exists: LeaseExists) -> None:
    if not op.HasField("request_put"):
        return
    req = op.request_put
    if (req.ignore_value or req.ignore_lease) and not kv.range(req.key).kvs:
        raise errors.KEY_NOT_FOUND
    if req.lease and not lease_exists(req.lease):
        raise errors.LEASE_NOT_FOUND


def _check_range(kv: KVStore, op: RequestOp) -> None:
    if not op.HasField("request_range") or op.request_range.revision == 0:
        return
    rev = op.request_range.revision
    if rev > kv.rev:
        raise errors.FUTURE_REV
    if rev < kv.compact_rev:
        raise errors.COMPACTED


def _apply(write: TxnWrite, req: TxnRequest, path: Iterator[bool], lease_exists: LeaseExists) -> TxnResponse:
    succeeded = next(path)
    resp = TxnResponse(succeeded=succeeded)
    resp.header.SetInParent()
    for op in _branch(req, succeeded):
        out = resp.responses.add()
        which = op.WhichOneof("request")
        if which == "request_range":
            out.response_range.CopyFrom(range(write, op.request_range))
        elif which == "request_put":
            out.response_put.CopyFrom(put(write, op.request_put, lease_exists=lease_exists))
        elif which == "request_delete_range":
            out.response_delete_range.CopyFrom(delete_range(write, op.request_delete_range))
        elif which == "request_txn":
            out.response_txn.CopyFrom(_apply(write, op.request_txn, path, lease_exists))
    return resp
