"""Request IDs as etcd's pkg/idutil makes them.

An ID is the member ID's low 16 bits, then a 48-bit counter that starts at the
clock (40 bits of Unix milliseconds, shifted left by 8) and counts up. Members
with different low 16 bits never share an ID; one member never repeats an ID
while it runs (unless it makes 2^48), nor after a restart unless the previous
run averaged more than 256 IDs per millisecond.
"""

from __future__ import annotations

_SUFFIX_BITS = 48
_SUFFIX_MASK = (1 << _SUFFIX_BITS) - 1
_MS_MASK = (1 << 40) - 1


class IDGenerator:
    __slots__ = ("_prefix", "_suffix")

    def __init__(self, member_id: int, now_ms: int) -> None:
        self._prefix = (member_id & 0xFFFF) << _SUFFIX_BITS
        self._suffix = (now_ms & _MS_MASK) << 8

    def next(self) -> int:
        """The next ID, a uint64."""
        self._suffix += 1
        return self._prefix | (self._suffix & _SUFFIX_MASK)
