"""What every unary handler goes through: etcd's learner rule, and etcd errors turned into gRPC
statuses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar

import grpc

from etcdpy.api import errors
from etcdpy.api.pb.etcdserverpb import rpc_pb2
from etcdpy.api.v3rpc.credentials import serve_as_caller

Req = TypeVar("Req")
Resp = TypeVar("Resp")
Context = grpc.aio.ServicerContext[Any, Any]
Handler = Callable[[Any, Req, Context], Awaitable[Resp]]


def _learner_may_serve(request: object) -> bool:
    """etcd's isRPCSupportedForLearner: a learner answers Status and serializable Range only."""
    if isinstance(request, rpc_pb2.RangeRequest):
        return request.serializable
    return isinstance(request, rpc_pb2.StatusRequest)


def unary(handler: Handler[Req, Resp]) -> Handler[Req, Resp]:
    """Wrap a unary handler of a service whose `_server` is the member: a learner refuses what
    etcd's learners refuse, and an EtcdError becomes its gRPC code and etcd's message."""

    @wraps(handler)
    async def wrapped(self: Any, request: Req, context: Context) -> Resp:
        serve_as_caller(context)
        try:
            if self._server.member.is_learner and not _learner_may_serve(request):
                raise errors.NOT_SUPPORTED_FOR_LEARNER
            return await handler(self, request, context)
        except errors.EtcdError as e:
            await context.abort(e.code, e.message)
            raise AssertionError("unreachable") from None

    return wrapped
