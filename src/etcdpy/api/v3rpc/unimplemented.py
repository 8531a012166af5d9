"""Services registered before they are built: every method answers UNIMPLEMENTED, never a fake success."""

from __future__ import annotations

import inspect
from typing import Any

import grpc

from etcdpy.api.v3rpc.status import Context


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
