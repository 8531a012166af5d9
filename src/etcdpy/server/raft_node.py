"""The member's Raft node: the pure core (`etcdpy.raft.RawNode`) over a MemoryStorage that mirrors
what the WAL holds.

The server's driver loop owns the order of effects for each Ready: the WAL write (and fsync when
`must_sync`), then `persisted(rd)` to mirror it into the MemoryStorage, then sending, then
applying, then `advance(rd)`. Raft reads its log only from the MemoryStorage, so an entry is
visible to it as stable only once it is in the WAL.

Starting: a new member bootstraps the initial configuration as etcd does (one conf-change entry per
member at term 1, committed); a restarting member loads the WAL (from its newest usable snapshot
marker) and takes its configuration from the backend's membership, which is the configuration as
of the backend's consistent index, the index it resumes applying after.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence

from etcdpy.raft.config import Config
from etcdpy.raft.errors import ProposalDroppedError
from etcdpy.raft.raftpb import (
    ConfChange,
    ConfState,
    Entry,
    HardState,
    Ready,
    Snapshot,
    SnapshotMeta,
    StateType,
)
from etcdpy.raft.rawnode import Peer, RawNode
from etcdpy.raft.storage import MemoryStorage

# A member's ticks: one per --heartbeat-interval; an election timeout is election/heartbeat ticks.
MAX_INFLIGHT_MSGS = 512
MAX_SIZE_PER_MSG = 1 << 20


class RaftNode:
    """Invariant: `storage` holds exactly the entries and hard state the WAL holds durably."""

    def __init__(self, member_id: int, storage: MemoryStorage, applied: int, *, election_ticks: int,
                 rand: random.Random) -> None:
        self.member_id = member_id
        self.storage = storage
        self.node = RawNode(Config(
            id=member_id, storage=storage, rand=rand, election_tick=election_ticks, heartbeat_tick=1,
            applied=applied, max_size_per_msg=MAX_SIZE_PER_MSG, max_inflight_msgs=MAX_INFLIGHT_MSGS,
            check_quorum=True, pre_vote=True,
        ))

    @classmethod
    def bootstrap(cls, member_id: int, peers: Iterable[Peer], *, election_ticks: int,
                  rand: random.Random) -> RaftNode:
        node = cls(member_id, MemoryStorage(), 0, election_ticks=election_ticks, rand=rand)
        node.node.bootstrap(peers)
        return node

    @classmethod
    def restart(cls, member_id: int, snap: SnapshotMeta, hard_state: HardState, entries: Sequence[Entry],
                *, election_ticks: int, rand: random.Random) -> RaftNode:
        """Resume from the WAL read from its snapshot marker `snap` (index 0: from the beginning).
        Raft hands out again every committed entry after `snap`; the server skips those its backend
        holds already, but applies their conf changes to raft, whose configuration starts from the
        marker's."""
        storage = MemoryStorage()
        if snap.index:
            storage.apply_snapshot(Snapshot(metadata=snap))
        storage.set_hard_state(hard_state)
        storage.append(entries)
        return cls(member_id, storage, snap.index, election_ticks=election_ticks, rand=rand)

    # ---- state ------------------------------------------------------------------------------------

    @property
    def term(self) -> int:
        return self.node.raft.term

    @property
    def leader(self) -> int:
        return self.node.raft.lead

    @property
    def is_leader(self) -> bool:
        return self.node.raft.state == StateType.LEADER

    @property
    def committed(self) -> int:
        return self.node.raft.log.committed

    @property
    def is_single_voter(self) -> bool:
        """Whether this member is the only voter: it may then elect itself at once."""
        return self.node.raft.prs.voter_nodes() == [self.member_id]

    # ---- input ------------------------------------------------------------------------------------

    def tick(self) -> None:
        self.node.tick()

    def campaign(self) -> None:
        self.node.campaign()

    def propose(self, datas: Sequence[bytes]) -> bool:
        """Append entries of `datas` to the log if there is a leader to take them; False if raft
        dropped them (all of them: a batch is taken or dropped whole)."""
        try:
            self.node.propose_batch(datas)
        except ProposalDroppedError:
            return False
        return True

    # ---- output -----------------------------------------------------------------------------------

    def has_ready(self) -> bool:
        return self.node.has_ready()

    def ready(self) -> Ready:
        return self.node.ready()

    def persisted(self, rd: Ready) -> None:
        """rd's snapshot, hard state and entries are in the WAL: let raft read them as stable."""
        if rd.snapshot is not None:
            self.storage.apply_snapshot(rd.snapshot)
        if rd.hard_state is not None:
            self.storage.set_hard_state(rd.hard_state)
        if rd.entries:
            self.storage.append(rd.entries)

    def advance(self, rd: Ready) -> None:
        self.node.advance(rd)

    def apply_conf_change(self, cc: ConfChange) -> ConfState:
        return self.node.apply_conf_change(cc)

    def learner_ready(self, learner: int) -> bool:
        """etcd's rule for promoting a learner: its log matches at least 90 % of the leader's."""
        pr = self.node.raft.prs.progress.get(learner)
        if pr is None:
            return False
        return pr.match >= 0.9 * self.node.raft.log.last_index()

    def conf_state(self) -> ConfState:
        return self.node.raft.prs.conf_state()

    def compact(self, applied: int, keep: int) -> None:
        """Everything up to `applied` is in the backend durably: make it the snapshot raft sends to
        followers too far behind, and drop all but the last `keep` entries before it from memory, so
        that a slightly lagging follower still catches up from the log."""
        storage = self.storage
        storage.create_snapshot(applied, self.conf_state(), b"")
        keep_from = applied - keep
        if keep_from > storage.first_index():
            storage.compact(keep_from)
