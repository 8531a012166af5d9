"""The Cluster service: membership, listed and changed through raft."""

from __future__ import annotations

from etcdpy.api.pb.etcdserverpb import rpc_pb2, rpc_pb2_grpc
from etcdpy.api.v3rpc.status import Context, unary
from etcdpy.server.server import EtcdServer


class ClusterService(rpc_pb2_grpc.ClusterServicer):
    def __init__(self, server: EtcdServer) -> None:
        self._server = server

    def _header(self) -> rpc_pb2.ResponseHeader:
        header = self._server.header()
        header.ClearField("revision")  # etcd's cluster service answers without a revision
        return header

    @unary
    async def MemberAdd(self, request: rpc_pb2.MemberAddRequest, context: Context
                        ) -> rpc_pb2.MemberAddResponse:
        await self._server.check_admin()
        member = await self._server.member_add(list(request.peerURLs), request.isLearner)
        return rpc_pb2.MemberAddResponse(header=self._header(), member=member, members=self._server.members())

    @unary
    async def MemberRemove(self, request: rpc_pb2.MemberRemoveRequest, context: Context
                           ) -> rpc_pb2.MemberRemoveResponse:
        await self._server.check_admin()
        await self._server.member_remove(request.ID)
        return rpc_pb2.MemberRemoveResponse(header=self._header(), members=self._server.members())

    @unary
    async def MemberUpdate(self, request: rpc_pb2.MemberUpdateRequest, context: Context
                           ) -> rpc_pb2.MemberUpdateResponse:
        await self._server.check_admin()
        await self._server.member_update(request.ID, list(request.peerURLs))
        return rpc_pb2.MemberUpdateResponse(header=self._header(), members=self._server.members())

    @unary
    async def MemberList(self, request: rpc_pb2.MemberListRequest, context: Context
                         ) -> rpc_pb2.MemberListResponse:
        if request.linearizable:
            await self._server.linearizable()
        return rpc_pb2.MemberListResponse(header=self._header(), members=self._server.members())

    @unary
    async def MemberPromote(self, request: rpc_pb2.MemberPromoteRequest, context: Context
                            ) -> rpc_pb2.MemberPromoteResponse:
        await self._server.check_admin()
        await self._server.member_promote(request.ID)
        return rpc_pb2.MemberPromoteResponse(header=self._header(), members=self._server.members())
