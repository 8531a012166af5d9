"""Real etcd-py clusters under faults, with a recorded client history checked for
linearizability and every acknowledged write checked on every member afterwards.

Each scenario runs concurrent clients (puts, linearizable gets, compare-and-set txns on a few
keys, through every member) while it injects one fault: kill -9 of the leader, a partition
that cuts the leader off, membership changes. Faults and recovery are observed by polling
with deadlines.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from etcdpy.client import Client, EtcdError
from tests.cluster._cluster import (
    Cluster,
    member_id,
    member_status,
    running_cluster,
    running_proxied_cluster,
    wait_leader_among,
)
from tests.cluster._convergence import assert_linearizable, assert_members_agree
from tests.cluster._history import Recorder
from tests.servers import EtcdProcess, free_port, wait_until

# The real etcdctl 3.5.1 changes membership and compares HashKV.
pytestmark = pytest.mark.reference

ELECTION_TIMEOUT = 1.0  # etcd's default --election-timeout, in seconds


def _by_id(members: list[EtcdProcess], wanted: int) -> EtcdProcess:
    return next(m for m in members if member_id(m) == wanted)


def _leader_seen_by(member: EtcdProcess) -> int | None:
    status = member_status(member)
    return None if status is None else status.leader


def _endpoints(members: list[EtcdProcess]) -> list[str]:
    return [m.endpoint for m in members]


def _check(c: Cluster, members: list[EtcdProcess], rec: Recorder) -> None:
    """The recorded history is linearizable and the members hold every acknowledged write."""
    assert not rec.anomalies, "\n".join(rec.anomalies)
    history = rec.history()
    assert_linearizable(history)
    assert_members_agree(c, members, history)


# Small enough that a member down for a few hundred writes must catch up by snapshot.
SNAPSHOT_ARGS = ("--snapshot-count=100", "--experimental-snapshot-catchup-entries=20")


@pytest.mark.parametrize("size", [3, 5])
def test_leader_killed_under_load(tmp_path: Path, size: int) -> None:
    with running_cluster("etcdpy", tmp_path, size, extra_args=SNAPSHOT_ARGS) as c:
        old_id = wait_leader_among(c.members)
        leader = _by_id(c.members, old_id)
        rest = [m for m in c.members if m is not leader]
        with Recorder(_endpoints(c.members), seed=size) as rec:
            rec.wait_for_writes(200)
            killed_at = time.monotonic()
            leader.kill9()
            wait_leader_among(rest, timeout=10, not_id=old_id)
            elected_in = time.monotonic() - killed_at
            assert elected_in < 3 * ELECTION_TIMEOUT, f"new leader after {elected_in:.2f}s"
            rec.wait_for_writes(300, since=time.monotonic())

            # The killed member restarts far behind: it catches up by snapshot, then serves.
            leader.start(wait=False)
            leader.wait_ready(timeout=60)
            wait_leader_among(c.members)
            rec.wait_for_writes(20, since=time.monotonic(), endpoints=[leader.endpoint])
        assert "applied snapshot" in leader.log_tail(400)
        _check(c, c.members, rec)


def test_partitioned_leader_steps_down_and_the_majority_serves(tmp_path: Path) -> None:
    with running_proxied_cluster("etcdpy", tmp_path, 3) as (c, proxy):
        old_id = wait_leader_among(c.members)
        leader = _by_id(c.members, old_id)
        majority = [m for m in c.members if m is not leader]
        with Recorder(_endpoints(c.members), seed=7) as rec:
            rec.wait_for_writes(50)
            proxy.isolate(c.members.index(leader), old_id)
            cut_at = time.monotonic()
            wait_leader_among(majority, timeout=10, not_id=old_id)
            rec.wait_for_writes(30, since=time.monotonic(), endpoints=_endpoints(majority))
            # Without a quorum's answers (check-quorum) the old leader stepped down.
            wait_until(
                lambda: _leader_seen_by(leader) not in (old_id, None), 10, "the old leader to step down"
            )

            # The cut-off member serves no linearizable read or write (serializable reads it may).
            with Client(leader.endpoint, timeout=1.0) as isolated:
                with pytest.raises(EtcdError):
                    isolated.put("isolated/probe", "x")
                with pytest.raises(EtcdError):
                    isolated.get(rec.keys[0])
                assert isolated.get(rec.keys[0], serializable=True).header.revision > 0

            healed_at = time.monotonic()
            proxy.heal()
            wait_leader_among(c.members, timeout=20)
            rec.wait_for_writes(10, since=time.monotonic(), endpoints=[leader.endpoint])
        history = rec.history()
        served = [
            op
            for op in history
            if op.endpoint == leader.endpoint
            and not op.unknown
            and cut_at <= op.invoke
            and op.ret <= healed_at
        ]
        assert not served, "\n".join(op.describe() for op in served)
        _check(c, c.members, rec)


def _promote_when_in_sync(c: Cluster, learner_id: int) -> None:
    """etcd refuses to promote a learner that lags the leader; retry until it is in sync."""

    def promoted() -> bool:
        out = c.etcdctl("member", "promote", f"{learner_id:x}", check=False)
        return "promoted in cluster" in out

    wait_until(promoted, 30, "the learner to be promoted", interval=0.2)


def test_member_added_as_learner_promoted_and_leader_removed_under_load(tmp_path: Path) -> None:
    with running_cluster("etcdpy", tmp_path, 3) as c:
        peer = free_port()
        added = c.etcdctl("member", "add", "node4", f"--peer-urls=http://127.0.0.1:{peer}", "--learner")
        env = dict(line.split("=", 1) for line in added.splitlines() if line.startswith("ETCD_"))
        node4 = EtcdProcess(
            "etcdpy",
            tmp_path / "node4.etcd",
            name="node4",
            peer_port=peer,
            initial_cluster=env["ETCD_INITIAL_CLUSTER"].strip('"'),
            extra_args=["--initial-cluster-state", "existing"],
        )
        members = [*c.members, node4]
        try:
            with Recorder(_endpoints(c.members), seed=11) as rec:
                rec.wait_for_writes(50)
                node4.start(wait=False)
                node4.wait_ready(timeout=60)
                _promote_when_in_sync(c, member_id(node4))
                rec.add_endpoint(node4.endpoint)
                rec.wait_for_writes(10, since=time.monotonic(), endpoints=[node4.endpoint])

                # Remove the leader: it steps down and stops; the rest elect a leader and serve.
                old_id = wait_leader_among(members)
                leader = _by_id(members, old_id)
                rest = [m for m in members if m is not leader]
                removed = c.etcdctl("member", "remove", f"{old_id:x}", endpoints=",".join(_endpoints(rest)))
                assert "removed from cluster" in removed
                assert leader.proc is not None
                leader.proc.wait(timeout=30)
                wait_leader_among(rest, timeout=10, not_id=old_id)
                rec.wait_for_writes(30, since=time.monotonic(), endpoints=_endpoints(rest))
            listed = c.etcdctl("member", "list", endpoints=",".join(_endpoints(rest))).splitlines()
            assert sorted(line.split(", ")[2] for line in listed) == sorted(m.name for m in rest)
            _check(c, rest, rec)
        finally:
            node4.stop()
