"""Servers for the bad-input suite: reference etcd 3.5.1 and etcd-py started side by side, each
holding a sentinel key written first, with the checks that prove a server survived what it was sent.

Both stores see the same requests in the same order, so after every test their revision and
HashKV must agree; a sentinel written at the start must read back unchanged at its revision.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import grpc

from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.api.pb.etcdserverpb import rpc_pb2_grpc
from etcdpy.api.pb.mvccpb import kv_pb2
from tests.servers import EtcdProcess, running

SENTINEL_KEY = b"\x00sentinel"
SENTINEL_VALUE = b"\x00\xff\xfe sentinel \xc3\x28 value"
# Room for the 2 MiB+ messages the suite sends and the large ranges it reads back.
CHANNEL_OPTIONS = [("grpc.max_send_message_length", 16 << 20), ("grpc.max_receive_message_length", 16 << 20)]
TIMEOUT = 10.0


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """What a store holds, as far as a client can prove it: its revision and HashKV."""

    revision: int
    hash: int
    compact_revision: int


class Server:
    """A started member with one gRPC channel and the sentinel it was given."""

    def __init__(self, proc: EtcdProcess) -> None:
        self.proc = proc
        self.channel = grpc.insecure_channel(proc.endpoint, options=CHANNEL_OPTIONS)
        self.kv = rpc_pb2_grpc.KVStub(self.channel)
        self.maintenance = rpc_pb2_grpc.MaintenanceStub(self.channel)
        self.sentinel = self._write_sentinel()
        self.sentinel_hash = self.hash_at(self.sentinel.mod_revision)

    @property
    def kind(self) -> str:
        return self.proc.kind

    @property
    def port(self) -> int:
        return self.proc.client_port

    def _write_sentinel(self) -> kv_pb2.KeyValue:
        self.kv.Put(pb.PutRequest(key=SENTINEL_KEY, value=SENTINEL_VALUE), timeout=TIMEOUT)
        (kv,) = self.kv.Range(pb.RangeRequest(key=SENTINEL_KEY), timeout=TIMEOUT).kvs
        return kv

    def hash_at(self, revision: int) -> int:
        return int(self.maintenance.HashKV(pb.HashKVRequest(revision=revision), timeout=TIMEOUT).hash)

    def snapshot(self) -> Snapshot:
        r = self.maintenance.HashKV(pb.HashKVRequest(), timeout=TIMEOUT)
        return Snapshot(r.header.revision, r.hash, r.compact_revision)

    def revision(self) -> int:
        return int(self.maintenance.Status(pb.StatusRequest(), timeout=TIMEOUT).header.revision)

    def assert_intact(self, *, current: bool = True, history: bool = True) -> None:
        """The process runs and serves; `current`: the sentinel reads back unchanged (for tests that
        may not write it); `history`: it reads back at its revision, with the HashKV up to it
        unchanged (valid until a compaction passes that revision)."""
        proc = self.proc.proc
        assert proc is not None and proc.poll() is None, f"{self.kind} died:\n{self.proc.log_tail()}"
        self.revision()
        if current:
            (now,) = self.kv.Range(pb.RangeRequest(key=SENTINEL_KEY), timeout=TIMEOUT).kvs
            assert now == self.sentinel, f"{self.kind}: sentinel changed to {now}"
        if history:
            at = self.kv.Range(
                pb.RangeRequest(key=SENTINEL_KEY, revision=self.sentinel.mod_revision), timeout=TIMEOUT
            ).kvs
            assert list(at) == [self.sentinel], f"{self.kind}: sentinel history changed"
            assert self.hash_at(self.sentinel.mod_revision) == self.sentinel_hash, (
                f"{self.kind}: HashKV changed"
            )

    def close(self) -> None:
        self.channel.close()


@dataclasses.dataclass
class Pair:
    ref: Server
    ours: Server

    def assert_intact(self, *, history: bool = True) -> None:
        """Both survive, and hold the same data: equal revision and HashKV."""
        self.ref.assert_intact(history=history)
        self.ours.assert_intact(history=history)
        assert self.ours.snapshot() == self.ref.snapshot(), "etcd-py's store diverged from the reference's"


@contextlib.contextmanager
def server(kind: str, tmp: Path, *extra_args: str) -> Iterator[Server]:
    with running(kind, tmp, extra_args=list(extra_args)) as proc:
        s = Server(proc)
        try:
            yield s
        finally:
            s.close()


@contextlib.contextmanager
def pair(tmp: Path, *extra_args: str) -> Iterator[Pair]:
    """Reference etcd and etcd-py with the same flags, each holding the sentinel."""
    with server("reference", tmp, *extra_args) as ref, server("etcdpy", tmp, *extra_args) as ours:
        yield Pair(ref, ours)
