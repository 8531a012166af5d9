"""Which endpoint a call tries next, how long it may wait, and when it gives up.

Shared by the sync and asyncio clients: they differ only in how they wait.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import grpc

from etcdpy.api import errors
from etcdpy.client import _status

# Pause before going round the endpoints again, so a down cluster is not hammered.
ROUND_BACKOFF = 0.05


class Attempts:
    """One call's walk over the endpoints, starting at the one that last worked.

    Without a deadline every endpoint is tried once; with one, the walk goes round
    until the deadline passes.
    """

    def __init__(self, order: Sequence[int], timeout: float | None) -> None:
        self._order = order
        self._deadline = None if timeout is None else time.monotonic() + timeout
        self._tried = 0
        self.last_error: errors.EtcdError | None = None

    def remaining(self) -> float | None:
        return None if self._deadline is None else max(0.0, self._deadline - time.monotonic())

    def next(self) -> tuple[int, float] | None:
        """(endpoint index, seconds to sleep first), or None when the call must give up."""
        left = self.remaining()
        if self._deadline is None and self._tried >= len(self._order):
            return None
        if left is not None and left <= 0:
            return None
        index = self._order[self._tried % len(self._order)]
        pause = ROUND_BACKOFF if self._tried and self._tried % len(self._order) == 0 else 0.0
        self._tried += 1
        return index, pause if left is None else min(pause, left)

    def failed(self, err: errors.EtcdError, read_only: bool) -> bool:
        """Record a failure; True if the call may go on to another endpoint."""
        self.last_error = err
        if not isinstance(err, _status.TransportError):
            return False
        return read_only or _status.never_sent(err)

    def give_up(self) -> errors.EtcdError:
        if self._deadline is not None:
            return _status.deadline_error(self.last_error)
        if self.last_error is not None:
            return self.last_error
        return _status.TransportError("no endpoint available", grpc.StatusCode.UNAVAILABLE)
