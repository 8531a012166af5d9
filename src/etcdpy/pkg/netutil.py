"""Listening sockets as Go's net.Listen makes them."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from typing import Any, Final

_BACKLOG: Final = 1024
# After a failed accept (out of descriptors or buffers), how long to wait before the next one.
ACCEPT_RETRY: Final = 0.1


def bind(host: str, port: int) -> list[socket.socket]:
    """Listening sockets for `host:port`, one per address the name resolves to (as Go's
    listener and asyncio's create_server bind them); with port 0, all share the first's port."""
    infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    sockets: list[socket.socket] = []
    try:
        for family, kind, proto, _, addr in dict.fromkeys(infos):
            sock = socket.socket(family, kind, proto)
            sockets.append(sock)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            if port == 0 and len(sockets) > 1:
                addr = (addr[0], sockets[0].getsockname()[1], *addr[2:])
            sock.bind(addr)
            sock.listen(_BACKLOG)
    except BaseException:
        for sock in sockets:
            sock.close()
        raise
    return sockets


async def accept_forever(
    sock: socket.socket, handle: Callable[[socket.socket, Any], None], on_error: Callable[[OSError], None]
) -> None:
    """Accept connections on `sock` until cancelled, handing each to `handle(conn, address)`; a
    failed accept is reported to `on_error` and the loop keeps listening, after a pause."""
    loop = asyncio.get_running_loop()
    while True:
        try:
            conn, addr = await loop.sock_accept(sock)
        except OSError as exc:
            on_error(exc)
            await asyncio.sleep(ACCEPT_RETRY)
            continue
        handle(conn, addr)
