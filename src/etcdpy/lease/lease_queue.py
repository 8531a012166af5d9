"""The lessor's expiry queue: lease IDs ordered by the time they are next due."""

from __future__ import annotations

import heapq

# Rebuild the heap once it holds this many superseded entries beyond the live ones.
_SLACK = 64


class ExpiryQueue:
    """A min-heap of (due time, lease ID) with at most one live entry per ID.

    `register` supersedes an ID's earlier time without searching the heap: the
    old entry stays until it reaches the top and is dropped there (an entry is
    live iff its time is the ID's registered time). The heap is rebuilt when
    superseded entries outnumber live ones, so it stays O(live IDs).
    """

    __slots__ = ("_due", "_heap")

    def __init__(self) -> None:
        self._heap: list[tuple[float, int]] = []
        self._due: dict[int, float] = {}

    def __len__(self) -> int:
        return len(self._due)

    def register(self, lease_id: int, due: float) -> None:
        """Make `lease_id` due at `due`, replacing any earlier registration."""
        self._due[lease_id] = due
        heapq.heappush(self._heap, (due, lease_id))
        if len(self._heap) > 2 * len(self._due) + _SLACK:
            self._heap = [(t, i) for i, t in self._due.items()]
            heapq.heapify(self._heap)

    def remove(self, lease_id: int) -> None:
        self._due.pop(lease_id, None)

    def clear(self) -> None:
        self._heap.clear()
        self._due.clear()

    def peek(self) -> tuple[float, int] | None:
        """The earliest (due time, lease ID), or None if the queue is empty."""
        heap = self._heap
        while heap:
            due, lease_id = heap[0]
            if self._due.get(lease_id) == due:
                return due, lease_id
            heapq.heappop(heap)
        return None

    def pop(self) -> tuple[float, int] | None:
        """Remove and return the earliest (due time, lease ID), or None if the queue is empty."""
        top = self.peek()
        if top is not None:
            heapq.heappop(self._heap)
            del self._due[top[1]]
        return top
