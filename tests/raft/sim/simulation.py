"""The simulation: a discrete-event loop over node ticks, message arrivals and a fault-injecting driver.

One seeded random.Random decides everything (the fault profile, latencies, the driver's choices, each
node's own Random), and events at equal times run in the order they were scheduled, so a seed replays
byte for byte. The run alternates chaos phases (loss, duplication, long delays, partitions, crashes,
leader transfers, membership changes) with calm phases, which check liveness: with the network healed
and every member up, some leader must commit a new proposal within LIVENESS_TICKS. The run ends with a
calm phase once the step budget is spent.
"""

from __future__ import annotations

import heapq
import random
import traceback
from collections import Counter
from dataclasses import dataclass, replace

from etcdpy.raft.config import Config
from etcdpy.raft.errors import RaftError
from etcdpy.raft.raftpb import ConfChange, ConfState, Message, MessageType, Snapshot, SnapshotMeta, StateType
from tests.raft.sim.disk import Disk
from tests.raft.sim.driver import Driver
from tests.raft.sim.invariants import Checker, InvariantViolation
from tests.raft.sim.network import CALM, Flight, Network
from tests.raft.sim.node import SimNode
from tests.raft.sim.params import BOOT_INDEX, ELECTION_TICK, HEARTBEAT_TICK, TICK
from tests.raft.sim.statemachine import GENESIS, encode_image
from tests.raft.sim.trace import Trace

_TICK, _DELIVER, _ACT = 0, 1, 2


@dataclass(frozen=True, slots=True)
class SimConfig:
    seed: int
    nodes: int = 3
    learners: int = 0
    steps: int = 3000
    full_trace: bool = False

    def replay_command(self) -> str:
        return (
            f"python -m tests.raft.sim.run --seed {self.seed} --nodes {self.nodes} "
            f"--learners {self.learners} --steps {self.steps} --trace"
        )


class SimulationFailure(AssertionError):
    def __init__(self, report: str, violation: InvariantViolation, trace: list[str]) -> None:
        super().__init__(report)
        self.violation = violation
        self.trace = trace


@dataclass(frozen=True, slots=True)
class Result:
    stats: Counter[str]
    trace: list[str]


class Simulation:
    def __init__(self, cfg: SimConfig) -> None:
        self.cfg = cfg
        self.rng = random.Random(cfg.seed)
        self.now = 0
        self.step = 0
        self.stats: Counter[str] = Counter()
        self.trace = Trace(cfg.full_trace)
        self.network = Network(self.rng)
        self.nodes: dict[int, SimNode] = {}
        self._queue: list[tuple[int, int, int, int, int, Flight | None]] = []
        self._seq = 0
        ids = list(range(1, cfg.nodes + cfg.learners + 1))
        boot = Snapshot(
            encode_image(GENESIS, set()),
            SnapshotMeta(BOOT_INDEX, 1, ConfState(tuple(ids[: cfg.nodes]), tuple(ids[cfg.nodes :]))),
        )
        self.checker = Checker(BOOT_INDEX, GENESIS)
        self.driver = Driver(self)
        self.record("profile", self.driver.profile)
        for i in ids:
            self.add_node(i, Disk(snapshot=boot))

    # ---- running ----------------------------------------------------------------------------------

    def run(self) -> Result:
        self.driver.begin()
        try:
            while not self.driver.finished():
                self._step()
        except InvariantViolation as v:
            raise SimulationFailure(self._report(v), v, self._full_trace()) from None
        except Exception as e:
            crash = InvariantViolation("core raised", "".join(traceback.format_exception(e)).rstrip())
            raise SimulationFailure(self._report(crash), crash, self._full_trace()) from e
        return Result(self.stats, self._full_trace())

    def _full_trace(self) -> list[str]:
        full = self.trace.full
        return list(self.trace.lines(full)) if full is not None else []

    def _step(self) -> None:
        time, _, kind, node_id, incarnation, flight = heapq.heappop(self._queue)
        self.now = time
        self.step += 1
        if kind == _TICK:
            self._tick(node_id, incarnation)
        elif kind == _DELIVER:
            assert flight is not None
            self._deliver(flight)
        else:
            self.driver.act()
            self._schedule(self.now + self.driver.next_gap(), _ACT)
        self.driver.check_liveness()

    def _schedule(
        self, time: int, kind: int, node_id: int = 0, incarnation: int = 0, flight: Flight | None = None
    ) -> None:
        self._seq += 1
        heapq.heappush(self._queue, (time, self._seq, kind, node_id, incarnation, flight))

    def schedule_first_action(self) -> None:
        self._schedule(self.now + 1, _ACT)

    def _report(self, v: InvariantViolation) -> str:
        cfg = self.cfg
        recent = "\n".join("  " + line for line in self.trace.lines(self.trace.recent))
        return (
            f"raft simulation failed: seed={cfg.seed} nodes={cfg.nodes} learners={cfg.learners} "
            f"steps={cfg.steps}\nstep {self.step} (t={self.now}): invariant '{v.invariant}' violated\n"
            f"{v.detail}\nrecent events:\n{recent}\nreplay: {cfg.replay_command()}"
        )

    # ---- Host protocol (what nodes call back) -------------------------------------------------------

    def record(self, kind: str, *args: object) -> None:
        self.trace.add((self.step, self.now, kind, args))

    def send(self, node: SimNode, msg: Message) -> None:
        if msg.type == MessageType.MsgSnap and self.driver.profile.fresh_snapshots:
            msg = replace(msg, snapshot=node.applied_snapshot())
        for delay in self.network.latencies():
            self._schedule(self.now + delay, _DELIVER, flight=Flight(msg, node.incarnation))

    def conf_change_applied(self, node: SimNode, cc: ConfChange) -> None:
        self.driver.conf_change_applied(node, cc)

    def entry_applied(self, node: SimNode, data: bytes) -> None:
        self.driver.entry_applied(node, data)

    def crash_before_persist(self, node: SimNode) -> bool:
        return self.driver.crash_before_persist(node)

    # ---- node lifecycle -----------------------------------------------------------------------------

    def add_node(self, node_id: int, disk: Disk) -> SimNode:
        node = SimNode(node_id, disk)
        self.nodes[node_id] = node
        self.start(node)
        return node

    def start(self, node: SimNode) -> None:
        profile = self.driver.profile
        node.start(
            Config(
                id=node.id,
                storage=node.disk.load(),
                rand=random.Random(self.rng.getrandbits(64)),
                election_tick=ELECTION_TICK,
                heartbeat_tick=HEARTBEAT_TICK,
                applied=node.disk.snap_index,
                max_size_per_msg=profile.max_size_per_msg,
                max_inflight_msgs=profile.max_inflight,
                check_quorum=profile.check_quorum,
                pre_vote=profile.pre_vote,
            )
        )
        self.record("start", node.id, f"incarnation={node.incarnation}", f"hs={node.disk.hard_state}")
        self._schedule(self.now + self.rng.randint(1, TICK), _TICK, node.id, node.incarnation)
        self.handle(node)

    def handle(self, node: SimNode) -> None:
        """Drain the node's Ready loop (after any input)."""
        if node.up:
            node.handle_ready(self)

    def _tick(self, node_id: int, incarnation: int) -> None:
        node = self.nodes[node_id]
        if node.raw is None or node.incarnation != incarnation:
            return
        self.record("tick", node_id)
        node.raw.tick()
        self.handle(node)
        self._schedule(self.now + TICK, _TICK, node_id, incarnation)

    # ---- the network ------------------------------------------------------------------------------

    def _deliver(self, flight: Flight) -> None:
        msg = flight.msg
        to = self.nodes.get(msg.to)
        reason = ""
        if to is None or to.sm is None:
            reason = "down"
        elif not self.network.linked(msg.frm, msg.to):
            reason = "cut"
        elif self.network.lost():
            reason = "lost"
        elif msg.frm in to.sm.removed:
            reason = "from removed member"
        if reason:
            self.stats["dropped"] += 1
            self.record("drop", f"({reason})", msg)
            self._report_to_sender(flight, delivered=False, unreachable=reason in ("down", "cut"))
            return
        assert to is not None and to.raw is not None
        self.stats["delivered"] += 1
        self.record("deliver", msg)
        try:
            to.raw.step(msg)
        except RaftError as e:
            self.record("step-error", to.id, e)
        self.handle(to)
        self._report_to_sender(flight, delivered=True, unreachable=False)

    def _report_to_sender(self, flight: Flight, delivered: bool, unreachable: bool) -> None:
        """What etcd's transport tells the sending node: a snapshot's fate, or that a peer is unreachable."""
        msg = flight.msg
        sender = self.nodes.get(msg.frm)
        if sender is None or sender.raw is None or sender.incarnation != flight.sender_incarnation:
            return
        if msg.type == MessageType.MsgSnap:
            self.record("report-snapshot", msg.frm, msg.to, "ok" if delivered else "failed")
            self.stats["snapshots delivered" if delivered else "snapshots failed"] += 1
            sender.raw.report_snapshot(msg.to, delivered)
        elif unreachable:
            sender.raw.report_unreachable(msg.to)
        else:
            return
        self.handle(sender)

    def calm_network(self) -> None:
        self.network.heal()
        self.network.faults = CALM

    def leader(self) -> SimNode | None:
        """The up leader of the highest term, if any."""
        best = None
        for node in self.nodes.values():
            if node.up and node.role == StateType.LEADER and (best is None or node.term > best.term):
                best = node
        return best
