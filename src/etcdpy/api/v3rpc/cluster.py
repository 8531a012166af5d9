"""The Cluster service. Membership changes arrive with multi-member clusters."""

from __future__ import annotations

import grpc

from etcdpy.api.pb.etcdserverpb import rpc_pb2, rpc_pb2_grpc
from etcdpy.api.v3rpc.status import unary
from etcdpy.server.server import EtcdServer


class ClusterService(rpc_pb2_grpc.ClusterServicer):
    def __init__(self, server: EtcdServer) -> None:
        self._server = server

    @unary
    async def MemberList(self, request: rpc_pb2.MemberListRequest, context: grpc.aio.ServicerContext
                         ) -> rpc_pb2.MemberListResponse:
        return rpc_pb2.MemberListResponse(header=self._server.header(), members=self._server.members())
