"""Consensus for a cluster of exactly one voting member.

With one voter, an entry is committed as soon as this member has made it
durable. `SoloNode` keeps the Ready/advance contract of a Raft node so the
server's driver loop is the same one a multi-member Raft node will use:
entries handed out in a Ready become committed when that Ready is advanced,
and come back as `committed_entries` in the next Ready.

Like a Raft member that wins an election, a starting SoloNode moves to the
next term and appends an empty entry of that term.
"""

from __future__ import annotations

from etcdpy.raft.raftpb import Entry, EntryType, HardState, Ready


class SoloNode:
    def __init__(self, member_id: int, hard_state: HardState, last_index: int, applied: int) -> None:
        """`hard_state`, `last_index`: what the WAL holds; `applied`: the last index already applied.

        Invariant: applied <= committed == last durable index <= last index handed out.
        """
        self.member_id = member_id
        self.term = hard_state.term + 1
        self._last_index = last_index
        self._committed = last_index
        self._applied = applied
        self._pending: list[Entry] = []
        self._unapplied: list[Entry] = []
        self._hs_dirty = True
        self.propose_entry(EntryType.NORMAL, b"")

    @property
    def leader(self) -> int:
        return self.member_id

    @property
    def committed(self) -> int:
        return self._committed

    @property
    def last_index(self) -> int:
        return self._last_index

    def set_unapplied(self, entries: list[Entry]) -> None:
        """Entries from the WAL that are committed but were not applied before a restart."""
        self._unapplied = [e for e in entries if e.index > self._applied]

    def propose(self, data: bytes) -> int:
        return self.propose_entry(EntryType.NORMAL, data)

    def propose_entry(self, etype: EntryType, data: bytes) -> int:
        self._last_index += 1
        self._pending.append(Entry(self.term, self._last_index, etype, data))
        return self._last_index

    def has_ready(self) -> bool:
        return bool(self._pending or self._unapplied or self._hs_dirty)

    def ready(self) -> Ready:
        entries = tuple(self._pending)
        hs = None
        if entries or self._hs_dirty:
            hs = HardState(self.term, self.member_id, entries[-1].index if entries else self._committed)
        return Ready(hs, entries, tuple(self._unapplied), must_sync=bool(entries) or self._hs_dirty)

    def advance(self, rd: Ready) -> None:
        n = len(rd.entries)
        if n:
            del self._pending[:n]
            self._committed = rd.entries[-1].index
        if rd.committed_entries:
            del self._unapplied[: len(rd.committed_entries)]
            self._applied = rd.committed_entries[-1].index
        self._unapplied.extend(rd.entries)
        self._hs_dirty = False
