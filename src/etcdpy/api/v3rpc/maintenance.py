"""The Maintenance service: status, hashes, snapshot, defragmentation, alarms."""

from __future__ import annotations

from collections.abc import AsyncIterator

from etcdpy.api.pb.etcdserverpb import rpc_pb2, rpc_pb2_grpc
from etcdpy.api.v3rpc.status import Context, unary
from etcdpy.api.v3rpc.unimplemented import unimplemented
from etcdpy.server.server import EtcdServer

_Base = unimplemented(rpc_pb2_grpc.MaintenanceServicer, "Maintenance")


class MaintenanceService(_Base):  # type: ignore[misc,valid-type]
    def __init__(self, server: EtcdServer) -> None:
        self._server = server

    @unary
    async def MoveLeader(self, request: rpc_pb2.MoveLeaderRequest, context: Context
                         ) -> rpc_pb2.MoveLeaderResponse:
        await self._server.move_leader(request.targetID)
        return rpc_pb2.MoveLeaderResponse(header=self._server.header())

    @unary
    async def Status(self, request: rpc_pb2.StatusRequest, context: Context
                     ) -> rpc_pb2.StatusResponse:
        return self._server.status()

    @unary
    async def Alarm(self, request: rpc_pb2.AlarmRequest, context: Context
                    ) -> rpc_pb2.AlarmResponse:
        return await self._server.alarm(request)

    @unary
    async def HashKV(self, request: rpc_pb2.HashKVRequest, context: Context
                     ) -> rpc_pb2.HashKVResponse:
        return await self._server.hash_kv(request.revision)

    @unary
    async def Hash(self, request: rpc_pb2.HashRequest, context: Context
                   ) -> rpc_pb2.HashResponse:
        return await self._server.hash()

    @unary
    async def Defragment(self, request: rpc_pb2.DefragmentRequest, context: Context
                         ) -> rpc_pb2.DefragmentResponse:
        await self._server.defragment()
        return rpc_pb2.DefragmentResponse(header=self._server.header())

    async def Snapshot(self, request: rpc_pb2.SnapshotRequest, context: Context
                       ) -> AsyncIterator[rpc_pb2.SnapshotResponse]:
        async for resp in self._server.snapshot():
            yield resp
