"""The Lease service: hand to the server, map errors (a missing lease is not an error everywhere)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from etcdpy.api import errors
from etcdpy.api.pb.etcdserverpb import rpc_pb2, rpc_pb2_grpc
from etcdpy.api.v3rpc.credentials import serve_as_caller
from etcdpy.api.v3rpc.status import Context, unary
from etcdpy.server.server import EtcdServer


class LeaseService(rpc_pb2_grpc.LeaseServicer):
    def __init__(self, server: EtcdServer) -> None:
        self._server = server

    @unary
    async def LeaseGrant(
        self, request: rpc_pb2.LeaseGrantRequest, context: Context
    ) -> rpc_pb2.LeaseGrantResponse:
        return await self._server.lease_grant(request)

    @unary
    async def LeaseRevoke(
        self, request: rpc_pb2.LeaseRevokeRequest, context: Context
    ) -> rpc_pb2.LeaseRevokeResponse:
        return await self._server.lease_revoke(request)

    @unary
    async def LeaseTimeToLive(
        self, request: rpc_pb2.LeaseTimeToLiveRequest, context: Context
    ) -> rpc_pb2.LeaseTimeToLiveResponse:
        try:
            return await self._server.lease_time_to_live(request)
        except errors.EtcdError as e:
            if e != errors.LEASE_NOT_FOUND:
                raise
        return rpc_pb2.LeaseTimeToLiveResponse(header=self._server.header(), ID=request.ID, TTL=-1)

    @unary
    async def LeaseLeases(
        self, request: rpc_pb2.LeaseLeasesRequest, context: Context
    ) -> rpc_pb2.LeaseLeasesResponse:
        return self._server.lease_leases()

    async def LeaseKeepAlive(
        self, request_iterator: AsyncIterator[rpc_pb2.LeaseKeepAliveRequest], context: Context
    ) -> AsyncIterator[rpc_pb2.LeaseKeepAliveResponse]:
        """One response per request, in order; TTL 0 for a lease that does not exist (any more)."""
        serve_as_caller(context)
        async for req in request_iterator:
            # The header is taken before the renewal: a client never sees a successful
            # keep-alive at a revision after the lease's revocation.
            resp = rpc_pb2.LeaseKeepAliveResponse(header=self._server.header(), ID=req.ID)
            try:
                resp.TTL = await self._server.lease_renew(req.ID)
            except errors.EtcdError as e:
                if e != errors.LEASE_NOT_FOUND:
                    await context.abort(e.code, e.message)
            yield resp
