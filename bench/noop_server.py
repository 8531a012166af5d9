"""A do-nothing etcd: grpcio servicers of KV Range/Put/DeleteRange/Txn that answer at once.

The ceiling any single Python process on grpcio can reach for these RPCs; the
benchmark compares the real server against it. DeleteRange exists only so that
`etcdctl check perf` (which deletes its prefix at the end) can run against it.

The aio server also serves the least that the watch and lease workloads need:
Watch hands every Put to the watchers of exactly its key (no ranges, no history,
one constant revision), LeaseGrant grants whatever is asked, and LeaseKeepAlive
answers every renewal with a fixed TTL, storing nothing (the other Lease RPCs
answer as if every lease existed with that TTL).

Two variants bound what etcd-py's own work costs and what its transport costs:
--client-port serves gRPC on a private unix socket behind etcd-py's client port
process (`etcdpy.api.gateway.process`), exactly as the etcd command does, so the
cost of sharing one port between gRPC and the JSON gateway shows on its own;
--fsync DIR makes every Put write 300 bytes to a preallocated file in DIR and
fdatasync it, the least a durable write costs.

usage:
    python bench/noop_server.py [--listen 127.0.0.1:23790] [--mode aio|sync] [--client-port] [--fsync DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator
from concurrent import futures

import grpc
import grpc.aio

from etcdpy.api.pb.etcdserverpb import rpc_pb2, rpc_pb2_grpc
from etcdpy.api.pb.mvccpb import kv_pb2

_HEADER = rpc_pb2.ResponseHeader(cluster_id=1, member_id=1, revision=1, raft_term=2)
_LEASE_TTL = 60


class NoopKV(rpc_pb2_grpc.KVServicer):
    def Range(self, request: rpc_pb2.RangeRequest, context: grpc.ServicerContext) -> rpc_pb2.RangeResponse:
        return rpc_pb2.RangeResponse(header=_HEADER)

    def Put(self, request: rpc_pb2.PutRequest, context: grpc.ServicerContext) -> rpc_pb2.PutResponse:
        return rpc_pb2.PutResponse(header=_HEADER)

    def DeleteRange(
        self, request: rpc_pb2.DeleteRangeRequest, context: grpc.ServicerContext
    ) -> rpc_pb2.DeleteRangeResponse:
        return rpc_pb2.DeleteRangeResponse(header=_HEADER)

    def Txn(self, request: rpc_pb2.TxnRequest, context: grpc.ServicerContext) -> rpc_pb2.TxnResponse:
        return rpc_pb2.TxnResponse(header=_HEADER, succeeded=True)

    def Compact(
        self, request: rpc_pb2.CompactionRequest, context: grpc.ServicerContext
    ) -> rpc_pb2.CompactionResponse:
        return rpc_pb2.CompactionResponse(header=_HEADER)


class _SyncedFile:
    """Durable appends: each one pwrites and fdatasyncs, in a preallocated file (as the WAL writes)."""

    SIZE = 256 * 1024 * 1024

    def __init__(self, directory: str) -> None:
        self._fd = os.open(os.path.join(directory, "noop.sync"), os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.ftruncate(self._fd, self.SIZE)
        os.fsync(self._fd)
        self._offset = 0

    def append(self, data: bytes) -> None:
        if self._offset + len(data) > self.SIZE:
            self._offset = 0
        os.pwrite(self._fd, data, self._offset)
        self._offset += len(data)
        os.fdatasync(self._fd)


# A watch stream's outgoing responses.
_Outbox = asyncio.Queue[rpc_pb2.WatchResponse]


class _Watchers:
    """Who watches which key: key -> {(stream outbox, watch id)}."""

    def __init__(self) -> None:
        self._by_key: dict[bytes, set[tuple[_Outbox, int]]] = {}

    def add(self, key: bytes, outbox: _Outbox, watch_id: int) -> None:
        self._by_key.setdefault(key, set()).add((outbox, watch_id))

    def remove(self, key: bytes, outbox: _Outbox, watch_id: int) -> None:
        watchers = self._by_key.get(key)
        if watchers is not None:
            watchers.discard((outbox, watch_id))
            if not watchers:
                del self._by_key[key]

    def publish(self, key: bytes, value: bytes) -> None:
        watchers = self._by_key.get(key)
        if not watchers:
            return
        event = kv_pb2.Event(
            type=kv_pb2.Event.PUT,
            kv=kv_pb2.KeyValue(key=key, value=value, create_revision=1, mod_revision=1, version=1),
        )
        for outbox, watch_id in watchers:
            outbox.put_nowait(rpc_pb2.WatchResponse(header=_HEADER, watch_id=watch_id, events=[event]))


class AsyncNoopWatch(rpc_pb2_grpc.WatchServicer):
    def __init__(self, watchers: _Watchers) -> None:
        self._watchers = watchers

    async def Watch(
        self,
        request_iterator: AsyncIterator[rpc_pb2.WatchRequest],
        context: grpc.aio.ServicerContext[object, object],
    ) -> AsyncIterator[rpc_pb2.WatchResponse]:
        outbox: _Outbox = asyncio.Queue()
        keys: dict[int, bytes] = {}  # this stream's watches: watch id -> key

        async def read() -> None:
            ids = itertools.count()
            async for request in request_iterator:
                if request.HasField("create_request"):
                    watch_id = next(ids)
                    keys[watch_id] = request.create_request.key
                    self._watchers.add(request.create_request.key, outbox, watch_id)
                    outbox.put_nowait(rpc_pb2.WatchResponse(header=_HEADER, watch_id=watch_id, created=True))
                elif request.HasField("cancel_request"):
                    watch_id = request.cancel_request.watch_id
                    key = keys.pop(watch_id, None)
                    if key is not None:
                        self._watchers.remove(key, outbox, watch_id)
                    outbox.put_nowait(rpc_pb2.WatchResponse(header=_HEADER, watch_id=watch_id, canceled=True))

        reader = asyncio.ensure_future(read())
        try:
            # As etcd, the stream stays open after the client stops sending, until it cancels.
            while True:
                yield await outbox.get()
        finally:
            reader.cancel()
            for watch_id, key in keys.items():
                self._watchers.remove(key, outbox, watch_id)


class AsyncNoopLease(rpc_pb2_grpc.LeaseServicer):
    def __init__(self) -> None:
        self._ids = itertools.count(1)

    async def LeaseGrant(
        self, request: rpc_pb2.LeaseGrantRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> rpc_pb2.LeaseGrantResponse:
        return rpc_pb2.LeaseGrantResponse(header=_HEADER, ID=request.ID or next(self._ids), TTL=request.TTL)

    async def LeaseKeepAlive(
        self,
        request_iterator: AsyncIterator[rpc_pb2.LeaseKeepAliveRequest],
        context: grpc.aio.ServicerContext[object, object],
    ) -> AsyncIterator[rpc_pb2.LeaseKeepAliveResponse]:
        async for request in request_iterator:
            yield rpc_pb2.LeaseKeepAliveResponse(header=_HEADER, ID=request.ID, TTL=_LEASE_TTL)

    async def LeaseRevoke(
        self, request: rpc_pb2.LeaseRevokeRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> rpc_pb2.LeaseRevokeResponse:
        return rpc_pb2.LeaseRevokeResponse(header=_HEADER)

    async def LeaseTimeToLive(
        self, request: rpc_pb2.LeaseTimeToLiveRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> rpc_pb2.LeaseTimeToLiveResponse:
        return rpc_pb2.LeaseTimeToLiveResponse(
            header=_HEADER, ID=request.ID, TTL=_LEASE_TTL, grantedTTL=_LEASE_TTL
        )

    async def LeaseLeases(
        self, request: rpc_pb2.LeaseLeasesRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> rpc_pb2.LeaseLeasesResponse:
        return rpc_pb2.LeaseLeasesResponse(header=_HEADER)


class AsyncNoopKV(rpc_pb2_grpc.KVServicer):
    def __init__(self, watchers: _Watchers, synced: _SyncedFile | None = None) -> None:
        self._watchers = watchers
        self._synced = synced

    async def Range(
        self, request: rpc_pb2.RangeRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> rpc_pb2.RangeResponse:
        return rpc_pb2.RangeResponse(header=_HEADER)

    async def Put(
        self, request: rpc_pb2.PutRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> rpc_pb2.PutResponse:
        if self._synced is not None:
            self._synced.append(b"\0" * 300)
        self._watchers.publish(request.key, request.value)
        return rpc_pb2.PutResponse(header=_HEADER)

    async def DeleteRange(
        self, request: rpc_pb2.DeleteRangeRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> rpc_pb2.DeleteRangeResponse:
        return rpc_pb2.DeleteRangeResponse(header=_HEADER)

    async def Txn(
        self, request: rpc_pb2.TxnRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> rpc_pb2.TxnResponse:
        return rpc_pb2.TxnResponse(header=_HEADER, succeeded=True)

    async def Compact(
        self, request: rpc_pb2.CompactionRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> rpc_pb2.CompactionResponse:
        return rpc_pb2.CompactionResponse(header=_HEADER)


async def _serve_aio(addr: str, client_port: bool, fsync_dir: str | None) -> None:
    server = grpc.aio.server()
    synced = _SyncedFile(fsync_dir) if fsync_dir else None
    watchers = _Watchers()
    rpc_pb2_grpc.add_KVServicer_to_server(AsyncNoopKV(watchers, synced), server)
    rpc_pb2_grpc.add_WatchServicer_to_server(AsyncNoopWatch(watchers), server)
    rpc_pb2_grpc.add_LeaseServicer_to_server(AsyncNoopLease(), server)
    if not client_port:
        server.add_insecure_port(addr)
        await server.start()
        await server.wait_for_termination()
        return
    from etcdpy.api.gateway.process import ClientPortProcess
    from etcdpy.pkg.netutil import bind

    sock_dir = tempfile.mkdtemp(prefix="noop-")
    try:
        target = f"unix:{sock_dir}/grpc.sock"
        server.add_insecure_port(target)
        await server.start()
        host, _, port = addr.rpartition(":")
        sockets: list[socket.socket] = bind(host, int(port))
        front = ClientPortProcess(
            sockets, target, max_request_bytes=1572864, cors="*", log_outputs=["stderr"], log_level="warn"
        )
        await front.start()
        await front.wait_failed()
    finally:
        shutil.rmtree(sock_dir, ignore_errors=True)


def _serve_sync(addr: str) -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    rpc_pb2_grpc.add_KVServicer_to_server(NoopKV(), server)
    server.add_insecure_port(addr)
    server.start()
    server.wait_for_termination()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--listen", default="127.0.0.1:23790")
    p.add_argument("--mode", choices=["aio", "sync"], default="aio")
    p.add_argument("--client-port", action="store_true", help="serve behind etcd-py's client port process")
    p.add_argument("--fsync", metavar="DIR", help="fdatasync a 300-byte write per Put, in DIR")
    args = p.parse_args()
    if args.mode == "sync":
        if args.client_port or args.fsync:
            p.error("--client-port and --fsync need --mode aio")
        _serve_sync(args.listen)
        return
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(_serve_aio(args.listen, args.client_port, args.fsync))


if __name__ == "__main__":
    main()
