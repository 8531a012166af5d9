"""The client port: one TCP listener for both gRPC and the JSON gateway.

Each connection's first bytes decide its fate. The HTTP/2 client preface
means gRPC: the connection is relayed byte for byte to the gRPC server's own
socket. Anything else is HTTP/1.1, served here; the gateway reaches the
server as a gRPC client over one shared channel to that same socket.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Iterable, Mapping
from typing import Final, cast

import grpc

from etcdpy.api.gateway.app import ClientHttpApp
from etcdpy.api.gateway.gateway import Gateway
from etcdpy.api.gateway.health import HealthCheck
from etcdpy.api.gateway.http1 import Http1Connection
from etcdpy.api.gateway.httptypes import Handler
from etcdpy.api.gateway.metrics import MetricsRoute
from etcdpy.api.gateway.relay import relay
from etcdpy.api.gateway.upstream import parse_target

log = logging.getLogger(__name__)

H2_PREFACE: Final = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DEFAULT_MAX_REQUEST_BYTES: Final = 1572864
_CHANNEL_OPTIONS: Final = (
    ("grpc.max_send_message_length", -1),
    ("grpc.max_receive_message_length", -1),
)


class ClientListener:
    """Serves gRPC and the JSON gateway on `host:port` in front of the gRPC
    server at `grpc_upstream` (a gRPC target: `unix:/path`, `unix-abstract:name`
    or `host:port`). With `sock`, a bound and listening socket, it serves there
    instead of binding `host:port` itself. `extra_routes` maps further HTTP paths
    to handlers; `cors_origins` is etcd's --cors list (empty or "*": any origin)."""

    def __init__(
        self,
        host: str,
        port: int,
        grpc_upstream: str,
        *,
        sock: socket.socket | None = None,
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
        extra_routes: Mapping[str, Handler] | None = None,
        cors_origins: Iterable[str] = ("*",),
    ) -> None:
        self.host = host
        self.port = port
        self._target = grpc_upstream
        self._sock = sock
        self._upstream = parse_target(grpc_upstream)
        self._max_request_bytes = max_request_bytes
        self._extra_routes = dict(extra_routes or {})
        self._cors_origins = tuple(cors_origins)
        self._server: asyncio.Server | None = None
        self._channel: grpc.aio.Channel | None = None
        self._app: ClientHttpApp | None = None
        self._connections: set[asyncio.Transport] = set()
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        """Bind and serve; afterwards `port` is the bound port."""
        self._channel = grpc.aio.insecure_channel(self._target, options=_CHANNEL_OPTIONS)
        self._app = ClientHttpApp(
            Gateway(self._channel, self._max_request_bytes),
            HealthCheck(self._channel),
            MetricsRoute(self._channel),
            self._extra_routes,
            self._cors_origins,
            self._max_request_bytes,
        )
        loop = asyncio.get_running_loop()
        try:
            if self._sock is not None:
                self._server = await loop.create_server(lambda: _Sniffer(self), sock=self._sock)
            else:
                self._server = await loop.create_server(
                    lambda: _Sniffer(self), self.host, self.port, backlog=1024
                )
        except BaseException:
            await self._channel.close(None)
            raise
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        """Stop listening and close every connection."""
        if self._server is not None:
            self._server.close()
        for transport in list(self._connections):
            transport.close()
        for task in list(self._tasks):
            task.cancel()
        if self._server is not None:
            await self._server.wait_closed()
        if self._channel is not None:
            await self._channel.close(None)

    def _serve_http(self, transport: asyncio.Transport, first_bytes: bytes) -> None:
        assert self._app is not None
        conn = Http1Connection(self._app, lambda _: self._connections.discard(transport))
        transport.set_protocol(conn)
        conn.connection_made(transport)
        conn.data_received(first_bytes)

    def _serve_grpc(self, transport: asyncio.Transport, first_bytes: bytes) -> None:
        connect = relay(transport, first_bytes, self._upstream, lambda: self._connections.discard(transport))
        task = asyncio.get_running_loop().create_task(connect)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


class _Sniffer(asyncio.Protocol):
    """A new connection until its first bytes show which protocol it speaks."""

    def __init__(self, listener: ClientListener) -> None:
        self._listener = listener
        self._transport: asyncio.Transport | None = None
        self._buf = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses
        self._listener._connections.add(self._transport)

    def data_received(self, data: bytes) -> None:
        assert self._transport is not None
        self._buf += data
        seen = min(len(self._buf), len(H2_PREFACE))
        if self._buf[:seen] != H2_PREFACE[:seen]:
            self._listener._serve_http(self._transport, self._buf)
        elif seen == len(H2_PREFACE):
            self._listener._serve_grpc(self._transport, self._buf)

    def eof_received(self) -> bool:
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if self._transport is not None:
            self._listener._connections.discard(self._transport)
