"""Target construction without starting anything: the registry, members' ports and etcd flags, the
load tool's arguments on a cluster."""

from __future__ import annotations

from pathlib import Path

from bench.benchkit import results
from bench.benchkit.targets import CLUSTER_MEMBERS, TARGETS, etcd_flags, plan_members
from bench.benchkit.workloads import WORKLOADS


def test_registry_has_a_cluster_of_reference_and_etcdpy() -> None:
    clusters = {name: TARGETS[name]() for name in ("reference-3", "etcdpy-3")}
    assert CLUSTER_MEMBERS == 3
    for name, target in clusters.items():
        assert (target.name, target.members) == (name, 3)
        base, members = results.split_cluster_name(name)
        assert members == 3 and base in TARGETS and TARGETS[base]().members == 1
        assert not target.running()
        target.stop()  # harmless before start
    names = list(TARGETS)
    assert names.index("reference-3") > names.index("reference")
    assert names.index("etcdpy-3") > names.index("etcdpy")


def test_cluster_members_share_one_initial_cluster(tmp_path: Path) -> None:
    members = plan_members(tmp_path, 3)
    assert [m.name for m in members] == ["node1", "node2", "node3"]
    ports = [p for m in members for p in (m.ports.client, m.ports.peer)]
    assert len(set(ports)) == 6
    expected = ",".join(f"{m.name}=http://127.0.0.1:{m.ports.peer}" for m in members)
    assert {m.initial_cluster for m in members} == {expected}
    flags = etcd_flags(members[1])
    assert flags == [
        "--name=node2",
        f"--data-dir={tmp_path / 'node2.etcd'}",
        f"--listen-client-urls=http://127.0.0.1:{members[1].ports.client}",
        f"--advertise-client-urls=http://127.0.0.1:{members[1].ports.client}",
        f"--listen-peer-urls=http://127.0.0.1:{members[1].ports.peer}",
        f"--initial-advertise-peer-urls=http://127.0.0.1:{members[1].ports.peer}",
        f"--initial-cluster={expected}",
    ]
    assert members[1].endpoint == f"127.0.0.1:{members[1].ports.client}"


def test_a_single_server_is_etcds_default_member(tmp_path: Path) -> None:
    [member] = plan_members(tmp_path, 1)
    assert member.name == "default"
    assert member.initial_cluster == f"default=http://127.0.0.1:{member.ports.peer}"


def test_one_client_goes_to_the_leader_of_a_cluster_only() -> None:
    one, many = WORKLOADS["put-1client"], WORKLOADS["put-1000clients"]
    assert one.args(0.2, 3)[0] == "--target-leader"
    assert (
        one.args(0.2, 3)[1:]
        == one.args(0.2)
        == [
            "--conns=1",
            "--clients=1",
            "put",
            "--key-size=8",
            "--sequential-keys",
            "--val-size=256",
            "--total=2000",
        ]
    )
    assert many.args(0.2, 3) == many.args(0.2)
