"""Applying the lease requests of committed log entries (see `apply` for the contract).

Each returns the response with only `header.revision` set (the store's revision
once the request is applied, as etcd's applier sets it) or raises an EtcdError.
"""

from __future__ import annotations

from etcdpy.api.pb.etcdserverpb import rpc_pb2
from etcdpy.lease.lessor import Lessor
from etcdpy.mvcc.kvstore import KVStore


def grant(
    lessor: Lessor, kv: KVStore, req: rpc_pb2.LeaseGrantRequest, index: int
) -> rpc_pb2.LeaseGrantResponse:
    lease = lessor.grant(req.ID, req.TTL)
    # After the lease is stored: replaying this entry after a crash in between fails as a
    # duplicate grant and leaves the same state.
    kv.save_consistent_index(index)
    resp = rpc_pb2.LeaseGrantResponse(ID=lease.id, TTL=lease.ttl)
    resp.header.revision = kv.rev
    return resp


def revoke(
    lessor: Lessor, kv: KVStore, req: rpc_pb2.LeaseRevokeRequest, index: int
) -> rpc_pb2.LeaseRevokeResponse:
    lessor.revoke(req.ID, index)
    resp = rpc_pb2.LeaseRevokeResponse()
    resp.header.revision = kv.rev
    return resp


def checkpoint(
    lessor: Lessor, kv: KVStore, req: rpc_pb2.LeaseCheckpointRequest
) -> rpc_pb2.LeaseCheckpointResponse:
    for cp in req.checkpoints:
        lessor.checkpoint(cp.ID, cp.remaining_TTL)
    resp = rpc_pb2.LeaseCheckpointResponse()
    resp.header.revision = kv.rev
    return resp
