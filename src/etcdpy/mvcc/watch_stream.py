"""One client stream's watchers and the bounded queue of responses waiting to be sent on it.

Watch IDs are per stream: the client picks one, or (ID 0 asked) the stream
takes the lowest free one at or above its counter, as etcd does. Responses
from the store (events, progress, compaction) are refused when the queue
holds CAPACITY responses or CAPACITY_BYTES of events (one response is always
accepted into an empty queue, however big); control responses (created,
canceled, progress reports) are always queued, so the caller bounds those by
reading requests only while `has_room`. A refused watcher catches up from the
store later, so a client that stops reading holds at most this much memory.
"""

from __future__ import annotations

import asyncio
from collections import deque

from etcdpy.mvcc.watchable_store import WatchableStore
from etcdpy.mvcc.watcher import Watcher, WatchResponse

# Responses queued per stream before the store moves its watchers to unsynced (etcd's chanBufLen).
CAPACITY = 128
# Event bytes queued per stream beyond which the same happens (etcd has no such bound).
CAPACITY_BYTES = 8 * 1024 * 1024
AUTO_WATCH_ID = 0
# The watch ID of responses that belong to no watcher (etcd's clientv3.InvalidWatchID).
INVALID_WATCH_ID = -1

ERR_EMPTY_RANGE = "mvcc: watcher range is empty"
ERR_DUPLICATE_ID = "mvcc: duplicate watch ID provided on the WatchStream"


class WatchError(Exception):
    """A watch that cannot be created; the message is etcd's cancel_reason."""


class WatchStream:
    def __init__(self, store: WatchableStore) -> None:
        self._store = store
        self._watchers: dict[int, Watcher] = {}
        self._next_id = 0
        self._queue: deque[tuple[WatchResponse, int]] = deque()  # with each response's event bytes
        self._queued_bytes = 0
        self._ready = asyncio.Event()
        self._room = asyncio.Event()
        self._room.set()
        # A progress report was asked for while some watcher was behind: send it once none is.
        self._progress_due = False
        self._closed = False

    @property
    def rev(self) -> int:
        return self._store.rev

    def watch(
        self,
        watch_id: int,
        key: bytes,
        end: bytes,
        start_rev: int,
        *,
        prev_kv: bool = False,
        no_put: bool = False,
        no_delete: bool = False,
    ) -> int:
        """Add a watcher; returns its ID. Raises WatchError for an empty range or a taken ID."""
        if end and end != b"\0" and key >= end:
            raise WatchError(ERR_EMPTY_RANGE)
        if self._closed:
            raise WatchError(ERR_EMPTY_RANGE)
        if watch_id == AUTO_WATCH_ID:
            while self._next_id in self._watchers:
                self._next_id += 1
            watch_id = self._next_id
            self._next_id += 1
        elif watch_id in self._watchers:
            raise WatchError(ERR_DUPLICATE_ID)
        self._watchers[watch_id] = self._store.watch(
            watch_id, key, end, start_rev, self, prev_kv=prev_kv, no_put=no_put, no_delete=no_delete
        )
        return watch_id

    def cancel(self, watch_id: int) -> bool:
        """Remove a watcher; False if the stream has none with that ID."""
        w = self._watchers.pop(watch_id, None)
        if w is None:
            return False
        self._store.cancel(w)
        self._maybe_report_progress()
        return True

    def request_progress(self, watch_id: int) -> None:
        """A periodic progress report for one watcher, sent only if it is synced."""
        w = self._watchers.get(watch_id)
        if w is not None:
            self._store.progress(w)

    def request_progress_all(self) -> None:
        """Queue a progress report (watch ID -1) once every watcher of the stream has caught up."""
        self._progress_due = True
        self._maybe_report_progress()

    def close(self) -> None:
        """Remove every watcher; the stream accepts no more."""
        self._closed = True
        for w in self._watchers.values():
            self._store.cancel(w)
        self._watchers.clear()

    # ---- the queue ----------------------------------------------------------

    def push(self, resp: WatchResponse) -> None:
        """Queue a control response, whatever the queue holds."""
        size = sum(ev.ByteSize() for ev in resp.events)
        self._queue.append((resp, size))
        self._queued_bytes += size
        self._ready.set()
        if not self.has_room():
            self._room.clear()

    async def get(self) -> WatchResponse:
        """The next response to send, in queue order."""
        while not self._queue:
            self._ready.clear()
            await self._ready.wait()
        full = not self.has_room()
        resp, size = self._queue.popleft()
        self._queued_bytes -= size
        if full and self.has_room():
            self._room.set()
            self._store.wake()
        return resp

    async def wait_room(self) -> None:
        await self._room.wait()

    # ---- WatchSink ----------------------------------------------------------

    def offer(self, resp: WatchResponse) -> bool:
        if not self.has_room():
            return False
        self.push(resp)
        return True

    def has_room(self) -> bool:
        return not self._queue or (len(self._queue) < CAPACITY and self._queued_bytes < CAPACITY_BYTES)

    def on_synced(self) -> None:
        self._maybe_report_progress()

    def _maybe_report_progress(self) -> None:
        if not self._progress_due:
            return
        if all(w.compacted or self._store.is_synced(w) for w in self._watchers.values()):
            self._progress_due = False
            self.push(WatchResponse(INVALID_WATCH_ID, self._store.rev))
