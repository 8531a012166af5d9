"""The Raft core under the randomized cluster simulation (tests/raft/sim), plus proof that the checker
bites: synthetic violations fire each invariant, and bugs planted in the core are found.

ETCDPY_SIM_SEEDS sets the seeds per configuration (default 750: 3000 seeds in all). A failure message
carries the exact command that replays it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from etcdpy.raft.log import RaftLog
from etcdpy.raft.quorum import committed_index
from etcdpy.raft.raft import Raft
from etcdpy.raft.raftpb import Entry, HardState, Message, ReadState, Snapshot, SnapshotMeta
from etcdpy.raft.tracker.tracker import ProgressTracker
from tests.raft.sim.disk import Disk
from tests.raft.sim.invariants import Checker, InvariantViolation
from tests.raft.sim.simulation import SimConfig, Simulation, SimulationFailure
from tests.raft.sim.statemachine import GENESIS

ROOT = Path(__file__).resolve().parents[2]
SEEDS = int(os.environ.get("ETCDPY_SIM_SEEDS", "750"))
STEPS = 3000
CHUNK = 250
CONFIGS = [(3, 0), (3, 1), (5, 0), (5, 2)]


def _run_seeds(nodes: int, learners: int, seeds: range) -> Counter[str]:
    stats: Counter[str] = Counter()
    failures: list[SimulationFailure] = []
    for seed in seeds:
        try:
            stats.update(Simulation(SimConfig(seed, nodes, learners, STEPS)).run().stats)
        except SimulationFailure as f:
            failures.append(f)
    if failures:
        others = ", ".join(str(f.violation.invariant) for f in failures[1:])
        pytest.fail(
            f"{len(failures)} of {len(seeds)} seeds failed ({others or 'just this one'}):\n{failures[0]}"
        )
    return stats


@pytest.mark.parametrize(
    ("nodes", "learners", "first"),
    [(n, lrn, first) for n, lrn in CONFIGS for first in range(0, SEEDS, CHUNK)],
    ids=lambda v: str(v),
)
def test_safety_and_liveness(nodes: int, learners: int, first: int) -> None:
    stats = _run_seeds(nodes, learners, range(first, min(first + CHUNK, SEEDS)))
    # The seeds must have exercised what the invariants are about, or passing proves little.
    for what in (
        "leaders elected",
        "crash",
        "crash-before-persist",
        "partitions",
        "one-way cuts",
        "snapshots installed",
        "ADD_LEARNER_NODE applications",
        "ADD_NODE applications",
        "REMOVE_NODE applications",
        "leader removals proposed",
        "members left",
        "transfers",
        "reads served",
        "calm phases live",
    ):
        assert stats[what] > 0, f"no {what} in these seeds: {dict(stats)}"


def test_same_seed_same_trace() -> None:
    def trace() -> list[str]:
        return Simulation(SimConfig(11, 5, 1, 1500, full_trace=True)).run().trace

    first = trace()
    assert len(first) > 1500
    assert trace() == first


def test_replay_command_is_deterministic_across_hash_seeds() -> None:
    """The CLI's trace is byte-identical whatever PYTHONHASHSEED is (no set-order dependence)."""
    cmd = SimConfig(5, 3, 1, 800).replay_command().split()
    outputs = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'src'}"}
        done = subprocess.run([sys.executable, *cmd[1:]], cwd=ROOT, env=env, capture_output=True, timeout=120)
        assert done.returncode == 0, done.stderr.decode()
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1]
    assert outputs[0].count(b"\n") > 800


# ---- planted bugs: the simulation must find them ------------------------------------------------------


def _first_violation(nodes: int, seeds: range, learners: int = 0) -> str:
    """The invariant the first failing seed violates. The ranges below are wide enough that missing a
    planted bug in all of them is very unlikely (a few per cent of seeds find the rarest one)."""
    for seed in seeds:
        try:
            Simulation(SimConfig(seed, nodes, learners, STEPS)).run()
        except SimulationFailure as f:
            assert "replay: python -m tests.raft.sim.run --seed" in str(f)
            return f.violation.invariant
    return "none"


def test_finds_votes_for_stale_logs(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RaftLog, "is_up_to_date", lambda self, index, term: True)
    assert _first_violation(5, range(40)) == "leader completeness"


def test_finds_appends_without_the_consistency_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(RaftLog, "match_term", lambda self, index, term: True)
    assert _first_violation(3, range(20)) != "none"


def test_finds_reads_served_without_confirming_leadership(monkeypatch: pytest.MonkeyPatch) -> None:
    def answer_at_once(self: Raft, m: Message) -> None:
        resp = self.response_to_read_index_req(m, self.log.committed)
        if resp is not None:
            self.send(resp)

    monkeypatch.setattr(Raft, "send_read_index_response", answer_at_once)
    assert _first_violation(3, range(300)) == "linearizable read index"


def test_finds_learners_counted_in_the_commit_quorum(monkeypatch: pytest.MonkeyPatch) -> None:
    def committed(self: ProgressTracker) -> int:
        progress = self.progress
        return committed_index(frozenset(progress), lambda m: progress[m].match if m in progress else None)

    monkeypatch.setattr(ProgressTracker, "committed", committed)
    assert _first_violation(3, range(300), learners=2) == "leader completeness"


# ---- the checker fires on each kind of violation ------------------------------------------------------


def _checker() -> Checker:
    return Checker(2, GENESIS)


def _disk(*terms: int) -> Disk:
    """A log after the bootstrap snapshot (index 2, term 1) with entries of these terms."""
    return Disk(
        HardState(max(terms, default=1), 0, 2),
        Snapshot(metadata=SnapshotMeta(2, 1)),
        [Entry(t, 3 + k) for k, t in enumerate(terms)],
    )


def _violated(invariant: str) -> AbstractContextManager[pytest.ExceptionInfo[InvariantViolation]]:
    return pytest.raises(InvariantViolation, match=f"^{invariant}:")


def test_checker_two_leaders_in_a_term() -> None:
    c = _checker()
    c.leader(1, 5, _disk(5))
    c.leader(1, 5, _disk(5))
    with _violated("election safety"):
        c.leader(2, 5, _disk(5))


def test_checker_second_vote_in_a_term() -> None:
    c = _checker()
    c.hard_state(1, HardState(4, 0, 2), HardState(4, 3, 2), must_sync=True)
    with _violated("one vote per term"):
        c.hard_state(1, HardState(4, 3, 2), HardState(4, 2, 2), must_sync=True)
    with _violated("term monotonic"):
        c.hard_state(1, HardState(4, 3, 2), HardState(3, 0, 2), must_sync=True)
    with _violated("must sync"):
        c.hard_state(1, HardState(4, 3, 2), HardState(5, 0, 2), must_sync=False)
    with _violated("commit monotonic"):
        c.hard_state(1, HardState(4, 3, 5), HardState(4, 3, 4), must_sync=True)


def test_checker_log_matching() -> None:
    c = _checker()
    c.entries(1, _disk(), [Entry(2, 3, data=b"a"), Entry(2, 4, data=b"b")], must_sync=True)
    with _violated("log matching"):
        c.entries(2, _disk(), [Entry(2, 3, data=b"x")], must_sync=True)
    with _violated("log matching"):  # same entry at (4, 2) but after a different predecessor
        c.entries(3, _disk(3), [Entry(2, 4, data=b"b")], must_sync=True)
    with _violated("contiguous log"):
        c.entries(1, _disk(), [Entry(2, 5)], must_sync=True)


def test_checker_committed_entries() -> None:
    c = _checker()
    disk = _disk(2, 2)
    disk.hard_state = HardState(2, 0, 4)
    with _violated("committed entries are never overwritten"):
        c.entries(1, disk, [Entry(3, 4)], must_sync=True)
    with _violated("commit within durable log"):
        c.commit(1, disk, 2, 5)
    c.commit(1, disk, 2, 4)
    other = _disk(2, 3)
    other.hard_state = HardState(3, 0, 4)
    with _violated("committed entries never change"):
        c.commit(2, other, 2, 4)


def test_checker_leader_completeness() -> None:
    c = _checker()
    disk = _disk(2, 2)
    disk.hard_state = HardState(2, 0, 4)
    c.commit(1, disk, 2, 4)
    c.leader(2, 2, _disk(2))  # committed in term 2 by the leader of term 2: not this one's to hold
    with _violated("leader completeness"):
        c.leader(3, 3, _disk(2, 3))


def test_checker_state_machine_safety() -> None:
    c = _checker()
    c.applied(1, Entry(2, 3, data=b"a"), b"d1")
    with _violated("state machine safety"):
        c.applied(2, Entry(2, 3, data=b"b"), b"d1")
    with _violated("state machine safety"):
        c.snapshot_applied(2, Snapshot(metadata=SnapshotMeta(3, 2)), b"d2")


def test_checker_read_index() -> None:
    c = _checker()
    disk = _disk(2, 2)
    disk.hard_state = HardState(2, 0, 4)
    c.commit(1, disk, 2, 4)
    c.read_issued(b"r1")
    c.read_state(1, ReadState(4, b"r1"))
    with _violated("linearizable read index"):
        c.read_state(1, ReadState(3, b"r1"))
    with _violated("linearizable read index"):
        c.read_state(1, ReadState(5, b"r1"))
    with _violated("read index"):
        c.read_state(1, ReadState(4, b"r2"))
