"""The raft log: the durable part (a Storage) followed by the unstable tail, with commit and apply cursors."""

from __future__ import annotations

from collections.abc import Sequence

from etcdpy.raft.errors import CompactedError
from etcdpy.raft.log_unstable import Unstable
from etcdpy.raft.raftpb import Entry, Snapshot
from etcdpy.raft.storage import Storage
from etcdpy.raft.util import NO_LIMIT, limit_count


class RaftLog:
    """Invariant: applied <= committed <= last_index(); the storage holds [first_index(), unstable.offset),
    the unstable tail holds [unstable.offset, last_index()].
    """

    __slots__ = ("applied", "committed", "max_next_ents_size", "storage", "unstable")

    def __init__(self, storage: Storage, max_next_ents_size: int = NO_LIMIT) -> None:
        self.storage = storage
        self.max_next_ents_size = max_next_ents_size
        self.unstable = Unstable(storage.last_index() + 1)
        self.committed = storage.first_index() - 1
        self.applied = self.committed

    def __repr__(self) -> str:
        return (
            f"committed={self.committed}, applied={self.applied}, unstable.offset={self.unstable.offset}, "
            f"len(unstable.Entries)={len(self.unstable.entries)}"
        )

    # ---- indexes and terms ------------------------------------------------------------------------

    def first_index(self) -> int:
        snap = self.unstable.snapshot
        if snap is not None:
            return snap.metadata.index + 1
        return self.storage.first_index()

    def last_index(self) -> int:
        u = self.unstable
        if u.entries:
            return u.offset + len(u.entries) - 1
        if u.snapshot is not None:
            return u.snapshot.metadata.index
        return self.storage.last_index()

    def term(self, i: int) -> int:
        """The term of the entry at `i`; 0 outside [first_index() - 1, last_index()].

        Raises CompactedError only if the storage was compacted past `i` behind the log's back.
        """
        u = self.unstable
        if i >= u.offset:
            k = i - u.offset
            return u.entries[k].term if k < len(u.entries) else 0
        snap = u.snapshot
        if snap is not None:
            if i == snap.metadata.index:
                return snap.metadata.term
            if i < snap.metadata.index:
                return 0
        if i < self.storage.first_index() - 1:
            return 0
        return self.storage.term(i)

    def term_or_zero(self, i: int) -> int:
        try:
            return self.term(i)
        except CompactedError:
            return 0

    def last_term(self) -> int:
        return self.term(self.last_index())

    def match_term(self, i: int, term: int) -> bool:
        try:
            return self.term(i) == term
        except CompactedError:
            return False

    def is_up_to_date(self, last_index: int, term: int) -> bool:
        """Whether a log ending at (last_index, term) is at least as up to date as this one (Raft §5.4.1)."""
        lt = self.last_term()
        return term > lt or (term == lt and last_index >= self.last_index())

    # ---- appending ----------------------------------------------------------------------------------

    def maybe_append(self, index: int, log_term: int, committed: int, ents: Sequence[Entry]) -> int | None:
        """Append `ents` (which follow (index, log_term)) if this log has (index, log_term); returns the
        index of the last new entry, or None when the log does not match there.

        Conflicting entries (same index, other term) and everything after them are replaced.
        """
        if not self.match_term(index, log_term):
            return None
        last_new = index + len(ents)
        ci = self.find_conflict(ents)
        if ci:
            if ci <= self.committed:
                raise AssertionError(
                    f"entry {ci} conflict with committed entry [committed({self.committed})]"
                )
            self.append(ents[ci - index - 1 :])
        self.commit_to(min(committed, last_new))
        return last_new

    def append(self, ents: Sequence[Entry]) -> int:
        if not ents:
            return self.last_index()
        after = ents[0].index - 1
        if after < self.committed:
            raise AssertionError(f"after({after}) is out of range [committed({self.committed})]")
        self.unstable.truncate_and_append(ents)
        return self.last_index()

    def find_conflict(self, ents: Sequence[Entry]) -> int:
        """The index of the first entry of `ents` this log does not have (absent, or of another term),
        0 when it has them all."""
        for e in ents:
            if not self.match_term(e.index, e.term):
                return e.index
        return 0

    def find_conflict_by_term(self, index: int, term: int) -> int:
        """The largest index <= `index` whose entry has a term <= `term` (or that is compacted).

        The leader and a rejecting follower use it to skip, in one round trip, every index that cannot
        match: those whose term is higher than the other side's term at the probed index.
        """
        if index > self.last_index():
            return index
        while index > 0:
            try:
                if self.term(index) <= term:
                    break
            except CompactedError:
                break
            index -= 1
        return index

    # ---- reading ------------------------------------------------------------------------------------

    def unstable_entries(self) -> list[Entry]:
        return self.unstable.entries

    def next_ents(self) -> list[Entry]:
        """Committed entries not yet applied, cut to `max_next_ents_size` bytes."""
        off = max(self.applied + 1, self.first_index())
        if self.committed + 1 > off:
            return self.slice(off, self.committed + 1, self.max_next_ents_size)
        return []

    def has_next_ents(self) -> bool:
        return self.committed + 1 > max(self.applied + 1, self.first_index())

    def snapshot(self) -> Snapshot:
        if self.unstable.snapshot is not None:
            return self.unstable.snapshot
        return self.storage.snapshot()

    def entries(self, i: int, max_size: int) -> list[Entry]:
        """Entries from `i` to the end, cut to `max_size` bytes; raises CompactedError below first_index()."""
        last = self.last_index()
        if i > last:
            return []
        return self.slice(i, last + 1, max_size)

    def all_entries(self) -> list[Entry]:
        return self.entries(self.first_index(), NO_LIMIT)

    def slice(self, lo: int, hi: int, max_size: int) -> list[Entry]:
        """Entries [lo, hi) cut to `max_size` bytes (at least one); CompactedError below first_index()."""
        self._check_bounds(lo, hi)
        if lo == hi:
            return []
        u = self.unstable
        if lo >= u.offset:
            k = lo - u.offset
            return u.entries[k : k + limit_count(u.entries, k, hi - u.offset, max_size)]
        stored_hi = min(hi, u.offset)
        stored = self.storage.entries(lo, stored_hi, max_size)
        if len(stored) < stored_hi - lo or hi <= u.offset:
            return list(stored)
        combined = [*stored, *u.slice(u.offset, hi)]
        return combined[: limit_count(combined, 0, len(combined), max_size)]

    def _check_bounds(self, lo: int, hi: int) -> None:
        if lo > hi:
            raise IndexError(f"invalid slice {lo} > {hi}")
        fi = self.first_index()
        if lo < fi:
            raise CompactedError()
        if hi > self.last_index() + 1:
            raise IndexError(f"slice[{lo},{hi}) out of bound [{fi},{self.last_index()}]")

    # ---- cursors ------------------------------------------------------------------------------------

    def commit_to(self, to_commit: int) -> None:
        """Raise the commit index to `to_commit` (never lowers it)."""
        if self.committed < to_commit:
            if self.last_index() < to_commit:
                raise AssertionError(
                    f"tocommit({to_commit}) is out of range [lastIndex({self.last_index()})]. "
                    "Was the raft log corrupted, truncated, or lost?"
                )
            self.committed = to_commit

    def maybe_commit(self, max_index: int, term: int) -> bool:
        """Commit up to `max_index` if that entry is of `term` (a leader commits only entries of its term)."""
        if max_index > self.committed and self.term_or_zero(max_index) == term:
            self.commit_to(max_index)
            return True
        return False

    def applied_to(self, i: int) -> None:
        if i == 0:
            return
        if self.committed < i or i < self.applied:
            raise AssertionError(
                f"applied({i}) is out of range [prevApplied({self.applied}), committed({self.committed})]"
            )
        self.applied = i

    def stable_to(self, i: int, t: int) -> None:
        self.unstable.stable_to(i, t)

    def stable_snap_to(self, i: int) -> None:
        self.unstable.stable_snap_to(i)

    def restore(self, s: Snapshot) -> None:
        """Reset the log to the snapshot `s`: everything up to its index is committed."""
        self.committed = s.metadata.index
        self.unstable.restore(s)
