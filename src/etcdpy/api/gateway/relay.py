"""Byte-for-byte relay of a client's HTTP/2 (gRPC) connection to the gRPC server's socket.

Two `Pipe` protocols, one per socket, each writing what it receives to the
other socket. Flow control: when a socket's send buffer passes its high-water
mark, reading from the opposite socket pauses until it drains. A half-close
(EOF) is passed on as a half-close; the pair is closed once both directions
have ended, and the loss of either socket closes the other (aborting it if
the loss was an error). A rewriting function may stand between the client and the
server (`RewritingPipe`), e.g. to add a header field to every request.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from typing import cast

from etcdpy.api.gateway.upstream import Upstream

log = logging.getLogger(__name__)


class Pipe(asyncio.Protocol):
    """One socket of a relayed pair."""

    def __init__(self, on_lost: Callable[[], None] | None = None) -> None:
        self.transport: asyncio.Transport | None = None
        self.peer: Pipe | None = None
        self.eof = False  # this socket's reading direction has ended
        self.lost = False
        self._on_lost = on_lost

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses

    def data_received(self, data: bytes) -> None:
        peer = self.peer
        if peer is not None and peer.transport is not None:
            peer.transport.write(data)

    def eof_received(self) -> bool:
        self.eof = True
        peer = self.peer
        if peer is None or peer.transport is None or peer.lost:
            return False
        if peer.eof:
            peer.transport.close()
            return False
        if peer.transport.can_write_eof():
            peer.transport.write_eof()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if self._on_lost is not None:
            self._on_lost()
        peer = self.peer
        if peer is not None and peer.transport is not None and not peer.lost:
            if exc is None:
                peer.transport.close()
            else:
                peer.transport.abort()

    def pause_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None:
            self.peer.transport.pause_reading()

    def resume_writing(self) -> None:
        if self.peer is not None and self.peer.transport is not None and not self.peer.eof:
            self.peer.transport.resume_reading()


class RewritingPipe(Pipe):
    """The client's socket of a pair whose client-to-server bytes pass through `rewrite`."""

    def __init__(self, rewrite: Callable[[bytes], bytes], on_lost: Callable[[], None] | None = None) -> None:
        super().__init__(on_lost)
        self._rewrite = rewrite

    def data_received(self, data: bytes) -> None:
        super().data_received(self._rewrite(data))


def relay(
    client: asyncio.Transport,
    first_bytes: bytes,
    upstream: Upstream,
    on_lost: Callable[[], None],
    rewrite: Callable[[bytes], bytes] | None = None,
) -> Coroutine[None, None, None]:
    """Take over `client` (`first_bytes` already read from it) and return the
    coroutine that connects it to `upstream`, after which bytes flow both ways;
    `on_lost` runs when the client's socket is gone. With `rewrite`, every
    client-to-server chunk (`first_bytes` included) is sent as `rewrite` returns it."""
    client.pause_reading()
    down = Pipe(on_lost) if rewrite is None else RewritingPipe(rewrite, on_lost)
    if rewrite is not None:
        first_bytes = rewrite(first_bytes)
    up = Pipe()
    down.peer, up.peer = up, down
    client.set_protocol(down)
    down.connection_made(client)
    return _connect(down, up, first_bytes, upstream)


async def _connect(down: Pipe, up: Pipe, first_bytes: bytes, upstream: Upstream) -> None:
    client = down.transport
    assert client is not None
    try:
        await upstream.connect(up)
    except OSError as e:
        log.warning("gRPC relay cannot reach the upstream server: %s", e)
        client.abort()
        return
    assert up.transport is not None
    if down.lost:  # the client left while we connected
        up.transport.close()
        return
    up.transport.write(first_bytes)
    client.resume_reading()
