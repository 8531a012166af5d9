"""Where the gRPC server listens, from a gRPC target string, as a socket address.

The relay opens raw connections to the same place the gateway's gRPC channel
talks to, so both are derived from one target: `unix:/path`, `unix:relative`,
`unix:///abs/path`, `unix-abstract:name`, `ipv4:host:port`, `ipv6:[addr]:port`,
`dns:[//authority/]host:port` or plain `host:port`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import socket


@dataclasses.dataclass(frozen=True, slots=True)
class Upstream:
    """A socket address: a unix path (abstract names start with NUL) or a TCP host and port."""

    path: str | None = None
    host: str = ""
    port: int = 0

    async def connect(self, protocol: asyncio.Protocol) -> asyncio.Transport:
        loop = asyncio.get_running_loop()
        if self.path is not None:
            # Connect the socket ourselves: uvloop cannot name abstract sockets.
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.setblocking(False)
                await loop.sock_connect(sock, self.path)
            except BaseException:
                sock.close()
                raise
            transport, _ = await loop.create_unix_connection(lambda: protocol, sock=sock)
        else:
            transport, _ = await loop.create_connection(lambda: protocol, self.host, self.port)
        return transport


def parse_target(target: str) -> Upstream:
    """The address a gRPC target string names; ValueError if it names none."""
    if target.startswith("unix-abstract:"):
        return Upstream(path="\0" + target[len("unix-abstract:") :])
    if target.startswith("unix:"):
        path = target[len("unix://") :] if target.startswith("unix://") else target[len("unix:") :]
        if not path:
            raise ValueError(f"no path in gRPC target {target!r}")
        return Upstream(path=path)
    if target.startswith("dns:"):
        rest = target[len("dns:") :]
        if rest.startswith("//"):
            rest = rest[2:].partition("/")[2]  # drop the DNS authority
        return _host_port(rest, target)
    if target.startswith(("ipv4:", "ipv6:")):
        return _host_port(target[5:].partition(",")[0], target)
    return _host_port(target, target)


def _host_port(text: str, target: str) -> Upstream:
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        port_text = rest[1:] if sep and rest.startswith(":") else ""
    else:
        host, _, port_text = text.rpartition(":")
    if not host or not port_text.isdigit():
        raise ValueError(f"no host:port in gRPC target {target!r}")
    return Upstream(host=host, port=int(port_text))
