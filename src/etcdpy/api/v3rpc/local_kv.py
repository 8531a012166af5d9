"""The KV access of the Lock and Election services, as etcd's in-process client gives it to them.

Requests are checked exactly as the KV service checks a client's. Errors come
back to the Lock and Election clients as etcd's servers return them: every
failure, whatever its usual gRPC code, as UNKNOWN with etcd's message (etcd's
client turns statuses into plain errors, which its servers then return).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any, TypeVar

import grpc

from etcdpy.api import errors
from etcdpy.api.pb.etcdserverpb import rpc_pb2
from etcdpy.api.v3rpc import validate
from etcdpy.api.v3rpc.credentials import serve_as_caller
from etcdpy.api.v3rpc.status import Context
from etcdpy.server.server import EtcdServer

Req = TypeVar("Req")
Resp = TypeVar("Resp")


class ValidatedKV:
    def __init__(self, server: EtcdServer) -> None:
        self._server = server

    async def range(self, req: rpc_pb2.RangeRequest) -> rpc_pb2.RangeResponse:
        validate.check_range(req)
        return await self._server.range(req)

    async def txn(self, req: rpc_pb2.TxnRequest) -> rpc_pb2.TxnResponse:
        validate.check_txn(req, self._server.cfg.max_txn_ops)
        return await self._server.txn(req)

    async def delete_range(self, req: rpc_pb2.DeleteRangeRequest) -> rpc_pb2.DeleteRangeResponse:
        validate.check_delete_range(req)
        return await self._server.delete_range(req)

    async def lease_grant(self, req: rpc_pb2.LeaseGrantRequest) -> rpc_pb2.LeaseGrantResponse:
        return await self._server.lease_grant(req)


def unary_as_client(
    handler: Callable[[Any, Req, Context], Awaitable[Resp]],
) -> Callable[[Any, Req, Context], Awaitable[Resp]]:
    """Wrap a unary handler: an EtcdError becomes UNKNOWN with its message."""

    @wraps(handler)
    async def wrapped(self: Any, request: Req, context: Context) -> Resp:
        serve_as_caller(context)
        try:
            return await handler(self, request, context)
        except errors.EtcdError as e:
            await context.abort(grpc.StatusCode.UNKNOWN, e.message)
            raise AssertionError("unreachable") from None

    return wrapped
