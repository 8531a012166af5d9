"""A do-nothing etcd: grpcio servicers of KV Range/Put/DeleteRange/Txn that answer at once.

The ceiling any single Python process on grpcio can reach for these RPCs; the
benchmark compares the real server against it. DeleteRange exists only so that
`etcdctl check perf` (which deletes its prefix at the end) can run against it.

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
import os
import shutil
import socket
import tempfile
from concurrent import futures

import grpc
import grpc.aio

from etcdpy.api.pb.etcdserverpb import rpc_pb2, rpc_pb2_grpc

_HEADER = rpc_pb2.ResponseHeader(cluster_id=1, member_id=1, revision=1, raft_term=2)


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


class AsyncNoopKV(rpc_pb2_grpc.KVServicer):
    def __init__(self, synced: _SyncedFile | None = None) -> None:
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
    rpc_pb2_grpc.add_KVServicer_to_server(AsyncNoopKV(synced), server)
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
        front = ClientPortProcess(sockets, target, max_request_bytes=1572864, cors="*",
                                  log_outputs=["stderr"], log_level="warn")
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
