"""Services registered before they are built: every method answers UNIMPLEMENTED, never a fake success."""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

import grpc

from etcdpy.api.v3rpc.status import Context

if TYPE_CHECKING:
    _GenericHandler = grpc.GenericRpcHandler[bytes, None]
else:  # grpc's classes are generic only in their type stubs
    _GenericHandler = grpc.GenericRpcHandler


def unimplemented(servicer_base: type, service_name: str) -> type:
    """A subclass of `servicer_base` whose every RPC aborts with UNIMPLEMENTED and a clear message.

    Services derive from it and override what they implement.
    """

    def make(method: str) -> Any:
        async def handler(self: Any, request: Any, context: Context) -> Any:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED,
                                f"etcd-py: {service_name}.{method} is not implemented yet")

        return handler

    methods = {name: make(name) for name, fn in inspect.getmembers(servicer_base, inspect.isfunction)
               if name[0].isupper()}
    return type(f"Unimplemented{servicer_base.__name__}", (servicer_base,), methods)


class UnknownMethods(_GenericHandler):
    """Registered last: any method no service claims gets grpc-go's UNIMPLEMENTED text, as etcd gives it."""

    def __init__(self, services: set[str]) -> None:
        self._services = services

    def service(
        self, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler[bytes, None] | None:
        service, _, method = handler_call_details.method.lstrip("/").rpartition("/")
        if service in self._services:
            message = f"unknown method {method} for service {service}"
        else:
            message = f"unknown service {service}"

        async def abort(request: bytes, context: Context) -> None:
            await context.abort(grpc.StatusCode.UNIMPLEMENTED, message)

        return grpc.unary_unary_rpc_method_handler(abort)
