"""What clients and operators do to the cluster: propose, read, compact, transfer leadership, change
membership. Each action picks its target with the simulation's Random and drains the target's Ready loop.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from etcdpy.raft.errors import ProposalDroppedError
from etcdpy.raft.raftpb import ConfChange, ConfChangeType
from tests.raft.sim.node import SimNode
from tests.raft.sim.params import KEEP_ENTRIES

if TYPE_CHECKING:
    from tests.raft.sim.simulation import Simulation


class Actions:
    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.rng = sim.rng
        self._counter = 0
        self._next_id = sim.cfg.nodes + sim.cfg.learners + 1
        self._max_members = sim.cfg.nodes + sim.cfg.learners + 2

    def unique(self) -> int:
        self._counter += 1
        return self._counter

    def up(self) -> list[SimNode]:
        return [n for n in self.sim.nodes.values() if n.up]

    def random_up(self) -> SimNode | None:
        up = self.up()
        return self.rng.choice(up) if up else None

    def leader_or_any(self, nodes: list[SimNode]) -> SimNode:
        """The leader half of the time (the interesting victim or target), else any of `nodes`."""
        leader = self.sim.leader()
        return leader if leader is not None and self.rng.random() < 0.5 else self.rng.choice(nodes)

    def propose(self) -> None:
        up = self.up()
        if up:
            self.propose_at(self.leader_or_any(up), b"c%d" % self.unique())

    def propose_at(self, node: SimNode, data: bytes) -> bool:
        """Whether the node took the proposal."""
        assert node.raw is not None
        try:
            node.raw.propose(data)
        except ProposalDroppedError:
            self.sim.record("propose-dropped", node.id, data)
            return False
        self.sim.record("propose", node.id, data)
        self.sim.stats["proposals"] += 1
        self.sim.handle(node)
        return True

    def read(self) -> None:
        up = self.up()
        if not up:
            return
        node = self.leader_or_any(up)
        assert node.raw is not None
        ctx = b"r%d" % self.unique()
        self.sim.checker.read_issued(ctx)
        node.raw.read_index(ctx)
        self.sim.record("read-index", node.id, ctx)
        self.sim.stats["reads"] += 1
        self.sim.handle(node)

    def compact(self) -> None:
        node = self.random_up()
        if node is None:
            return
        index = node.compact(self.rng.randint(*KEEP_ENTRIES))
        if index:
            self.sim.record("compact", node.id, f"snapshot={index}")
            self.sim.stats["compactions"] += 1

    def campaign(self) -> None:
        """An election forced on a random node (as if its timer fired early)."""
        node = self.random_up()
        if node is not None and node.raw is not None:
            self.sim.record("campaign", node.id)
            node.raw.campaign()
            self.sim.handle(node)

    def transfer(self) -> None:
        leader = self.sim.leader()
        if leader is None or leader.raw is None or leader.sm is None:
            return
        targets = [v for v in leader.sm.conf_state.voters if v != leader.id]
        if targets:
            to = self.rng.choice(targets)
            self.sim.record("transfer-leader", leader.id, to)
            self.sim.stats["transfers"] += 1
            leader.raw.transfer_leader(to)
            self.sim.handle(leader)

    def change_membership(self) -> None:
        """At the leader: add a learner, promote one, remove a learner or (keeping two voters) a voter,
        the leader included. New members get fresh IDs, as etcd never reuses one."""
        leader = self.sim.leader()
        if leader is None or leader.raw is None or leader.sm is None:
            return
        cs = leader.sm.conf_state
        kinds: list[tuple[ConfChangeType, tuple[int, ...]]] = []
        if len(cs.voters) + len(cs.learners) < self._max_members:
            kinds.append((ConfChangeType.ADD_LEARNER_NODE, (self._next_id,)))
        if cs.learners:
            kinds += [(ConfChangeType.ADD_NODE, cs.learners), (ConfChangeType.REMOVE_NODE, cs.learners)]
        if len(cs.voters) >= 3:
            kinds.append((ConfChangeType.REMOVE_NODE, cs.voters))
        if not kinds:
            return
        cc_type, candidates = self.rng.choice(kinds)
        node_id = self.rng.choice(candidates)
        if node_id == self._next_id:
            self._next_id += 1
        try:
            leader.raw.propose_conf_change(ConfChange(cc_type, node_id))
        except ProposalDroppedError:
            self.sim.record("conf-change-dropped", leader.id, cc_type.name, node_id)
            return
        self.sim.record("propose-conf-change", leader.id, cc_type.name, node_id)
        self.sim.stats["conf changes proposed"] += 1
        if node_id == leader.id:
            self.sim.stats["leader removals proposed"] += 1
        self.sim.handle(leader)
