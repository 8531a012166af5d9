"""A member whose peers never come up cannot publish itself; SIGTERM still stops it at once."""

from __future__ import annotations

from pathlib import Path

from tests.servers import EtcdProcess, free_port, wait_until


def test_member_waiting_for_its_peers_stops_on_sigterm(tmp_path: Path) -> None:
    me, absent = free_port(), [free_port(), free_port()]
    cluster = ",".join(f"node{i}=http://127.0.0.1:{p}" for i, p in enumerate([me, *absent], 1))
    member = EtcdProcess("etcdpy", tmp_path / "node1.etcd", name="node1", peer_port=me,
                         initial_cluster=cluster)
    member.start(wait=False)
    try:
        assert member.log_path is not None
        log = member.log_path
        wait_until(lambda: "failed to dial remote peer" in log.read_text(), 30, "the member to try its peers")
    finally:
        member.stop(timeout=10)  # fails the test if it does not exit within 10 s
    assert member.proc is not None and member.proc.returncode == 0
    assert "received signal; shutting down" in log.read_text()
