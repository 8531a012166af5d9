"""A peer's advertised URLs as dialable addresses, tried in turn (etcd's urlPicker)."""

from __future__ import annotations

import ssl
from collections.abc import Sequence
from typing import Any, NamedTuple
from urllib.parse import urlsplit

_DEFAULT_PORT = 2380


class PeerAddr(NamedTuple):
    host: str
    port: int
    secure: bool  # an https:// URL: dialled with TLS

    def dial_options(self, client_ssl: ssl.SSLContext | None) -> dict[str, Any]:
        """Keyword arguments for create_connection/open_connection: TLS for https:// (the system's
        trust store when no peer TLS is configured), the host checked against the certificate."""
        if not self.secure:
            return {}
        return {"ssl": client_ssl or ssl.create_default_context(), "server_hostname": self.host}


def parse_peer_url(url: str) -> PeerAddr:
    """The address of an http:// or https:// peer URL; ValueError for anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"unsupported peer URL {url!r}: expected http(s)://host:port")
    return PeerAddr(parts.hostname, parts.port or _DEFAULT_PORT, parts.scheme == "https")


class Endpoints:
    """Sticks to the URL that last worked; `failed()` moves on to the next one."""

    def __init__(self, urls: Sequence[str]) -> None:
        self._addrs: list[PeerAddr] = []
        self._i = 0
        self.update(urls)

    def update(self, urls: Sequence[str]) -> None:
        addrs = [parse_peer_url(u) for u in urls]
        if not addrs:
            raise ValueError("a peer needs at least one URL")
        self._addrs, self._i = addrs, 0

    def current(self) -> PeerAddr:
        return self._addrs[self._i]

    def failed(self, addr: PeerAddr) -> None:
        if self._addrs[self._i] == addr:
            self._i = (self._i + 1) % len(self._addrs)

    def all(self) -> list[PeerAddr]:
        """Every address, starting from the current one."""
        return self._addrs[self._i :] + self._addrs[: self._i]
