"""Flow control for one follower: the last indexes of the MsgApps sent but not yet acknowledged."""

from __future__ import annotations

from collections import deque


class Inflights:
    """A bounded FIFO of in-flight MsgApps, each remembered by the index of its last entry.

    Invariant: the indexes are strictly increasing and there are at most `size` of them.
    """

    __slots__ = ("_buffer", "size")

    def __init__(self, size: int) -> None:
        self.size = size
        self._buffer: deque[int] = deque()

    def clone(self) -> Inflights:
        other = Inflights(self.size)
        other._buffer.extend(self._buffer)
        return other

    def add(self, inflight: int) -> None:
        if len(self._buffer) >= self.size:
            raise OverflowError("cannot add into a full inflights")
        self._buffer.append(inflight)

    def free_le(self, to: int) -> None:
        """Forget every in-flight message whose last index is <= `to` (they were acknowledged)."""
        buf = self._buffer
        while buf and buf[0] <= to:
            buf.popleft()

    def free_first_one(self) -> None:
        if self._buffer:
            self._buffer.popleft()

    def full(self) -> bool:
        return len(self._buffer) >= self.size

    def count(self) -> int:
        return len(self._buffer)

    def reset(self) -> None:
        self._buffer.clear()

    def indexes(self) -> tuple[int, ...]:
        return tuple(self._buffer)
