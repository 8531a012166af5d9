"""A follower that missed more than the leader keeps in its log catches up by snapshot: the
leader streams its database, the follower installs it and continues from the log."""

from __future__ import annotations

from pathlib import Path

from etcdpy.client import Client
from tests.cluster._cluster import running_cluster
from tests.servers import wait_until

ARGS = ("--snapshot-count=50", "--experimental-snapshot-catchup-entries=10")


def test_lagging_follower_catches_up_by_snapshot(tmp_path: Path) -> None:
    with running_cluster("etcdpy", tmp_path, 3, extra_args=ARGS) as c:
        leader = c.member_by_id(c.wait_one_leader())
        follower = next(m for m in c.members if m is not leader)
        follower.kill9()
        with Client(leader.endpoint) as client:
            for i in range(300):
                client.put(f"k{i:03d}".encode(), f"v{i}".encode())
        follower.start(wait=False)
        follower.wait_ready(timeout=60)
        wait_until(lambda: c.etcdctl("get", "k299", "--print-value-only", "--consistency=s",
                                     endpoints=follower.endpoint) == "v299\n", 30, "the follower to catch up")
        assert "applied snapshot" in follower.log_tail(200)
        hashes = {line.split(", ")[1] for line in c.etcdctl("endpoint", "hashkv").splitlines()}
        assert len(hashes) == 1, hashes
        with Client(follower.endpoint) as client:
            client.put(b"after", b"snapshot")
        assert c.etcdctl("get", "after", "--print-value-only", endpoints=leader.endpoint) == "snapshot\n"
