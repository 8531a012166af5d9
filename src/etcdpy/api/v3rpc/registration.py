"""Adding the services to the grpc.aio server as generic handlers only.

The generated `add_*Servicer_to_server` functions register every method twice: as a generic
handler and as a grpc "registered method". In grpcio 1.85's aio server each registered method
adds to the cost of every call the server takes, whatever its method (measured with etcd's
`benchmark range` at 1000 clients: about 1 us of the serving thread per call for each registered
method; etcd's services have some 50 methods, a tenth of the cost of a whole serializable Range).
Generic handlers are looked up by service name prefix, in the order they were added.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar, cast

import grpc

if TYPE_CHECKING:
    GenericHandler = grpc.GenericRpcHandler[Any, Any]
S = TypeVar("S")


class _GenericOnly:
    """Stands in for the server in a generated `add_*Servicer_to_server`: keeps the generic
    handlers, drops the registered methods."""

    def __init__(self) -> None:
        self.handlers: list[GenericHandler] = []

    def add_generic_rpc_handlers(self, handlers: Sequence[GenericHandler]) -> None:
        self.handlers.extend(handlers)

    def add_registered_method_handlers(self, service_name: str, method_handlers: dict[str, Any]) -> None:
        pass


def generic_handlers(add: Callable[[S, grpc.aio.Server], None], servicer: S) -> list[GenericHandler]:
    """The generic handlers a generated `add_*Servicer_to_server` would add for `servicer`."""
    stand_in = _GenericOnly()
    add(servicer, cast(grpc.aio.Server, stand_in))
    return stand_in.handlers
