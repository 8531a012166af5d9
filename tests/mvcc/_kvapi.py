"""The KV API as a test sees it: the same requests against etcd-py's store or a reference etcd.

`LocalKV` applies requests the way the server does (validate, then apply in
one write transaction); `RemoteKV` sends them over gRPC. Both return the
response with only `header.revision` kept, or an `Failure` (code name, message).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.message import Message

from etcdpy.api import errors
from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.api.pb.etcdserverpb import rpc_pb2_grpc
from etcdpy.api.v3rpc import validate
from etcdpy.mvcc.kvstore import KVStore
from etcdpy.server import txn as apply


@dataclass(frozen=True)
class Failure:
    code: str
    message: str


Result = Message | Failure


def strip_header(resp: Message) -> Message:
    header = getattr(resp, "header", None)
    if header is not None:
        header.cluster_id = 0
        header.member_id = 0
        header.raft_term = 0
    return resp


class LocalKV:
    def __init__(self, kv: KVStore, leases: set[int] | None = None) -> None:
        self.kv = kv
        self.leases = leases if leases is not None else set()
        self.index = 0

    def _exists(self, lease: int) -> bool:
        return lease in self.leases

    def call(self, method: str, req: Message) -> Result:
        try:
            return getattr(self, "_" + method)(req)  # type: ignore[no-any-return]
        except errors.EtcdError as e:
            return Failure(e.code.name, e.message)

    def _Range(self, req: pb.RangeRequest) -> Message:
        validate.check_range(req)
        return apply.range(self.kv, req)

    def _Put(self, req: pb.PutRequest) -> Message:
        validate.check_put(req)
        self.index += 1
        with self.kv.write() as tw:
            resp = apply.put(tw, req, lease_exists=self._exists)
            tw.end(self.index)
        return resp

    def _DeleteRange(self, req: pb.DeleteRangeRequest) -> Message:
        validate.check_delete_range(req)
        self.index += 1
        with self.kv.write() as tw:
            resp = apply.delete_range(tw, req)
            tw.end(self.index)
        return resp

    def _Txn(self, req: pb.TxnRequest) -> Message:
        validate.check_txn(req)
        self.index += 1
        return apply.txn(self.kv, req, lease_exists=self._exists, consistent_index=self.index)

    def _Compact(self, req: pb.CompactionRequest) -> Message:
        self.index += 1
        return apply.compact(self.kv, req, consistent_index=self.index)

    def _HashKV(self, req: pb.HashKVRequest) -> Message:
        h, compact_rev, _ = self.kv.hash_kv(req.revision)
        resp = pb.HashKVResponse(hash=h, compact_revision=compact_rev)
        resp.header.revision = self.kv.rev
        return resp


class RemoteKV:
    def __init__(self, channel: grpc.Channel) -> None:
        self.kv = rpc_pb2_grpc.KVStub(channel)
        self.maintenance = rpc_pb2_grpc.MaintenanceStub(channel)
        self.lease = rpc_pb2_grpc.LeaseStub(channel)

    def grant(self, lease_id: int) -> None:
        self.lease.LeaseGrant(pb.LeaseGrantRequest(ID=lease_id, TTL=3600), timeout=10)

    def call(self, method: str, req: Message) -> Result:
        stub: Any = self.maintenance if method == "HashKV" else self.kv
        try:
            resp: Message = getattr(stub, method)(req, timeout=10)
        except grpc.RpcError as e:
            return Failure(e.code().name, e.details() or "")
        return strip_header(resp)
