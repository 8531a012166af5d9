"""The backend space quota (--quota-backend-bytes), as etcd's backendQuota.

A write is admitted while the backend's size plus an estimate of what the write adds stays below
the quota; otherwise the member raises the NOSPACE alarm and refuses it. While NOSPACE is active,
every member refuses at apply the writes that cost space (puts, transactions with a put in the
branch taken or not, lease grants), so the cluster stays consistent; reads, deletes and compaction
go on, and `alarm disarm` after compaction and defragmentation lifts it.
"""

from __future__ import annotations

from collections.abc import Iterable

from etcdpy.api.pb.etcdserverpb import rpc_pb2

# etcd's estimates of what storing a key's metadata and a lease costs, in bytes.
KV_OVERHEAD = 256
LEASE_OVERHEAD = 64


def put_cost(req: rpc_pb2.PutRequest) -> int:
    return KV_OVERHEAD + len(req.key) + len(req.value)


def txn_cost(req: rpc_pb2.TxnRequest) -> int:
    """The costlier branch's puts (nested transactions are not counted, as in etcd)."""

    def branch(ops: Iterable[rpc_pb2.RequestOp]) -> int:
        return sum(put_cost(op.request_put) for op in ops if op.HasField("request_put"))

    return max(branch(req.success), branch(req.failure))


def available(backend_size: int, quota_bytes: int, cost: int) -> bool:
    """Whether a write of `cost` fits; a quota of 0 or less means none."""
    return cost == 0 or quota_bytes <= 0 or backend_size + cost < quota_bytes
