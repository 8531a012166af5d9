"""The client port: one TCP listener for both gRPC and the JSON gateway.

Each connection's first bytes decide its fate. The HTTP/2 client preface
means gRPC: the connection is relayed byte for byte to the gRPC server's own
socket. Anything else is HTTP/1.1, served here; the gateway reaches the
server as a gRPC client over one shared channel to that same socket.

With an SSL context the listener ends TLS first and routes the decrypted
stream the same way. A gRPC connection whose client certificate was verified
and names a CN has that CN added to each request (see `h2inject` and
`etcdpy.api.v3rpc.tls_identity`).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
from collections.abc import Iterable, Mapping
from typing import Final, cast

import grpc

from etcdpy.api.gateway.app import ClientHttpApp
from etcdpy.api.gateway.gateway import Gateway
from etcdpy.api.gateway.h2inject import HeaderInjector, literal_field
from etcdpy.api.gateway.health import HealthCheck
from etcdpy.api.gateway.http1 import Http1Connection
from etcdpy.api.gateway.httptypes import Handler
from etcdpy.api.gateway.metrics import MetricsRoute
from etcdpy.api.gateway.relay import relay
from etcdpy.api.gateway.upstream import parse_target
from etcdpy.api.v3rpc.tls_identity import METADATA_KEY, wire_value
from etcdpy.pkg import netutil, zaplog
from etcdpy.pkg.tlsutil import peer_common_name

log = logging.getLogger(__name__)
zlog = zaplog.get("embed")

H2_PREFACE: Final = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DEFAULT_MAX_REQUEST_BYTES: Final = 1572864
HANDSHAKE_TIMEOUT: Final = 10.0
_CHANNEL_OPTIONS: Final = (
    ("grpc.max_send_message_length", -1),
    ("grpc.max_receive_message_length", -1),
)


class ClientListener:
    """Serves gRPC and the JSON gateway on `host:port` in front of the gRPC
    server at `grpc_upstream` (a gRPC target: `unix:/path`, `unix-abstract:name`
    or `host:port`). With `sock`, a bound and listening socket, it serves there
    instead of binding `host:port` itself. `extra_routes` maps further HTTP paths
    to handlers; `cors_origins` is etcd's --cors list (empty or "*": any origin).
    `ssl_context` serves TLS; `identity_secret` is the member's secret that vouches for
    client certificate CNs (without it, CNs are not passed on)."""

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
        ssl_context: ssl.SSLContext | None = None,
        identity_secret: bytes | None = None,
    ) -> None:
        self.host = host
        self.port = port
        self._target = grpc_upstream
        self._sock = sock
        self._upstream = parse_target(grpc_upstream)
        self._max_request_bytes = max_request_bytes
        self._extra_routes = dict(extra_routes or {})
        self._cors_origins = tuple(cors_origins)
        self._ssl = ssl_context
        self._identity_secret = identity_secret
        self._server: asyncio.Server | None = None
        self._accepting: asyncio.Task[None] | None = None
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
            if self._ssl is not None:
                if self._sock is None:
                    self._sock = socket.create_server((self.host, self.port), backlog=1024)
                self._sock.setblocking(False)
                self._accepting = loop.create_task(self._accept_tls(self._sock, self._ssl))
                self.port = self._sock.getsockname()[1]
                return
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

    async def _accept_tls(self, sock: socket.socket, context: ssl.SSLContext) -> None:
        # An accept loop of our own, for the handshake's outcome: etcd logs every refused one.
        loop = asyncio.get_running_loop()

        def handle(conn: socket.socket, addr: object) -> None:
            task = loop.create_task(self._handshake(conn, addr, context))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        def failed(exc: OSError) -> None:
            zlog.error("failed to accept a client connection", error=str(exc))

        await netutil.accept_forever(sock, handle, failed)

    async def _handshake(self, conn: socket.socket, addr: object, context: ssl.SSLContext) -> None:
        loop = asyncio.get_running_loop()
        try:
            await loop.connect_accepted_socket(
                lambda: _Sniffer(self), conn, ssl=context, ssl_handshake_timeout=HANDSHAKE_TIMEOUT
            )
        except (OSError, TimeoutError) as exc:  # ssl.SSLError is an OSError
            conn.close()
            remote = f"{addr[0]}:{addr[1]}" if isinstance(addr, tuple) else str(addr)
            error = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
            zlog.warning("rejected connection", **{"remote-addr": remote, "server-name": "", "error": error})

    async def close(self) -> None:
        """Stop listening and close every connection."""
        if self._server is not None:
            self._server.close()
        if self._accepting is not None:
            self._accepting.cancel()
            if self._sock is not None:
                self._sock.close()
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
        verified = self._ssl is not None and self._ssl.verify_mode == ssl.CERT_REQUIRED
        cn = peer_common_name(transport.get_extra_info("peercert")) if verified else None
        conn = Http1Connection(self._app, lambda _: self._connections.discard(transport), cn)
        transport.set_protocol(conn)
        conn.connection_made(transport)
        conn.data_received(first_bytes)

    def _serve_grpc(self, transport: asyncio.Transport, first_bytes: bytes) -> None:
        cn = peer_common_name(transport.get_extra_info("peercert")) if self._ssl is not None else None
        rewrite = None
        if cn is not None and self._identity_secret is not None:
            field = literal_field(METADATA_KEY.encode(), wire_value(self._identity_secret, cn))
            rewrite = HeaderInjector(field).feed
        on_lost = lambda: self._connections.discard(transport)  # noqa: E731
        connect = relay(transport, first_bytes, self._upstream, on_lost, rewrite)
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
