"""Turning etcd errors into gRPC statuses."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar

import grpc

from etcdpy.api import errors

Req = TypeVar("Req")
Resp = TypeVar("Resp")
Context = grpc.aio.ServicerContext[Any, Any]
Handler = Callable[[Any, Req, Context], Awaitable[Resp]]


def unary(handler: Handler[Req, Resp]) -> Handler[Req, Resp]:
    """Wrap a unary handler: an EtcdError becomes its gRPC code and etcd's message."""

    @wraps(handler)
    async def wrapped(self: Any, request: Req, context: Context) -> Resp:
        try:
            return await handler(self, request, context)
        except errors.EtcdError as e:
            await context.abort(e.code, e.message)
            raise AssertionError("unreachable") from None

    return wrapped
