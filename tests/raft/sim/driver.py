"""The simulation's driver: chaos and calm phases, the faults of a chaos phase, and the liveness probe.

A chaos phase draws the network's weather (healthy, a symmetric partition, one-way cuts) for spans of
several election timeouts, crashes nodes for a random downtime, and mixes in client and operator
actions. A calm phase heals the network, restarts every member, and keeps a probe proposal at the leader
until one commits: that is the liveness check.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from etcdpy.raft.raftpb import ConfChange, ConfChangeType
from tests.raft.sim.actions import Actions
from tests.raft.sim.disk import Disk
from tests.raft.sim.invariants import InvariantViolation
from tests.raft.sim.node import SimNode
from tests.raft.sim.params import (
    CHAOS_TICKS,
    DOWNTIME_TICKS,
    LIVENESS_TICKS,
    SETTLE_TICKS,
    TICK,
    WEATHER_TICKS,
)
from tests.raft.sim.profile import Profile

if TYPE_CHECKING:
    from tests.raft.sim.simulation import Simulation


class Driver:
    """Invariant: in a calm phase the network is healed and fault-free and every member that was not
    removed is up. `settled_at` is when the calm phase's probe committed (or, without pre-vote, when
    the phase gave up waiting for it)."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.rng = sim.rng
        self.profile = Profile.draw(self.rng)
        self.actions = Actions(sim)
        self.calm = True
        self.round = 0
        self.calm_since = 0
        self.settled_at: int | None = None
        self.until = 0
        self.removed: set[int] = set()
        """Members whose removal some node applied: never restarted (etcd never readmits a member)."""
        self._probe_at: tuple[int, int, int] | None = None
        self._weather_until = 0
        self._down_until: dict[int, int] = {}
        a = self.actions
        self._chaos = [a.propose, a.read, a.compact, a.transfer, a.campaign, a.change_membership, self._crash]
        self._chaos_weights = [30, 10, 5, 3, 2, 5, self.profile.crash_weight]
        self._calm = [a.propose, a.read, a.compact]
        self._calm_weights = [6, 2, 1]

    # ---- phases -----------------------------------------------------------------------------------

    def begin(self) -> None:
        self._enter_calm()
        self.sim.schedule_first_action()

    def finished(self) -> bool:
        return self.sim.step >= self.sim.cfg.steps and self.calm and self.settled_at is not None

    def next_gap(self) -> int:
        return self.rng.randint(1, self.profile.action_gap)

    def _enter_calm(self) -> None:
        sim = self.sim
        self.calm, self.round, self.calm_since, self.settled_at = True, self.round + 1, sim.now, None
        self._probe_at = None
        sim.calm_network()
        sim.record("calm", f"round={self.round}")
        for node in list(sim.nodes.values()):
            self._restart(node)

    def _enter_chaos(self) -> None:
        self.calm = False
        self.until = self.sim.now + self.rng.randint(*CHAOS_TICKS) * TICK
        self._weather_until = self.sim.now
        self.sim.network.faults = self.profile.faults
        self.sim.record("chaos", f"until={self.until}")

    def act(self) -> None:
        sim = self.sim
        if self.calm:
            if self.settled_at is not None and sim.now >= self.until and sim.step < sim.cfg.steps:
                self._enter_chaos()
        elif sim.now >= self.until or sim.step >= sim.cfg.steps:
            self._enter_calm()
        if self.calm:
            self._probe()
            self.rng.choices(self._calm, self._calm_weights)[0]()
            return
        self._weather()
        for node_id, t in list(self._down_until.items()):
            if t <= sim.now:
                self._restart(sim.nodes[node_id])
        self.rng.choices(self._chaos, self._chaos_weights)[0]()

    # ---- faults -----------------------------------------------------------------------------------

    def _weather(self) -> None:
        sim, rng = self.sim, self.rng
        if sim.now < self._weather_until:
            return
        self._weather_until = sim.now + rng.randint(*WEATHER_TICKS) * TICK
        ids = [n.id for n in sim.nodes.values() if not n.left]
        kind = rng.choices(["healthy", "partition", "one-way"], [2, 2, 1])[0]
        if kind == "healthy":
            sim.network.heal()
            sim.record("heal")
        elif kind == "partition":
            leader = sim.leader()
            side = set(rng.sample(ids, rng.randint(1, len(ids) // 2)))
            if leader is not None and rng.random() < 0.5:
                side = {leader.id}
            rest = set(ids) - side
            sim.network.partition(side, rest)
            sim.record("partition", sorted(side), "|", sorted(rest))
            sim.stats["partitions"] += 1
        else:
            sim.network.heal()
            for _ in range(rng.randint(1, 2)):
                frm, to = rng.sample(ids, 2)
                sim.network.cut_one_way(frm, to)
            sim.record("cut", " ".join(f"{f}->{t}" for f, t in sim.network.cuts()))
            sim.stats["one-way cuts"] += 1

    def _crash(self) -> None:
        up = self.actions.up()
        if len(up) > 1:
            node = self.actions.leader_or_any(up)
            node.crash()
            self._crashed(node, "crash")

    def crash_before_persist(self, node: SimNode) -> bool:
        if self.calm or self.rng.random() >= self.profile.crash_before_persist:
            return False
        self._crashed(node, "crash-before-persist")
        return True

    def _crashed(self, node: SimNode, how: str) -> None:
        self._down_until[node.id] = self.sim.now + self.rng.randint(*DOWNTIME_TICKS) * TICK
        self.sim.record(how, node.id)
        self.sim.stats[how] += 1

    def _restart(self, node: SimNode) -> None:
        self._down_until.pop(node.id, None)
        if not node.up and not node.left and node.id not in self.removed:
            self.sim.stats["restarts"] += 1
            self.sim.start(node)

    # ---- liveness ---------------------------------------------------------------------------------

    def _probe(self) -> None:
        """Keep one probe proposal at the current leader until one commits."""
        if self.settled_at is not None:
            return
        leader = self.sim.leader()
        if leader is None:
            return
        at = (leader.id, leader.incarnation, leader.term)
        if at != self._probe_at and self.actions.propose_at(
            leader, b"probe%d-%d" % (self.round, self.actions.unique())
        ):
            self._probe_at = at

    def check_liveness(self) -> None:
        """Only under pre-vote (etcd's default): without it, a lagging voter whose configuration still
        names a departed peer can out-term the real candidate forever, since etcd ignores a MsgVote of
        a lower term; then the calm phase gives up and chaos resumes."""
        sim = self.sim
        if not self.calm or self.settled_at is not None or sim.now <= self.calm_since + LIVENESS_TICKS * TICK:
            return
        if not self.profile.pre_vote:
            sim.stats["calm phases not live (no pre-vote)"] += 1
            sim.record("not-live", f"round={self.round}")
            self.settled_at = sim.now
            return
        states = ", ".join(
            f"{n.id}:{n.role.name.lower() if n.up else 'down'}@{n.term}"
            for n in sim.nodes.values()
            if not n.left
        )
        raise InvariantViolation(
            "liveness",
            f"no proposal committed within {LIVENESS_TICKS} ticks of calm phase {self.round} "
            f"(healed at t={self.calm_since}); nodes {states}",
        )

    # ---- callbacks from nodes -----------------------------------------------------------------------

    def entry_applied(self, node: SimNode, data: bytes) -> None:
        if self.calm and self.settled_at is None and data.startswith(b"probe%d-" % self.round):
            self.settled_at = self.sim.now
            self.until = self.sim.now + self.rng.randint(*SETTLE_TICKS) * TICK
            self.sim.stats["calm phases live"] += 1
            self.sim.record("live", f"round={self.round}", f"after={self.sim.now - self.calm_since}")

    def conf_change_applied(self, node: SimNode, cc: ConfChange) -> None:
        sim = self.sim
        sim.record("apply-conf-change", node.id, cc.type.name, cc.node_id)
        sim.stats[f"{cc.type.name} applications"] += 1
        if cc.type == ConfChangeType.REMOVE_NODE:
            self.removed.add(cc.node_id)
        elif cc.node_id not in sim.nodes:
            sim.stats["members added"] += 1
            sim.record("new-member", cc.node_id)
            sim.add_node(cc.node_id, Disk())
