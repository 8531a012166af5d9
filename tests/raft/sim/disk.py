"""A node's durable state: exactly what its Ready processing persisted, and nothing else.

The simulation keeps this record beside the node's MemoryStorage (which belongs to the core under test)
and rebuilds a restarted node from it alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from etcdpy.raft.raftpb import Entry, HardState, Snapshot
from etcdpy.raft.storage import MemoryStorage


@dataclass
class Disk:
    """Invariant: `entries[k]` has index `snapshot.metadata.index + 1 + k`."""

    hard_state: HardState = field(default_factory=HardState)
    snapshot: Snapshot = field(default_factory=Snapshot)
    entries: list[Entry] = field(default_factory=list)

    @property
    def snap_index(self) -> int:
        return self.snapshot.metadata.index

    @property
    def commit(self) -> int:
        """The durable commit index: a snapshot is committed even before a hard state says so."""
        return max(self.hard_state.commit, self.snapshot.metadata.index)

    def last_index(self) -> int:
        return self.snapshot.metadata.index + len(self.entries)

    def term(self, i: int) -> int | None:
        """The term at `i`, None when `i` is neither the snapshot's position nor a held entry."""
        base = self.snapshot.metadata.index
        if i == base:
            return self.snapshot.metadata.term
        if base < i <= base + len(self.entries):
            return self.entries[i - base - 1].term
        return None

    def entry(self, i: int) -> Entry | None:
        base = self.snapshot.metadata.index
        if base < i <= base + len(self.entries):
            return self.entries[i - base - 1]
        return None

    def install(self, snap: Snapshot) -> None:
        """A snapshot from the leader replaces the whole log."""
        self.snapshot = snap
        self.entries = []

    def write(self, ents: Sequence[Entry]) -> None:
        """Entries overwrite the log from ents[0].index on; the caller checked there is no gap."""
        keep = ents[0].index - self.snapshot.metadata.index - 1
        del self.entries[keep:]
        self.entries.extend(ents)

    def compact(self, snap: Snapshot) -> None:
        """A locally taken snapshot: entries it covers are dropped (the storage may keep a few more)."""
        drop = snap.metadata.index - self.snapshot.metadata.index
        self.snapshot = snap
        del self.entries[:drop]

    def load(self) -> MemoryStorage:
        """A fresh storage holding exactly this durable state (what a restarted process reads back)."""
        storage = MemoryStorage()
        if not self.snapshot.is_empty():
            storage.apply_snapshot(self.snapshot)
        storage.set_hard_state(self.hard_state)
        storage.append(self.entries)
        return storage
