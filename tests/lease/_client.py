"""A small blocking gRPC client for the lease tests."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass

import grpc

from etcdpy.api.pb.etcdserverpb import rpc_pb2, rpc_pb2_grpc
from tests.servers import EtcdProcess


@dataclass
class Client:
    """Blocking gRPC stubs on one member."""

    channel: grpc.Channel
    kv: rpc_pb2_grpc.KVStub
    lease: rpc_pb2_grpc.LeaseStub
    maintenance: rpc_pb2_grpc.MaintenanceStub

    @classmethod
    @contextlib.contextmanager
    def to(cls, p: EtcdProcess) -> Iterator[Client]:
        with grpc.insecure_channel(p.endpoint) as ch:
            yield cls(
                ch, rpc_pb2_grpc.KVStub(ch), rpc_pb2_grpc.LeaseStub(ch), rpc_pb2_grpc.MaintenanceStub(ch)
            )

    def grant(self, ttl: int, lease_id: int = 0) -> rpc_pb2.LeaseGrantResponse:
        resp: rpc_pb2.LeaseGrantResponse = self.lease.LeaseGrant(
            rpc_pb2.LeaseGrantRequest(TTL=ttl, ID=lease_id), timeout=10
        )
        return resp

    def put(self, key: bytes, value: bytes = b"v", lease: int = 0) -> rpc_pb2.PutResponse:
        resp: rpc_pb2.PutResponse = self.kv.Put(
            rpc_pb2.PutRequest(key=key, value=value, lease=lease), timeout=10
        )
        return resp

    def get(self, key: bytes, end: bytes = b"") -> rpc_pb2.RangeResponse:
        resp: rpc_pb2.RangeResponse = self.kv.Range(rpc_pb2.RangeRequest(key=key, range_end=end), timeout=10)
        return resp

    def ttl(self, lease_id: int, keys: bool = False) -> rpc_pb2.LeaseTimeToLiveResponse:
        resp: rpc_pb2.LeaseTimeToLiveResponse = self.lease.LeaseTimeToLive(
            rpc_pb2.LeaseTimeToLiveRequest(ID=lease_id, keys=keys), timeout=10
        )
        return resp

    def revoke(self, lease_id: int) -> rpc_pb2.LeaseRevokeResponse:
        resp: rpc_pb2.LeaseRevokeResponse = self.lease.LeaseRevoke(
            rpc_pb2.LeaseRevokeRequest(ID=lease_id), timeout=10
        )
        return resp

    def hash_kv(self) -> tuple[int, int]:
        """(hash, compact revision) of the whole key-space history."""
        r = self.maintenance.HashKV(rpc_pb2.HashKVRequest(), timeout=10)
        return r.hash, r.compact_revision
