"""The KV service: validate, hand to the server, map errors."""

from __future__ import annotations

from etcdpy.api.pb.etcdserverpb import rpc_pb2, rpc_pb2_grpc
from etcdpy.api.v3rpc import validate
from etcdpy.api.v3rpc.status import Context, unary
from etcdpy.server.server import EtcdServer


class KVService(rpc_pb2_grpc.KVServicer):
    def __init__(self, server: EtcdServer) -> None:
        self._server = server

    @unary
    async def Range(self, request: rpc_pb2.RangeRequest, context: Context
                    ) -> rpc_pb2.RangeResponse:
        validate.check_range(request)
        return await self._server.range(request)

    @unary
    async def Put(self, request: rpc_pb2.PutRequest, context: Context
                  ) -> rpc_pb2.PutResponse:
        validate.check_put(request)
        return await self._server.put(request)

    @unary
    async def DeleteRange(self, request: rpc_pb2.DeleteRangeRequest, context: Context
                          ) -> rpc_pb2.DeleteRangeResponse:
        validate.check_delete_range(request)
        return await self._server.delete_range(request)

    @unary
    async def Txn(self, request: rpc_pb2.TxnRequest, context: Context
                  ) -> rpc_pb2.TxnResponse:
        validate.check_txn(request, self._server.cfg.max_txn_ops)
        return await self._server.txn(request)

    @unary
    async def Compact(self, request: rpc_pb2.CompactionRequest, context: Context
                      ) -> rpc_pb2.CompactionResponse:
        return await self._server.compact(request)
