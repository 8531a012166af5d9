"""A do-nothing etcd: grpcio servicers of KV Range/Put/Txn that answer at once.

The ceiling any single Python process on grpcio can reach for these RPCs; the
benchmark compares the real server against it. usage:
    python bench/noop_server.py [--listen 127.0.0.1:23790] [--mode aio|sync]
"""

from __future__ import annotations

import argparse
import asyncio
from concurrent import futures

import grpc

from etcdpy.api.pb.etcdserverpb import rpc_pb2, rpc_pb2_grpc

_HEADER = rpc_pb2.ResponseHeader(cluster_id=1, member_id=1, revision=1, raft_term=2)


class NoopKV(rpc_pb2_grpc.KVServicer):
    def Range(self, request, context):  # type: ignore[no-untyped-def]
        return rpc_pb2.RangeResponse(header=_HEADER)

    def Put(self, request, context):  # type: ignore[no-untyped-def]
        return rpc_pb2.PutResponse(header=_HEADER)

    def Txn(self, request, context):  # type: ignore[no-untyped-def]
        return rpc_pb2.TxnResponse(header=_HEADER, succeeded=True)


class AsyncNoopKV(rpc_pb2_grpc.KVServicer):
    async def Range(self, request, context):  # type: ignore[no-untyped-def]
        return rpc_pb2.RangeResponse(header=_HEADER)

    async def Put(self, request, context):  # type: ignore[no-untyped-def]
        return rpc_pb2.PutResponse(header=_HEADER)

    async def Txn(self, request, context):  # type: ignore[no-untyped-def]
        return rpc_pb2.TxnResponse(header=_HEADER, succeeded=True)


async def _serve_aio(addr: str) -> None:
    server = grpc.aio.server()
    rpc_pb2_grpc.add_KVServicer_to_server(AsyncNoopKV(), server)
    server.add_insecure_port(addr)
    await server.start()
    await server.wait_for_termination()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--listen", default="127.0.0.1:23790")
    p.add_argument("--mode", choices=["aio", "sync"], default="aio")
    args = p.parse_args()
    if args.mode == "aio":
        try:
            import uvloop

            uvloop.install()
        except ImportError:
            pass
        asyncio.run(_serve_aio(args.listen))
    else:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=16))
        rpc_pb2_grpc.add_KVServicer_to_server(NoopKV(), server)
        server.add_insecure_port(args.listen)
        server.start()
        server.wait_for_termination()


if __name__ == "__main__":
    main()
