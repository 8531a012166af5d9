"""Lease IDs chosen by the server, in the style of etcd's request ID generator (pkg/idutil)."""

from __future__ import annotations

_SUFFIX_BITS = 48  # 40 bits of milliseconds, then an 8-bit counter that carries into them
_SUFFIX_MASK = (1 << _SUFFIX_BITS) - 1
_MS_MASK = (1 << 40) - 1
_POSITIVE = (1 << 63) - 1


class LeaseIDGenerator:
    """Unique positive int64 IDs: the member ID's low 16 bits, then a counter started at the clock.

    IDs from one member never repeat while it runs (unless more than 2^48 are
    made); after a restart the counter starts past the old IDs unless the old
    run made more than 256 IDs per millisecond on average.
    """

    __slots__ = ("_prefix", "_suffix")

    def __init__(self, member_id: int, now_ms: int) -> None:
        self._prefix = (member_id & 0xFFFF) << _SUFFIX_BITS
        self._suffix = (now_ms & _MS_MASK) << 8

    def next(self) -> int:
        """The next ID (never 0)."""
        while True:
            self._suffix += 1
            lease_id = (self._prefix | (self._suffix & _SUFFIX_MASK)) & _POSITIVE
            if lease_id:
                return lease_id


def hex_id(lease_id: int) -> str:
    """A lease ID as etcd logs and prints it: 16 hex digits of its two's complement."""
    return f"{lease_id & 0xFFFFFFFFFFFFFFFF:016x}"
