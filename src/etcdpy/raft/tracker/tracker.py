"""The active configuration and the per-member Progress of a Raft group, with vote bookkeeping."""

from __future__ import annotations

from dataclasses import dataclass

from etcdpy.raft.quorum import JointConfig, VoteResult, describe
from etcdpy.raft.raftpb import ConfState
from etcdpy.raft.tracker.progress import Progress

_NO_VOTERS = JointConfig()


@dataclass(frozen=True, slots=True)
class TrackerConfig:
    """A membership configuration.

    Invariants: learners are disjoint from both halves of `voters`; `learners_next` (voters of the
    outgoing half to become learners when the joint state is left) and `auto_leave` are set only while
    joint.
    """

    voters: JointConfig = _NO_VOTERS
    learners: frozenset[int] = frozenset()
    learners_next: frozenset[int] = frozenset()
    auto_leave: bool = False

    def __str__(self) -> str:
        text = f"voters={self.voters}"
        if self.learners:
            text += f" learners={describe(self.learners)}"
        if self.learners_next:
            text += f" learners_next={describe(self.learners_next)}"
        if self.auto_leave:
            text += " autoleave"
        return text


class ProgressTracker:
    """Invariant: `progress` has exactly the members of `config` (voters of both halves and learners);
    `ids` is their sorted list, the order in which the leader visits them."""

    __slots__ = ("config", "ids", "max_inflight", "progress", "votes")

    def __init__(self, max_inflight: int) -> None:
        self.max_inflight = max_inflight
        self.config = TrackerConfig()
        self.progress: dict[int, Progress] = {}
        self.ids: list[int] = []
        self.votes: dict[int, bool] = {}

    def set_config(self, config: TrackerConfig, progress: dict[int, Progress]) -> None:
        self.config = config
        self.progress = progress
        self.ids = sorted(progress)

    def conf_state(self) -> ConfState:
        cfg = self.config
        return ConfState(
            voters=tuple(sorted(cfg.voters.incoming)),
            learners=tuple(sorted(cfg.learners)),
            voters_outgoing=tuple(sorted(cfg.voters.outgoing)),
            learners_next=tuple(sorted(cfg.learners_next)),
            auto_leave=cfg.auto_leave,
        )

    def is_singleton(self) -> bool:
        voters = self.config.voters
        return len(voters.incoming) == 1 and not voters.outgoing

    def _acked(self, member: int) -> int | None:
        pr = self.progress.get(member)
        return None if pr is None else pr.match

    def committed(self) -> int:
        """The largest index replicated on a quorum of voters (learners never count)."""
        return self.config.voters.committed_index(self._acked)

    def quorum_active(self) -> bool:
        """Whether a quorum of voters was heard from since the last CheckQuorum round."""
        active = {m: pr.recent_active for m, pr in self.progress.items() if not pr.is_learner}
        return self.config.voters.vote_result(active) == VoteResult.WON

    def voter_nodes(self) -> list[int]:
        return sorted(self.config.voters.ids())

    def learner_nodes(self) -> list[int]:
        return sorted(self.config.learners)

    def reset_votes(self) -> None:
        self.votes = {}

    def record_vote(self, member: int, granted: bool) -> None:
        """Only the first answer of each member counts."""
        self.votes.setdefault(member, granted)

    def tally_votes(self) -> tuple[int, int, VoteResult]:
        """(granted, rejected, result) over the voters' recorded answers."""
        granted = rejected = 0
        for member, pr in self.progress.items():
            if pr.is_learner:
                continue
            vote = self.votes.get(member)
            if vote is True:
                granted += 1
            elif vote is False:
                rejected += 1
        return granted, rejected, self.config.voters.vote_result(self.votes)
