"""The Lock service (v3lockpb): distributed locks held by leases, as etcd's v3lock server."""

from __future__ import annotations

from etcdpy.api.pb.v3lockpb import v3lock_pb2, v3lock_pb2_grpc
from etcdpy.api.v3rpc.local_kv import ValidatedKV, unary_as_client
from etcdpy.api.v3rpc.status import Context
from etcdpy.server.concurrency import mutex
from etcdpy.server.server import EtcdServer


class LockService(v3lock_pb2_grpc.LockServicer):
    def __init__(self, server: EtcdServer) -> None:
        self._server = server
        self._kv = ValidatedKV(server)

    @unary_as_client
    async def Lock(self, request: v3lock_pb2.LockRequest, context: Context) -> v3lock_pb2.LockResponse:
        return await mutex.lock(self._kv, self._server.watchable, request.name, request.lease)

    @unary_as_client
    async def Unlock(self, request: v3lock_pb2.UnlockRequest, context: Context) -> v3lock_pb2.UnlockResponse:
        return await mutex.unlock(self._kv, request.key)
