"""The watchable store: delivers each committed revision's events to the watchers of its keys.

Watchers are in one of two groups:
- synced: every event up to the store's revision has been queued for it;
  each committed revision's events are queued at commit, in one response.
- unsynced: it still needs history from `min_rev`; a background task reads
  that history from the store in bounded batches and queues it, then moves
  the watcher to synced once it reaches the store's revision.
A watcher whose queue is full when its events arrive is moved to unsynced
(its `min_rev` at the first revision it missed) instead of holding up the
write: a slow client never blocks writes or other watchers, and catches up
from the store once its queue has room again.

Threading: everything runs on the event loop thread, like the store's writes,
so a catch-up batch read and the move to synced happen with no write between.
Invariant: a watcher's responses are queued in revision order, each revision
at most once.
"""

from __future__ import annotations

import asyncio
import contextlib

from etcdpy.api import errors
from etcdpy.api.pb.mvccpb.kv_pb2 import Event, KeyValue
from etcdpy.mvcc.kvstore import KVStore
from etcdpy.mvcc.txn_write import TxnWrite
from etcdpy.mvcc.watcher import Watcher, WatchResponse, WatchSink
from etcdpy.mvcc.watcher_group import WatcherGroup
from etcdpy.pkg import timeouts

# Watchers caught up per round, and revisions read from the store per round (etcd's bounds).
MAX_WATCHERS_PER_SYNC = 512
MAX_REVISIONS_PER_SYNC = 1000
# Value bytes one round should read: the revision window halves after a larger read, and grows back
# (up to MAX_REVISIONS_PER_SYNC) after small ones, so big values cannot make a round long.
SYNC_READ_BYTES = 4 << 20
# Longest pause between catch-up rounds while some watcher is behind.
SYNC_INTERVAL = 0.1

_PUT = Event.PUT


class WatchableStore:
    def __init__(self, kv: KVStore) -> None:
        self.kv = kv
        self._synced = WatcherGroup()
        self._unsynced = WatcherGroup()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._window = MAX_REVISIONS_PER_SYNC
        kv.add_observer(self._on_commit)

    @property
    def rev(self) -> int:
        return self.kv.rev

    @property
    def watcher_count(self) -> int:
        """Watchers in the store (compacted ones, which get nothing more, are not)."""
        return len(self._synced) + len(self._unsynced)

    @property
    def slow_watcher_count(self) -> int:
        """Watchers still catching up with the store."""
        return len(self._unsynced)

    def start(self) -> None:
        """Start catching up unsynced watchers (needs a running event loop)."""
        self._task = asyncio.get_running_loop().create_task(self._sync_loop(), name="watch-sync")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def watch(
        self,
        watch_id: int,
        key: bytes,
        end: bytes,
        start_rev: int,
        sink: WatchSink,
        *,
        prev_kv: bool = False,
        no_put: bool = False,
        no_delete: bool = False,
    ) -> Watcher:
        """Watch [key, end) from start_rev (0: the next revision). History comes asynchronously."""
        cur = self.kv.rev
        w = Watcher(watch_id, key, end, start_rev, sink, prev_kv, no_put, no_delete)
        if start_rev == 0 or start_rev > cur:
            w.min_rev = max(start_rev, cur + 1)
            self._synced.add(w)
        else:
            self._unsynced.add(w)
            self._wake.set()
        return w

    def cancel(self, w: Watcher) -> None:
        if not self._synced.remove(w):
            self._unsynced.remove(w)

    def is_synced(self, w: Watcher) -> bool:
        return w in self._synced

    def progress(self, w: Watcher) -> None:
        """Report the store's revision to `w` if it has been sent everything up to it (else nothing)."""
        if w in self._synced:
            w.sink.offer(WatchResponse(w.id, self.kv.rev))

    def wake(self) -> None:
        """A sink has room again: lagging watchers can make progress."""
        if self._unsynced:
            self._wake.set()

    # ---- live notifications -------------------------------------------------

    def _on_commit(self, txn: TxnWrite) -> None:
        synced = self._synced
        if not synced:
            return
        rev = txn.rev
        batches: dict[Watcher, list[Event]] = {}
        for ev in txn.changes:
            watchers = synced.matching(ev.kv.key)
            if not watchers:
                continue
            stripped = None  # ev without prev_kv, made once for the watchers that did not ask for it
            for w in watchers:
                if rev < w.min_rev or not w.wants(ev):
                    continue
                ev_out = ev
                if not w.prev_kv and ev.HasField("prev_kv"):
                    if stripped is None:
                        stripped = Event(type=ev.type, kv=ev.kv)
                    ev_out = stripped
                batch = batches.get(w)
                if batch is None:
                    batches[w] = [ev_out]
                else:
                    batch.append(ev_out)
        for w, evs in batches.items():
            if not w.sink.offer(WatchResponse(w.id, rev, evs)):
                synced.remove(w)
                w.min_rev = rev
                self._unsynced.add(w)
                self._wake.set()

    def reloaded(self, old_rev: int) -> None:
        """The store's content jumped from revision `old_rev` (a snapshot installed): every synced
        watcher catches up from the store from the revision after `old_rev`."""
        for w in list(self._synced):
            self._synced.remove(w)
            w.min_rev = max(w.min_rev, old_rev + 1)
            self._unsynced.add(w)
        self._wake.set()

    # ---- catching up --------------------------------------------------------

    async def _sync_loop(self) -> None:
        while True:
            if not self._unsynced:
                self._wake.clear()
                await self._wake.wait()
                continue
            if self._sync_round():
                await asyncio.sleep(0)  # let writes and sends run between rounds
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await timeouts.wait_for(self._wake.wait(), SYNC_INTERVAL)

    def _sync_round(self) -> bool:
        """Queue one bounded batch of history for up to MAX_WATCHERS_PER_SYNC unsynced watchers.

        Returns whether any watcher moved on. Watchers whose sink is full wait.
        """
        cur = self.kv.rev
        compact = self.kv.compact_rev
        chosen: list[Watcher] = []
        for w in self._unsynced:
            if w.sink.has_room():
                chosen.append(w)
                if len(chosen) == MAX_WATCHERS_PER_SYNC:
                    break
        moved = False
        group = WatcherGroup()
        for w in chosen:
            if w.min_rev < compact:
                # As etcd: a start revision below the compaction (also a negative one) is canceled.
                if w.sink.offer(WatchResponse(w.id, 0, compact_revision=compact, canceled=True)):
                    self._unsynced.remove(w)
                    w.compacted = True
                    moved = True
            elif w.min_rev < 0:
                # As etcd: a negative start revision with no compaction yet watches from now on.
                self._promote(w, cur)
                moved = True
            else:
                group.add(w)
        if not group:
            return moved
        lo = min(w.min_rev for w in group)
        hi = min(cur, lo + self._window - 1)
        events = self.kv.events(lo, hi + 1)
        self._adapt_window(events)
        batches = self._batches(group, events)
        for w in group:
            evs = batches.get(w)
            if evs and not w.sink.offer(WatchResponse(w.id, cur, evs)):
                continue
            moved = True
            if hi == cur:
                self._promote(w, cur)
            else:
                w.min_rev = max(w.min_rev, hi + 1)
        return moved

    def _adapt_window(self, events: list[Event]) -> None:
        size = sum(len(ev.kv.value) for ev in events)
        if size > SYNC_READ_BYTES:
            self._window = max(1, self._window // 2)
        elif size < SYNC_READ_BYTES // 4:
            self._window = min(MAX_REVISIONS_PER_SYNC, self._window * 2)

    def _promote(self, w: Watcher, cur: int) -> None:
        self._unsynced.remove(w)
        w.min_rev = cur + 1
        self._synced.add(w)
        w.sink.on_synced()

    def _batches(self, group: WatcherGroup, events: list[Event]) -> dict[Watcher, list[Event]]:
        """Each watcher's share of `events` (filters applied, prev_kv added where asked)."""
        batches: dict[Watcher, list[Event]] = {}
        with_prev: dict[int, Event] = {}
        for i, ev in enumerate(events):
            for w in group.matching(ev.kv.key):
                if ev.kv.mod_revision < w.min_rev or not w.wants(ev):
                    continue
                ev_out = ev
                if w.prev_kv:
                    found = with_prev.get(i)
                    ev_out = with_prev[i] = self._with_prev_kv(ev) if found is None else found
                batches.setdefault(w, []).append(ev_out)
        return batches

    def _with_prev_kv(self, ev: Event) -> Event:
        """`ev` with the key's value just before it, as etcd adds it (none for a creation or if compacted)."""
        kv = ev.kv
        if ev.type == _PUT and kv.create_revision == kv.mod_revision:
            return ev
        try:
            found = self.kv.range(kv.key, rev=kv.mod_revision - 1).kvs
        except errors.EtcdError:
            return ev
        if not found:
            return ev
        prev: KeyValue = found[0]
        return Event(type=ev.type, kv=kv, prev_kv=prev)
