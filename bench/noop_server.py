"""A do-nothing etcd: grpcio servicers of KV Range/Put/DeleteRange/Txn that answer at once.

The ceiling any single Python process on grpcio can reach for these RPCs; the
benchmark compares the real server against it. DeleteRange exists only so that
`etcdctl check perf` (which deletes its prefix at the end) can run against it.
usage:
    python bench/noop_server.py [--listen 127.0.0.1:23790] [--mode aio|sync]
"""

from __future__ import annotations

import argparse
import asyncio
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


class AsyncNoopKV(rpc_pb2_grpc.KVServicer):
    async def Range(
        self, request: rpc_pb2.RangeRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> rpc_pb2.RangeResponse:
        return rpc_pb2.RangeResponse(header=_HEADER)

    async def Put(
        self, request: rpc_pb2.PutRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> rpc_pb2.PutResponse:
        return rpc_pb2.PutResponse(header=_HEADER)

    async def DeleteRange(
        self, request: rpc_pb2.DeleteRangeRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> rpc_pb2.DeleteRangeResponse:
        return rpc_pb2.DeleteRangeResponse(header=_HEADER)

    async def Txn(
        self, request: rpc_pb2.TxnRequest, context: grpc.aio.ServicerContext[object, object]
    ) -> rpc_pb2.TxnResponse:
        return rpc_pb2.TxnResponse(header=_HEADER, succeeded=True)


async def _serve_aio(addr: str) -> None:
    server = grpc.aio.server()
    # The generated *_grpc module carries no type annotations.
    rpc_pb2_grpc.add_KVServicer_to_server(AsyncNoopKV(), server)  # type: ignore[no-untyped-call]
    server.add_insecure_port(addr)
    await server.start()
    await server.wait_for_termination()


def _serve_sync(addr: str) -> None:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
    rpc_pb2_grpc.add_KVServicer_to_server(NoopKV(), server)  # type: ignore[no-untyped-call]
    server.add_insecure_port(addr)
    server.start()
    server.wait_for_termination()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--listen", default="127.0.0.1:23790")
    p.add_argument("--mode", choices=["aio", "sync"], default="aio")
    args = p.parse_args()
    if args.mode == "sync":
        _serve_sync(args.listen)
        return
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(_serve_aio(args.listen))


if __name__ == "__main__":
    main()
