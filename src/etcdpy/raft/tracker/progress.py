"""A leader's view of one follower's log: how far it matches, what to send next, and how."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from etcdpy.raft.tracker.inflights import Inflights


class ProgressState(enum.IntEnum):
    PROBE = 0
    """Next is a guess: send one MsgApp per heartbeat interval until the follower answers."""
    REPLICATE = 1
    """Next is known: stream MsgApps optimistically, bounded by the inflights window."""
    SNAPSHOT = 2
    """A snapshot is on its way: send nothing until it is reported applied or failed."""

    def describe(self) -> str:
        return _STATE_NAMES[self]


_STATE_NAMES = {
    ProgressState.PROBE: "StateProbe",
    ProgressState.REPLICATE: "StateReplicate",
    ProgressState.SNAPSHOT: "StateSnapshot",
}


@dataclass(slots=True, eq=False)
class Progress:
    """Invariant: match < next; entries up to `match` are known to be in the follower's log.

    `pending_snapshot` is the index of the snapshot in flight (SNAPSHOT state only). `recent_active` is
    set by any message from the follower and cleared by each CheckQuorum round. `probe_sent` pauses a
    PROBE follower until it answers or a heartbeat response arrives.
    """

    match: int
    next: int
    inflights: Inflights
    is_learner: bool = False
    state: ProgressState = ProgressState.PROBE
    pending_snapshot: int = 0
    recent_active: bool = False
    probe_sent: bool = False

    def copy(self) -> Progress:
        """A copy with its own inflights (membership changes work on copies)."""
        return Progress(
            self.match,
            self.next,
            self.inflights.clone(),
            self.is_learner,
            self.state,
            self.pending_snapshot,
            self.recent_active,
            self.probe_sent,
        )

    def _reset_state(self, state: ProgressState) -> None:
        self.probe_sent = False
        self.pending_snapshot = 0
        self.state = state
        self.inflights.reset()

    def become_probe(self) -> None:
        """Probe from just after what is known to match; after a snapshot, from just after the snapshot."""
        if self.state == ProgressState.SNAPSHOT:
            pending = self.pending_snapshot
            self._reset_state(ProgressState.PROBE)
            self.next = max(self.match + 1, pending + 1)
        else:
            self._reset_state(ProgressState.PROBE)
            self.next = self.match + 1

    def become_replicate(self) -> None:
        self._reset_state(ProgressState.REPLICATE)
        self.next = self.match + 1

    def become_snapshot(self, snapshot_index: int) -> None:
        self._reset_state(ProgressState.SNAPSHOT)
        self.pending_snapshot = snapshot_index

    def maybe_update(self, n: int) -> bool:
        """The follower acknowledged index `n`; returns whether `match` moved."""
        updated = False
        if self.match < n:
            self.match = n
            updated = True
            self.probe_sent = False
        if self.next < n + 1:
            self.next = n + 1
        return updated

    def optimistic_update(self, n: int) -> None:
        self.next = n + 1

    def maybe_decr_to(self, rejected: int, match_hint: int) -> bool:
        """The follower rejected a MsgApp at index `rejected`; `match_hint` is the highest index that may
        still match. Returns False when the rejection is stale (it answers an older MsgApp)."""
        if self.state == ProgressState.REPLICATE:
            if rejected <= self.match:
                return False
            self.next = self.match + 1
            return True
        if self.next - 1 != rejected:
            return False
        self.next = max(min(rejected, match_hint + 1), 1)
        self.probe_sent = False
        return True

    def is_paused(self) -> bool:
        """Whether the leader must hold MsgApps back from this follower for now."""
        state = self.state
        if state == ProgressState.PROBE:
            return self.probe_sent
        if state == ProgressState.REPLICATE:
            return self.inflights.full()
        return True

    def __str__(self) -> str:
        parts = [f"{self.state.describe()} match={self.match} next={self.next}"]
        if self.is_learner:
            parts.append("learner")
        if self.is_paused():
            parts.append("paused")
        if self.pending_snapshot > 0:
            parts.append(f"pendingSnap={self.pending_snapshot}")
        if not self.recent_active:
            parts.append("inactive")
        n = self.inflights.count()
        if n > 0:
            parts.append(f"inflight={n}" + ("[full]" if self.inflights.full() else ""))
        return " ".join(parts)
