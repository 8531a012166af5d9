"""Membership changes on a running three-member cluster with the real etcdctl 3.5.1: a learner is
added, joins with --initial-cluster-state existing, catches up, is promoted and removed (and stops)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from tests.cluster._cluster import running_cluster
from tests.servers import EtcdProcess, free_port, reference_etcdctl, wait_until


def _members(c_etcdctl_out: str) -> dict[str, dict[str, object]]:
    return {str(m.get("name", "")) or f"{m['ID']:x}": m for m in json.loads(c_etcdctl_out)["members"]}


def test_learner_joins_catches_up_is_promoted_and_removed(tmp_path: Path) -> None:
    with running_cluster("etcdpy", tmp_path, 3) as c:
        for i in range(20):
            c.etcdctl("put", f"before{i}", str(i))
        peer = free_port()
        added = c.etcdctl("member", "add", "node4", f"--peer-urls=http://127.0.0.1:{peer}", "--learner")
        assert "added to cluster" in added
        env = dict(line.split("=", 1) for line in added.splitlines() if line.startswith("ETCD_"))
        initial = env["ETCD_INITIAL_CLUSTER"].strip('"')
        assert env["ETCD_INITIAL_CLUSTER_STATE"].strip('"') == "existing"
        node4 = EtcdProcess("etcdpy", tmp_path / "node4.etcd", name="node4", peer_port=peer,
                            initial_cluster=initial, extra_args=["--initial-cluster-state", "existing"])
        node4.start(wait=False)
        try:
            node4.wait_ready(timeout=60)
            wait_until(lambda: c.etcdctl("get", "before19", "--print-value-only", "--consistency=s",
                                         endpoints=node4.endpoint) == "19\n", 30, "the learner to catch up")
            members = _members(c.etcdctl("member", "list", "-w", "json"))
            assert members["node4"].get("isLearner") is True
            refused = subprocess.run([reference_etcdctl(), f"--endpoints={node4.endpoint}", "put", "x", "y"],
                                     capture_output=True, text=True, timeout=30)
            assert refused.returncode == 1
            assert "Error: etcdserver: rpc not supported for learner" in refused.stderr
            node4_id = int(str(members["node4"]["ID"]))

            promoted = c.etcdctl("member", "promote", f"{node4_id:x}")
            assert "promoted in cluster" in promoted
            members = _members(c.etcdctl("member", "list", "-w", "json"))
            assert not members["node4"].get("isLearner")
            c.etcdctl("put", "after-promote", "yes", endpoints=node4.endpoint)

            removed = c.etcdctl("member", "remove", f"{node4_id:x}")
            assert "removed from cluster" in removed
            assert "node4" not in _members(c.etcdctl("member", "list", "-w", "json"))
            assert node4.proc is not None
            node4.proc.wait(timeout=30)  # a removed member stops by itself
            assert c.etcdctl("get", "after-promote", "--print-value-only") == "yes\n"
        finally:
            node4.stop()
