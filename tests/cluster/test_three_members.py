"""A cluster of three real etcd-py processes, started with the flags of etcd's clustering guide,
driven with the real etcdctl 3.5.1: it forms, agrees on one leader, replicates, and survives the
loss of its leader."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from tests.cluster._cluster import Cluster, running_cluster
from tests.etcdctl._harness import OUR_ETCDCTL
from tests.servers import REPO, wait_until

ENV = {**os.environ, "PYTHONPATH": str(REPO / "src")}


def test_cluster_forms_replicates_and_survives_leader_loss(tmp_path: Path) -> None:
    with running_cluster("etcdpy", tmp_path, 3) as c:
        listed = c.etcdctl("member", "list").splitlines()
        assert len(listed) == 3
        assert all(", started, node" in line for line in listed), listed
        leader_id = c.wait_one_leader()

        # A write through any member is read linearizably from every member.
        for i, writer in enumerate(c.members):
            c.etcdctl("put", f"k{i}", f"v{i}", endpoints=writer.endpoint)
            for reader in c.members:
                got = c.etcdctl("get", f"k{i}", "--print-value-only", endpoints=reader.endpoint)
                assert got == f"v{i}\n", (writer.name, reader.name)

        # Kill the leader: the other two elect a new one and keep serving writes.
        leader = c.member_by_id(leader_id)
        leader.kill9()
        rest = [m for m in c.members if m is not leader]
        new_leader = c.wait_one_leader(rest, not_id=leader_id)
        c.etcdctl("put", "after", "failover", endpoints=rest[0].endpoint)

        # The old leader comes back as a follower and catches up.
        leader.start(wait=False)
        leader.wait_ready(timeout=60)
        wait_until(
            lambda: c.etcdctl("get", "after", "--print-value-only", "--consistency=s",
                              endpoints=leader.endpoint) == "failover\n",
            30, "the restarted member to catch up",
        )
        assert c.wait_one_leader() == new_leader
        for i in range(3):
            assert c.etcdctl("get", f"k{i}", "--print-value-only", endpoints=leader.endpoint) == f"v{i}\n"


def test_move_leader_hands_leadership_to_the_chosen_member(tmp_path: Path) -> None:
    with running_cluster("etcdpy", tmp_path, 3) as c:
        leader_id = c.wait_one_leader()
        leader = c.member_by_id(leader_id)
        target = next(m for m in c.members if m is not leader)
        status = c.status(target)
        assert status is not None
        header = status["header"]
        assert isinstance(header, dict)
        target_id = int(str(header["member_id"]))
        out = c.etcdctl("move-leader", f"{target_id:x}", endpoints=leader.endpoint)
        assert out == f"Leadership transferred from {leader_id:x} to {target_id:x}\n"
        assert c.wait_one_leader(not_id=leader_id) == target_id
        # Only the leader can hand leadership over.
        failed = c.etcdctl("move-leader", f"{leader_id:x}", endpoints=leader.endpoint, check=False)
        assert failed == ""
        # etcd-py's etcdctl finds the leader among the endpoints and moves it back.
        ours = _ours(c.endpoints, "move-leader", f"{leader_id:x}")
        assert ours.stdout == f"Leadership transferred from {target_id:x} to {leader_id:x}\n", ours.stderr
        assert c.wait_one_leader(not_id=target_id) == leader_id


def _ours(endpoints: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run etcd-py's etcdctl."""
    return subprocess.run([*OUR_ETCDCTL, f"--endpoints={endpoints}", *args],
                          capture_output=True, text=True, timeout=30, env=ENV)


def test_endpoint_status_and_health_of_the_whole_cluster_as_etcdctl(tmp_path: Path) -> None:
    """Given one endpoint, `--cluster` asks every member; etcd-py's etcdctl prints what the real one
    prints (health lines come in completion order and carry timings: compared sorted and masked)."""
    with running_cluster("etcdpy", tmp_path, 3) as c:
        c.wait_one_leader()
        first = c.members[0].endpoint
        c.etcdctl("put", "k", "v")  # every member applied the same index before the comparison
        wait_until(lambda: _same_index(c), 10, "every member to apply the put")
        for fmt in ("simple", "json", "table"):
            ref = c.etcdctl("endpoint", "status", "--cluster", "-w", fmt, endpoints=first)
            ours = _ours(first, "endpoint", "status", "--cluster", "-w", fmt)
            assert ours.returncode == 0, ours.stderr
            assert ours.stdout == ref, fmt
            assert ref.count("127.0.0.1:") == 3, ref

        def health(text: str) -> list[str]:
            return sorted(re.sub(r"took = [^\s]+", "took = T", line) for line in text.splitlines())

        ref = c.etcdctl("endpoint", "health", "--cluster", endpoints=first)
        ours = _ours(first, "endpoint", "health", "--cluster")
        assert ours.returncode == 0, ours.stderr
        assert health(ours.stdout) == health(ref)
        assert len(health(ref)) == 3


def _same_index(c: Cluster) -> bool:
    statuses = [c.status(m) for m in c.members]
    indexes = {None if s is None else s.get("raftIndex") for s in statuses}
    return None not in indexes and len(indexes) == 1
