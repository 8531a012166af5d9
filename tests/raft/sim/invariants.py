"""Raft's safety properties, checked incrementally as each node persists, applies and wins elections.

Every check runs inside the step whose effect it judges, so a violation is reported at the exact step.
Global knowledge (what was ever committed, applied, voted, elected) lives here; per-node durable state
is the node's Disk, which survives crashes, so "across restarts" comes for free.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from etcdpy.raft.raftpb import Entry, EntryType, HardState, ReadState, Snapshot
from tests.raft.sim.disk import Disk


class InvariantViolation(Exception):
    def __init__(self, invariant: str, detail: str) -> None:
        super().__init__(f"{invariant}: {detail}")
        self.invariant = invariant
        self.detail = detail


@dataclass(slots=True)
class _Committed:
    """An index known committed: the entry's term there, and the lowest term of a node that saw it committed
    (the term of the leader that decided it, since the leader always learns first)."""

    term: int
    observed_term: int


class Checker:
    def __init__(self, boot_index: int, boot_digest: bytes) -> None:
        self.leaders: dict[int, int] = {}
        self.max_committed = boot_index
        self._committed: dict[int, _Committed] = {}
        self._log: dict[tuple[int, int], tuple[EntryType, bytes, int]] = {}
        self._applied: dict[int, Entry] = {}
        self._digests: dict[int, bytes] = {boot_index: boot_digest}
        self._reads: dict[bytes, int] = {}

    # ---- persistence ------------------------------------------------------------------------------

    def hard_state(self, node: int, old: HardState, new: HardState, must_sync: bool) -> None:
        """`old` is the durable hard state (kept across restarts), so a second vote in a term after a
        crash is caught as surely as one without."""
        if new.term < old.term:
            raise InvariantViolation(
                "term monotonic", f"node {node} persisted term {new.term} after {old.term}"
            )
        if new.term == old.term and old.vote != 0 and new.vote != old.vote:
            raise InvariantViolation(
                "one vote per term", f"node {node} voted for {old.vote} then {new.vote} in term {new.term}"
            )
        if new.commit < old.commit:
            raise InvariantViolation("commit monotonic", f"node {node} commit {old.commit} -> {new.commit}")
        if (new.term, new.vote) != (old.term, old.vote) and not must_sync:
            raise InvariantViolation(
                "must sync", f"node {node} term/vote changed in a Ready with must_sync=False"
            )

    def entries(self, node: int, disk: Disk, ents: Sequence[Entry], must_sync: bool) -> None:
        """Judges `ents` against the durable log they are about to overwrite."""
        if not must_sync:
            raise InvariantViolation("must sync", f"node {node} got entries in a Ready with must_sync=False")
        first = ents[0].index
        for k, e in enumerate(ents):
            if e.index != first + k:
                raise InvariantViolation("contiguous entries", f"node {node} Ready entries {_span(ents)}")
        prev_term = disk.term(first - 1)
        if prev_term is None:
            raise InvariantViolation(
                "contiguous log",
                f"node {node} appends at {first} but holds snapshot {disk.snap_index}..{disk.last_index()}",
            )
        for e in ents:
            if e.index <= disk.commit and disk.term(e.index) != e.term:
                raise InvariantViolation(
                    "committed entries are never overwritten",
                    f"node {node} overwrites committed {disk.term(e.index)}/{e.index} with term {e.term}",
                )
            self._log_matching(node, e, prev_term)
            prev_term = e.term

    def _log_matching(self, node: int, e: Entry, prev_term: int) -> None:
        """Same (index, term) => same entry after the same (index - 1, term); by induction, identical
        prefixes. Entries only leave a log from a suffix, so the pairing recorded here stays true."""
        key = (e.index, e.term)
        shape = (e.type, e.data, prev_term)
        seen = self._log.setdefault(key, shape)
        if seen != shape:
            raise InvariantViolation(
                "log matching",
                f"node {node} holds {e.term}/{e.index} {e.type.name} {e.data!r} after term {prev_term}; "
                f"another log has {seen[0].name} {seen[1]!r} after term {seen[2]}",
            )

    def snapshot_installed(self, node: int, disk: Disk, snap: Snapshot, term: int) -> None:
        meta = snap.metadata
        if meta.index <= disk.snap_index:
            raise InvariantViolation(
                "snapshots move forward", f"node {node} got snapshot {meta.index} holding {disk.snap_index}"
            )
        self._commit_index(node, meta.index, meta.term, term)

    def commit(self, node: int, disk: Disk, old: int, new: int) -> None:
        """`disk` already holds this Ready's entries and hard state."""
        if new > disk.last_index():
            raise InvariantViolation(
                "commit within durable log",
                f"node {node} commit {new} > last durable index {disk.last_index()}",
            )
        for i in range(max(old, disk.snap_index) + 1, new + 1):
            term = disk.term(i)
            assert term is not None
            self._commit_index(node, i, term, disk.hard_state.term)

    def _commit_index(self, node: int, index: int, term: int, observed_term: int) -> None:
        known = self._committed.get(index)
        if known is None:
            self._committed[index] = _Committed(term, observed_term)
            self.max_committed = max(self.max_committed, index)
        elif known.term != term:
            raise InvariantViolation(
                "committed entries never change",
                f"node {node} committed {term}/{index}; {known.term}/{index} was committed before",
            )
        else:
            known.observed_term = min(known.observed_term, observed_term)

    # ---- elections --------------------------------------------------------------------------------

    def leader(self, node: int, term: int, disk: Disk) -> None:
        other = self.leaders.setdefault(term, node)
        if other != node:
            raise InvariantViolation("election safety", f"nodes {other} and {node} both led term {term}")
        for i in range(disk.snap_index + 1, self.max_committed + 1):
            known = self._committed.get(i)
            if known is not None and known.observed_term < term and disk.term(i) != known.term:
                raise InvariantViolation(
                    "leader completeness",
                    f"node {node} leads term {term} without committed {known.term}/{i} "
                    f"(committed in term {known.observed_term}; it holds term {disk.term(i)} there)",
                )

    # ---- applying ---------------------------------------------------------------------------------

    def applied(self, node: int, e: Entry, digest: bytes) -> None:
        first = self._applied.setdefault(e.index, e)
        if first != e:
            raise InvariantViolation(
                "state machine safety",
                f"node {node} applied {_describe(e)}; another applied {_describe(first)}",
            )
        if self._digests.setdefault(e.index, digest) != digest:
            raise InvariantViolation("state machine safety", f"node {node} state diverges at index {e.index}")

    def snapshot_applied(self, node: int, snap: Snapshot, digest: bytes) -> None:
        index = snap.metadata.index
        known = self._digests.get(index)
        if known != digest:
            what = (
                "no node applied that index" if known is None else "its state differs from the nodes' there"
            )
            raise InvariantViolation("state machine safety", f"node {node} restored snapshot {index}: {what}")

    # ---- reads ------------------------------------------------------------------------------------

    def read_issued(self, ctx: bytes) -> None:
        self._reads[ctx] = self.max_committed

    def read_state(self, node: int, rs: ReadState) -> None:
        floor = self._reads.get(rs.request_ctx)
        if floor is None:
            raise InvariantViolation(
                "read index", f"node {node} got a ReadState for unknown {rs.request_ctx!r}"
            )
        if not floor <= rs.index <= self.max_committed:
            raise InvariantViolation(
                "linearizable read index",
                f"node {node} read {rs.request_ctx!r} at {rs.index}: index {floor} was committed when it was "
                f"issued, {self.max_committed} is the highest committed now",
            )


def _span(ents: Sequence[Entry]) -> str:
    return ",".join(str(e.index) for e in ents)


def _describe(e: Entry) -> str:
    return f"{e.term}/{e.index} {e.type.name} {e.data!r}"
