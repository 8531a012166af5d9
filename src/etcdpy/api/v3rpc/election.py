"""The Election service (v3electionpb): leader election on leases, as etcd's v3election server."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import grpc

from etcdpy.api import errors
from etcdpy.api.pb.etcdserverpb import rpc_pb2
from etcdpy.api.pb.v3electionpb import v3election_pb2 as epb
from etcdpy.api.pb.v3electionpb import v3election_pb2_grpc
from etcdpy.api.v3rpc.credentials import serve_as_caller
from etcdpy.api.v3rpc.local_kv import ValidatedKV, unary_as_client
from etcdpy.api.v3rpc.status import Context
from etcdpy.server.concurrency import election
from etcdpy.server.server import EtcdServer

MISSING_LEADER_KEY = errors.EtcdError('"leader" field must be provided', grpc.StatusCode.UNKNOWN)


class ElectionService(v3election_pb2_grpc.ElectionServicer):
    def __init__(self, server: EtcdServer) -> None:
        self._server = server
        self._kv = ValidatedKV(server)

    @unary_as_client
    async def Campaign(self, request: epb.CampaignRequest, context: Context) -> epb.CampaignResponse:
        return await election.campaign(
            self._kv, self._server.watchable, request.name, request.lease, request.value
        )

    @unary_as_client
    async def Proclaim(self, request: epb.ProclaimRequest, context: Context) -> epb.ProclaimResponse:
        if not request.HasField("leader"):
            raise MISSING_LEADER_KEY
        return await election.proclaim(self._kv, request.leader, request.value)

    @unary_as_client
    async def Leader(self, request: epb.LeaderRequest, context: Context) -> epb.LeaderResponse:
        return await election.leader(self._kv, request.name)

    async def Observe(
        self, request: epb.LeaderRequest, context: Context
    ) -> AsyncIterator[epb.LeaderResponse]:
        serve_as_caller(context)
        updates = election.observe(self._kv, self._server.watchable, request.name, self._header_at)
        try:
            async with contextlib.aclosing(updates):
                async for resp in updates:
                    yield resp
        except errors.EtcdError:
            return  # as etcd: an error of its reads (e.g. permission denied) ends the stream cleanly

    @unary_as_client
    async def Resign(self, request: epb.ResignRequest, context: Context) -> epb.ResignResponse:
        if not request.HasField("leader"):
            raise MISSING_LEADER_KEY
        return await election.resign(self._kv, request.leader)

    def _header_at(self, rev: int) -> rpc_pb2.ResponseHeader:
        header = self._server.header()
        header.revision = rev
        return header
