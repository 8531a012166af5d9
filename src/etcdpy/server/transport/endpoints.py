"""A peer's advertised URLs as dialable (host, port) pairs, tried in turn (etcd's urlPicker)."""

from __future__ import annotations

from collections.abc import Sequence
from urllib.parse import urlsplit

_DEFAULT_PORT = 2380


def parse_peer_url(url: str) -> tuple[str, int]:
    """(host, port) of an http:// peer URL; ValueError for anything else (peer TLS is not implemented)."""
    parts = urlsplit(url)
    if parts.scheme != "http" or not parts.hostname:
        raise ValueError(f"unsupported peer URL {url!r}: expected http://host:port")
    return parts.hostname, parts.port or _DEFAULT_PORT


class Endpoints:
    """Sticks to the URL that last worked; `failed()` moves on to the next one."""

    def __init__(self, urls: Sequence[str]) -> None:
        self._addrs: list[tuple[str, int]] = []
        self._i = 0
        self.update(urls)

    def update(self, urls: Sequence[str]) -> None:
        addrs = [parse_peer_url(u) for u in urls]
        if not addrs:
            raise ValueError("a peer needs at least one URL")
        self._addrs, self._i = addrs, 0

    def current(self) -> tuple[str, int]:
        return self._addrs[self._i]

    def failed(self, addr: tuple[str, int]) -> None:
        if self._addrs[self._i] == addr:
            self._i = (self._i + 1) % len(self._addrs)

    def all(self) -> list[tuple[str, int]]:
        """Every address, starting from the current one."""
        return self._addrs[self._i :] + self._addrs[: self._i]
