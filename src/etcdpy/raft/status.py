"""A snapshot of a member's Raft state for the driver, metrics and debugging."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from etcdpy.raft.raftpb import HardState, SoftState, StateType
from etcdpy.raft.tracker import Progress, TrackerConfig

if TYPE_CHECKING:
    from etcdpy.raft.raft import Raft


@dataclass(frozen=True, slots=True)
class Status:
    """`progress` (copies) is filled only on the leader."""

    id: int
    hard_state: HardState
    soft_state: SoftState
    applied: int
    lead_transferee: int
    config: TrackerConfig
    progress: dict[int, Progress] = field(default_factory=dict)

    @classmethod
    def of(cls, r: Raft) -> Status:
        progress = {}
        if r.state == StateType.LEADER:
            progress = {member: r.prs.progress[member].copy() for member in r.prs.ids}
        return cls(
            r.id, r.hard_state(), r.soft_state(), r.log.applied, r.lead_transferee, r.prs.config, progress
        )
