"""Five real etcd-py processes: the cluster forms, and keeps serving writes with two members down."""

from __future__ import annotations

from pathlib import Path

from tests.cluster._cluster import running_cluster


def test_five_members_tolerate_two_failures(tmp_path: Path) -> None:
    with running_cluster("etcdpy", tmp_path, 5) as c:
        assert len(c.etcdctl("member", "list").splitlines()) == 5
        leader_id = c.wait_one_leader()
        c.etcdctl("put", "k", "v1")
        leader = c.member_by_id(leader_id)
        down = [leader, next(m for m in c.members if m is not leader)]
        for m in down:
            m.kill9()
        rest = [m for m in c.members if m not in down]
        c.wait_one_leader(rest, not_id=leader_id)
        eps = ",".join(m.endpoint for m in rest)
        c.etcdctl("put", "k", "v2", endpoints=eps)
        for m in rest:
            assert c.etcdctl("get", "k", "--print-value-only", endpoints=m.endpoint) == "v2\n"
