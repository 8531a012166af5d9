"""The Maintenance service: status, hashes, snapshot, defragmentation, alarms."""

from __future__ import annotations

from collections.abc import AsyncIterator

from etcdpy.api import errors
from etcdpy.api.pb.etcdserverpb import rpc_pb2, rpc_pb2_grpc
from etcdpy.api.v3rpc.credentials import serve_as_caller
from etcdpy.api.v3rpc.status import Context, unary
from etcdpy.api.v3rpc.unimplemented import unimplemented
from etcdpy.server.server import EtcdServer

_Base = unimplemented(rpc_pb2_grpc.MaintenanceServicer, "Maintenance")
# etcd's maintenance server returns the auth store's errors as they are, not as etcdserver errors.
_RAW = {errors.USER_EMPTY: errors.AUTH_RAW_USER_EMPTY, errors.USER_NOT_FOUND: errors.AUTH_RAW_USER_NOT_FOUND,
        errors.PERMISSION_DENIED: errors.AUTH_RAW_PERMISSION_DENIED,
        errors.INVALID_AUTH_TOKEN: errors.AUTH_RAW_INVALID_AUTH_TOKEN}


class MaintenanceService(_Base):  # type: ignore[misc,valid-type]
    def __init__(self, server: EtcdServer) -> None:
        self._server = server

    async def _check_admin(self) -> None:
        """Hash, HashKV, Defragment and Snapshot are for root only (while auth is enabled)."""
        try:
            await self._server.check_admin()
        except errors.EtcdError as e:
            raise _RAW.get(e, e) from None

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
        await self._check_admin()
        return await self._server.hash_kv(request.revision)

    @unary
    async def Hash(self, request: rpc_pb2.HashRequest, context: Context
                   ) -> rpc_pb2.HashResponse:
        await self._check_admin()
        return await self._server.hash()

    @unary
    async def Defragment(self, request: rpc_pb2.DefragmentRequest, context: Context
                         ) -> rpc_pb2.DefragmentResponse:
        await self._check_admin()
        await self._server.defragment()
        return rpc_pb2.DefragmentResponse(header=self._server.header())

    async def Snapshot(self, request: rpc_pb2.SnapshotRequest, context: Context
                       ) -> AsyncIterator[rpc_pb2.SnapshotResponse]:
        serve_as_caller(context)
        try:
            await self._check_admin()
        except errors.EtcdError as e:
            await context.abort(e.code, e.message)
        async for resp in self._server.snapshot():
            yield resp
