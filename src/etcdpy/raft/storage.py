"""What the Raft core reads of the durable log (`Storage`), and an in-memory implementation.

The driver writes a Ready's snapshot, hard state and entries to its storage before advancing; the core
only ever reads. Index 0 / term 0 is the empty log's position.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from etcdpy.raft.errors import CompactedError, SnapOutOfDateError, UnavailableError
from etcdpy.raft.raftpb import ConfState, Entry, HardState, Snapshot, SnapshotMeta
from etcdpy.raft.util import limit_count


class Storage(Protocol):
    """The durable log as the core sees it.

    Entries are [first_index(), last_index()]; term() also answers for first_index() - 1, the position
    of the latest snapshot. entries() and term() raise CompactedError below that, UnavailableError above
    last_index(). snapshot() may raise SnapshotTemporarilyUnavailableError.
    """

    def initial_state(self) -> tuple[HardState, ConfState]: ...

    def entries(self, lo: int, hi: int, max_size: int) -> Sequence[Entry]:
        """Entries [lo, hi), cut to `max_size` bytes but never empty when lo < hi."""
        ...

    def term(self, i: int) -> int: ...

    def last_index(self) -> int: ...

    def first_index(self) -> int: ...

    def snapshot(self) -> Snapshot: ...


class MemoryStorage:
    """A Storage held in memory (tests, simulations, and the model of what a durable storage must do).

    Invariant: `_ents[0]` is a dummy entry at the snapshot's (index, term); the real entries follow it
    with consecutive indexes.
    """

    def __init__(self, conf_state: ConfState | None = None) -> None:
        """An empty log; `conf_state` (if given) is the configuration at index 0, so that a group can start
        without bootstrap entries."""
        self.hard_state = HardState()
        self._snapshot = (
            Snapshot() if conf_state is None else Snapshot(metadata=SnapshotMeta(conf_state=conf_state))
        )
        self._ents: list[Entry] = [Entry(0, 0)]

    def initial_state(self) -> tuple[HardState, ConfState]:
        return self.hard_state, self._snapshot.metadata.conf_state

    def set_hard_state(self, hs: HardState) -> None:
        self.hard_state = hs

    def entries(self, lo: int, hi: int, max_size: int) -> list[Entry]:
        offset = self._ents[0].index
        if lo <= offset:
            raise CompactedError()
        if hi > self.last_index() + 1:
            raise ValueError(f"entries' hi({hi}) is out of bound lastindex({self.last_index()})")
        if len(self._ents) == 1:
            raise UnavailableError()
        lo, hi = lo - offset, hi - offset
        return self._ents[lo : lo + limit_count(self._ents, lo, hi, max_size)]

    def term(self, i: int) -> int:
        offset = self._ents[0].index
        if i < offset:
            raise CompactedError()
        if i - offset >= len(self._ents):
            raise UnavailableError()
        return self._ents[i - offset].term

    def last_index(self) -> int:
        return self._ents[0].index + len(self._ents) - 1

    def first_index(self) -> int:
        return self._ents[0].index + 1

    def snapshot(self) -> Snapshot:
        return self._snapshot

    def apply_snapshot(self, snap: Snapshot) -> None:
        """Replace the whole content with `snap` (a follower installing the leader's snapshot)."""
        if self._snapshot.metadata.index >= snap.metadata.index:
            raise SnapOutOfDateError()
        self._snapshot = snap
        self._ents = [Entry(snap.metadata.term, snap.metadata.index)]

    def create_snapshot(self, i: int, conf_state: ConfState | None, data: bytes) -> Snapshot:
        """Record a snapshot of the state machine as of applied index `i` (entries stay until compact())."""
        if i <= self._snapshot.metadata.index:
            raise SnapOutOfDateError()
        if i > self.last_index():
            raise ValueError(f"snapshot {i} is out of bound lastindex({self.last_index()})")
        meta = self._snapshot.metadata
        cs = meta.conf_state if conf_state is None else conf_state
        self._snapshot = Snapshot(data, SnapshotMeta(i, self._ents[i - self._ents[0].index].term, cs))
        return self._snapshot

    def compact(self, compact_index: int) -> None:
        """Discard the entries before `compact_index`; it becomes the dummy entry's position."""
        offset = self._ents[0].index
        if compact_index <= offset:
            raise CompactedError()
        if compact_index > self.last_index():
            raise ValueError(f"compact {compact_index} is out of bound lastindex({self.last_index()})")
        i = compact_index - offset
        head = self._ents[i]
        self._ents = [Entry(head.term, head.index), *self._ents[i + 1 :]]

    def append(self, entries: Sequence[Entry]) -> None:
        """Add `entries`, replacing any existing entries at their indexes and after."""
        if not entries:
            return
        first = self.first_index()
        last = entries[0].index + len(entries) - 1
        if last < first:
            return
        if first > entries[0].index:
            entries = entries[first - entries[0].index :]
        offset = entries[0].index - self._ents[0].index
        if offset > len(self._ents):
            raise ValueError(f"missing log entry [last: {self.last_index()}, append at: {entries[0].index}]")
        del self._ents[offset:]
        self._ents.extend(entries)
