"""Whether the WAL's fsync is fast enough to run on the event loop thread.

The driver loop runs a fast fsync inline (a hand-off to the WAL thread costs more in GIL hand-offs
than such a wait) and a slow one on the WAL thread. The judgement is the median of the last few
fsyncs timed on the loop thread, so that one stall of the disk (tens of milliseconds, common on
shared machines) does not send hundreds of following saves through the thread, as a moving average
did.
"""

from __future__ import annotations

from collections import deque

# A WAL fsync shorter than this (median of the recent ones) is fast.
INLINE_SYNC_MAX = 0.001
# How many recent fsyncs the median is taken over.
WINDOW = 9


class FsyncSpeed:
    def __init__(self) -> None:
        self._threshold = INLINE_SYNC_MAX
        self._recent: deque[float] = deque(maxlen=WINDOW)
        self.fast = True

    def observe(self, seconds: float) -> None:
        """Record an fsync timed on the loop thread (a time on the WAL thread would include waits
        for the GIL)."""
        recent = self._recent
        recent.append(seconds)
        self.fast = sorted(recent)[len(recent) // 2] < self._threshold
