"""Server processes for the lease tests: etcd-py and reference etcd 3.5.1, driven alike."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc

from etcdpy.api.pb.etcdserverpb import rpc_pb2, rpc_pb2_grpc
from tests.servers import EtcdProcess

# The `etcd` command's client listener does not relay gRPC yet: run etcd-py's server with its
# gRPC services on the client port directly (tests/lease/_direct.py). Set to False once it does.
DIRECT = True
_DIRECT_RUNNER = Path(__file__).with_name("_direct.py")


@dataclass
class DirectEtcdProcess(EtcdProcess):
    def command(self) -> list[str]:
        return [sys.executable, str(_DIRECT_RUNNER), *super().command()[3:]]


def make(kind: str, tmp: Path, **kw: object) -> EtcdProcess:
    """An unstarted member of `kind` ("etcdpy" or "reference") with its data dir under tmp."""
    data_dir = tmp / f"{kind}.etcd"
    if kind == "etcdpy" and DIRECT:
        return DirectEtcdProcess(kind, data_dir, **kw)  # type: ignore[arg-type]
    return EtcdProcess(kind, data_dir, **kw)  # type: ignore[arg-type]


@contextlib.contextmanager
def running(kind: str, tmp: Path) -> Iterator[EtcdProcess]:
    p = make(kind, tmp)
    p.start()
    try:
        yield p
    finally:
        p.stop()


@dataclass
class Client:
    """Blocking gRPC stubs on one member."""

    channel: grpc.Channel
    kv: rpc_pb2_grpc.KVStub
    lease: rpc_pb2_grpc.LeaseStub

    @classmethod
    @contextlib.contextmanager
    def to(cls, p: EtcdProcess) -> Iterator[Client]:
        with grpc.insecure_channel(p.endpoint) as ch:
            yield cls(ch, rpc_pb2_grpc.KVStub(ch), rpc_pb2_grpc.LeaseStub(ch))

    def grant(self, ttl: int, lease_id: int = 0) -> rpc_pb2.LeaseGrantResponse:
        resp: rpc_pb2.LeaseGrantResponse = self.lease.LeaseGrant(
            rpc_pb2.LeaseGrantRequest(TTL=ttl, ID=lease_id), timeout=10
        )
        return resp

    def put(self, key: bytes, value: bytes = b"v", lease: int = 0) -> rpc_pb2.PutResponse:
        resp: rpc_pb2.PutResponse = self.kv.Put(rpc_pb2.PutRequest(key=key, value=value, lease=lease), timeout=10)
        return resp

    def get(self, key: bytes, end: bytes = b"") -> rpc_pb2.RangeResponse:
        resp: rpc_pb2.RangeResponse = self.kv.Range(rpc_pb2.RangeRequest(key=key, range_end=end), timeout=10)
        return resp

    def ttl(self, lease_id: int, keys: bool = False) -> rpc_pb2.LeaseTimeToLiveResponse:
        resp: rpc_pb2.LeaseTimeToLiveResponse = self.lease.LeaseTimeToLive(
            rpc_pb2.LeaseTimeToLiveRequest(ID=lease_id, keys=keys), timeout=10
        )
        return resp
