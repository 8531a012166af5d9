"""Computing the configuration (and Progress map) that results from a membership change.

Every operation works on copies and either returns a new, valid (TrackerConfig, progress) pair or raises
ConfigError leaving the input untouched.
"""

from __future__ import annotations

from collections.abc import Sequence

from etcdpy.raft.errors import ConfigError
from etcdpy.raft.quorum import JointConfig
from etcdpy.raft.raftpb import ConfChangeSingle, ConfChangeType
from etcdpy.raft.tracker import Inflights, Progress, TrackerConfig

Result = tuple[TrackerConfig, dict[int, Progress]]


class _Draft:
    """A mutable copy of a configuration being changed."""

    def __init__(self, config: TrackerConfig, progress: dict[int, Progress]) -> None:
        self.incoming = set(config.voters.incoming)
        self.outgoing = set(config.voters.outgoing)
        self.learners = set(config.learners)
        self.learners_next = set(config.learners_next)
        self.auto_leave = config.auto_leave
        self.progress = {member: pr.copy() for member, pr in progress.items()}

    def result(self) -> Result:
        _check_invariants(self)
        config = TrackerConfig(
            JointConfig(frozenset(self.incoming), frozenset(self.outgoing)),
            frozenset(self.learners),
            frozenset(self.learners_next),
            self.auto_leave,
        )
        return config, self.progress


class Changer:
    """Membership changes against (`config`, `progress`); new members start probing at `last_index`."""

    def __init__(
        self, config: TrackerConfig, progress: dict[int, Progress], max_inflight: int, last_index: int
    ) -> None:
        self.config = config
        self.progress = progress
        self.max_inflight = max_inflight
        self.last_index = last_index

    def _draft(self) -> _Draft:
        draft = _Draft(self.config, self.progress)
        _check_invariants(draft)
        return draft

    def enter_joint(self, auto_leave: bool, changes: Sequence[ConfChangeSingle]) -> Result:
        """Enter the joint configuration (current voters) && (voters after `changes`)."""
        draft = self._draft()
        if draft.outgoing:
            raise ConfigError("config is already joint")
        if not draft.incoming:
            raise ConfigError("can't make a zero-voter config joint")
        draft.outgoing = set(draft.incoming)
        self._apply(draft, changes)
        draft.auto_leave = auto_leave
        return draft.result()

    def leave_joint(self) -> Result:
        """Drop the outgoing half; its voters that are neither incoming voters nor learners are removed."""
        draft = self._draft()
        if not draft.outgoing:
            raise ConfigError("can't leave a non-joint config")
        for member in draft.learners_next:
            draft.learners.add(member)
            draft.progress[member].is_learner = True
        draft.learners_next.clear()
        for member in draft.outgoing:
            if member not in draft.incoming and member not in draft.learners:
                del draft.progress[member]
        draft.outgoing.clear()
        draft.auto_leave = False
        return draft.result()

    def simple(self, changes: Sequence[ConfChangeSingle]) -> Result:
        """Apply `changes` directly; at most one voter may be added or removed this way."""
        draft = self._draft()
        if draft.outgoing:
            raise ConfigError("can't apply simple config change in joint config")
        self._apply(draft, changes)
        if len(self.config.voters.incoming ^ draft.incoming) > 1:
            raise ConfigError("more than one voter changed without entering joint config")
        return draft.result()

    def _apply(self, draft: _Draft, changes: Sequence[ConfChangeSingle]) -> None:
        for cc in changes:
            if cc.node_id == 0:
                continue
            if cc.type == ConfChangeType.ADD_NODE:
                self._make_voter(draft, cc.node_id)
            elif cc.type == ConfChangeType.ADD_LEARNER_NODE:
                self._make_learner(draft, cc.node_id)
            elif cc.type == ConfChangeType.REMOVE_NODE:
                _remove(draft, cc.node_id)
            elif cc.type != ConfChangeType.UPDATE_NODE:
                raise ConfigError(f"unexpected conf type {cc.type}")
        if not draft.incoming:
            raise ConfigError("removed all voters")

    def _make_voter(self, draft: _Draft, member: int) -> None:
        pr = draft.progress.get(member)
        if pr is None:
            self._init_progress(draft, member, is_learner=False)
            return
        pr.is_learner = False
        draft.learners.discard(member)
        draft.learners_next.discard(member)
        draft.incoming.add(member)

    def _make_learner(self, draft: _Draft, member: int) -> None:
        """A voter being demoted while joint stays a voter of the outgoing half until the joint state is
        left (learners_next); otherwise it becomes a learner now."""
        pr = draft.progress.get(member)
        if pr is None:
            self._init_progress(draft, member, is_learner=True)
            return
        if pr.is_learner:
            return
        _remove(draft, member)
        draft.progress[member] = pr
        if member in draft.outgoing:
            draft.learners_next.add(member)
        else:
            pr.is_learner = True
            draft.learners.add(member)

    def _init_progress(self, draft: _Draft, member: int, is_learner: bool) -> None:
        (draft.learners if is_learner else draft.incoming).add(member)
        draft.progress[member] = Progress(
            match=0,
            next=max(self.last_index, 1),
            inflights=Inflights(self.max_inflight),
            is_learner=is_learner,
            recent_active=True,
        )


def _remove(draft: _Draft, member: int) -> None:
    """Remove `member`; its Progress stays while it is still a voter of the outgoing half."""
    if member not in draft.progress:
        return
    draft.incoming.discard(member)
    draft.learners.discard(member)
    draft.learners_next.discard(member)
    if member not in draft.outgoing:
        del draft.progress[member]


def _check_invariants(draft: _Draft) -> None:
    for member in draft.incoming | draft.outgoing | draft.learners | draft.learners_next:
        if member not in draft.progress:
            raise ConfigError(f"no progress for {member}")
    for member in draft.learners_next:
        if member not in draft.outgoing:
            raise ConfigError(f"{member} is in LearnersNext, but not Voters[1]")
        if draft.progress[member].is_learner:
            raise ConfigError(f"{member} is in LearnersNext, but is already marked as learner")
    for member in draft.learners:
        if member in draft.outgoing:
            raise ConfigError(f"{member} is in Learners and Voters[1]")
        if member in draft.incoming:
            raise ConfigError(f"{member} is in Learners and Voters[0]")
        if not draft.progress[member].is_learner:
            raise ConfigError(f"{member} is in Learners, but is not marked as learner")
    if not draft.outgoing:
        if draft.learners_next:
            raise ConfigError("LearnersNext must be nil when not joint")
        if draft.auto_leave:
            raise ConfigError("AutoLeave must be false when not joint")
