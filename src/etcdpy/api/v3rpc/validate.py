"""Checks on KV requests made before they are proposed, as etcd's v3rpc key server makes them.

Each check raises the `etcdpy.api.errors` constant etcd answers with. Compact
has no such check in etcd: its revision is judged when applied.
"""

from __future__ import annotations

from collections.abc import Sequence

from etcdpy.api import errors
from etcdpy.api.pb.etcdserverpb.rpc_pb2 import (
    DeleteRangeRequest,
    PutRequest,
    RangeRequest,
    RequestOp,
    TxnRequest,
)

DEFAULT_MAX_TXN_OPS = 128

_SORT_ORDERS = frozenset(RangeRequest.SortOrder.values())
_SORT_TARGETS = frozenset(RangeRequest.SortTarget.values())

# A deletion's key interval [begin, end); end None means the single key begin.
_Interval = tuple[bytes, bytes | None]


def check_range(req: RangeRequest) -> None:
    if not req.key:
        raise errors.EMPTY_KEY
    if req.sort_order not in _SORT_ORDERS or req.sort_target not in _SORT_TARGETS:
        raise errors.INVALID_SORT_OPTION


def check_put(req: PutRequest) -> None:
    if not req.key:
        raise errors.EMPTY_KEY
    if req.ignore_value and req.value:
        raise errors.VALUE_PROVIDED
    if req.ignore_lease and req.lease:
        raise errors.LEASE_PROVIDED


def check_delete_range(req: DeleteRangeRequest) -> None:
    if not req.key:
        raise errors.EMPTY_KEY


def check_txn(req: TxnRequest, max_txn_ops: int = DEFAULT_MAX_TXN_OPS) -> None:
    """Sizes and every op (nested txns included), then put/delete overlaps within each branch."""
    _check_txn_ops(req, max_txn_ops)
    _branch_writes(req.success)
    _branch_writes(req.failure)


def _check_txn_ops(req: TxnRequest, max_txn_ops: int) -> None:
    ops = max(len(req.compare), len(req.success), len(req.failure))
    if ops > max_txn_ops:
        raise errors.TOO_MANY_OPS
    if any(not c.key for c in req.compare):
        raise errors.EMPTY_KEY
    # A nested txn gets what its parent's widest list leaves of the limit.
    for op in [*req.success, *req.failure]:
        _check_op(op, max_txn_ops - ops)


def _check_op(op: RequestOp, max_txn_ops: int) -> None:
    which = op.WhichOneof("request")
    if which == "request_range":
        check_range(op.request_range)
    elif which == "request_put":
        check_put(op.request_put)
    elif which == "request_delete_range":
        check_delete_range(op.request_delete_range)
    elif which == "request_txn":
        _check_txn_ops(op.request_txn, max_txn_ops)
    else:
        raise errors.KEY_NOT_FOUND  # an empty op


def _branch_writes(branch: Sequence[RequestOp]) -> tuple[set[bytes], list[_Interval]]:
    """The keys put and the intervals deleted by one branch, nested txns included.

    Raises DUPLICATE_KEY if a key is put twice or put and deleted in the branch;
    the two branches of a nested txn may put the same key, as only one runs.
    """
    deletes = [
        (op.request_delete_range.key, op.request_delete_range.range_end or None)
        for op in branch
        if op.HasField("request_delete_range")
    ]
    puts: set[bytes] = set()
    for op in branch:
        if not op.HasField("request_txn"):
            continue
        puts_then, deletes_then = _branch_writes(op.request_txn.success)
        puts_else, deletes_else = _branch_writes(op.request_txn.failure)
        for key in puts_then:
            if key in puts or _deleted(deletes, key):
                raise errors.DUPLICATE_KEY
            puts.add(key)
        for key in puts_else:
            if (key in puts and key not in puts_then) or _deleted(deletes, key):
                raise errors.DUPLICATE_KEY
            puts.add(key)
        deletes += deletes_then + deletes_else
    for op in branch:
        if not op.HasField("request_put"):
            continue
        key = op.request_put.key
        if key in puts or _deleted(deletes, key):
            raise errors.DUPLICATE_KEY
        puts.add(key)
    return puts, deletes


def _deleted(deletes: list[_Interval], key: bytes) -> bool:
    """Whether key lies in one of the intervals, compared as etcd's interval tree compares them.

    A range end is an exclusive bound taken literally, so a deletion with range
    end b"\\0" ("every key >= begin") covers no key here, exactly as in etcd.
    """
    for begin, end in deletes:
        if end is None:
            if key == begin:
                return True
        elif begin <= key < end:
            return True
    return False
