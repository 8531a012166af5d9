"""The Cluster service. Membership changes arrive with multi-member clusters."""

from __future__ import annotations

from etcdpy.api.pb.etcdserverpb import rpc_pb2, rpc_pb2_grpc
from etcdpy.api.v3rpc.status import Context, unary
from etcdpy.api.v3rpc.unimplemented import unimplemented
from etcdpy.server.server import EtcdServer

_Base = unimplemented(rpc_pb2_grpc.ClusterServicer, "Cluster")


class ClusterService(_Base):  # type: ignore[misc,valid-type]
    def __init__(self, server: EtcdServer) -> None:
        self._server = server

    @unary
    async def MemberList(self, request: rpc_pb2.MemberListRequest, context: Context
                         ) -> rpc_pb2.MemberListResponse:
        header = self._server.header()
        header.ClearField("revision")  # etcd's cluster service answers without a revision
        return rpc_pb2.MemberListResponse(header=header, members=self._server.members())
