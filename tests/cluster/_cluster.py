"""Clusters of real `etcd` processes on loopback, started as etcd's docs start them."""

from __future__ import annotations

import contextlib
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc

from etcdpy.api.pb.etcdserverpb import rpc_pb2, rpc_pb2_grpc
from tests.cluster._proxy import PeerProxy
from tests.servers import EtcdProcess, free_port, reference_etcdctl, stop_all, wait_until


@dataclass
class Cluster:
    members: list[EtcdProcess]

    @property
    def endpoints(self) -> str:
        return ",".join(m.endpoint for m in self.members)

    def etcdctl(self, *args: str, endpoints: str | None = None, check: bool = True) -> str:
        """Run the real etcdctl 3.5.1; its stdout."""
        done = subprocess.run([reference_etcdctl(), f"--endpoints={endpoints or self.endpoints}", *args],
                              capture_output=True, text=True, timeout=30)
        if check and done.returncode != 0:
            raise AssertionError(f"etcdctl {' '.join(args)} failed ({done.returncode}): {done.stderr}")
        return done.stdout

    def status(self, member: EtcdProcess) -> dict[str, object] | None:
        """`endpoint status -w json` of one member, None if it does not answer."""
        done = subprocess.run([reference_etcdctl(), f"--endpoints={member.endpoint}", "endpoint", "status",
                               "-w", "json", "--command-timeout=2s"], capture_output=True, text=True,
                              timeout=30)
        if done.returncode != 0:
            return None
        rows = json.loads(done.stdout)
        return dict(rows[0]["Status"])

    def leaders(self, members: list[EtcdProcess] | None = None) -> set[int]:
        """The leader IDs the given (default: all) members report; empty if any does not answer."""
        seen = set()
        for m in members or self.members:
            st = self.status(m)
            if st is None:
                return set()
            header = st["header"]
            assert isinstance(header, dict)
            seen.add(int(str(st["leader"])) if st.get("leader") else 0)
        return seen

    def wait_one_leader(
        self, members: list[EtcdProcess] | None = None, timeout: float = 30, not_id: int = 0
    ) -> int:
        """Poll until every given member names the same, non-zero leader (other than `not_id`);
        return its ID."""
        found: list[int] = []

        def agreed() -> bool:
            seen = self.leaders(members)
            if len(seen) == 1 and 0 not in seen and not_id not in seen:
                found[:] = list(seen)
                return True
            return False

        wait_until(agreed, timeout, "one leader that every member names")
        return found[0]

    def member_by_id(self, member_id: int) -> EtcdProcess:
        for m in self.members:
            st = self.status(m)
            if st is not None:
                header = st["header"]
                assert isinstance(header, dict)
                if int(str(header["member_id"])) == member_id:
                    return m
        raise KeyError(f"{member_id:x}")


@contextlib.contextmanager
def running_cluster(
    kind: str, tmp: Path, size: int, token: str = "etcd-cluster-1", extra_args: tuple[str, ...] = (),
    process: type[EtcdProcess] = EtcdProcess,
) -> Iterator[Cluster]:
    """`size` members named node1..nodeN with --initial-cluster-state new, all started at once (a
    member alone cannot become ready: it waits for a quorum), stopped at the end. `process`: the
    class that runs each member."""
    peers = [free_port() for _ in range(size)]
    initial = ",".join(f"node{i + 1}=http://127.0.0.1:{p}" for i, p in enumerate(peers))
    members = [
        process(kind, tmp / f"node{i + 1}.etcd", name=f"node{i + 1}", peer_port=peers[i],
                    initial_cluster=initial,
                    extra_args=["--initial-cluster-token", token, "--initial-cluster-state", "new",
                                *extra_args])
        for i in range(size)
    ]
    with _started(members):
        yield Cluster(members)


@contextlib.contextmanager
def _started(members: list[EtcdProcess]) -> Iterator[None]:
    """Start every member at once (one alone cannot become ready: it waits for a quorum), wait
    until all serve, stop them all at the end."""
    try:
        for m in members:
            m.start(wait=False)
        for m in members:
            m.wait_ready(timeout=60)
        yield
    finally:
        stop_all(members)


def member_status(member: EtcdProcess, timeout: float = 0.5) -> rpc_pb2.StatusResponse | None:
    """Maintenance.Status over gRPC (cheap enough to poll often); None if the member does not
    answer in time."""
    try:
        with grpc.insecure_channel(member.endpoint) as ch:
            return rpc_pb2_grpc.MaintenanceStub(ch).Status(rpc_pb2.StatusRequest(), timeout=timeout)
    except grpc.RpcError:
        return None


def wait_leader_among(members: list[EtcdProcess], timeout: float = 30, not_id: int = 0) -> int:
    """Poll over gRPC until every given member names the same, non-zero leader other than
    `not_id`; its ID."""
    found: list[int] = []

    def agreed() -> bool:
        statuses = [member_status(m) for m in members]
        seen = {0 if st is None else st.leader for st in statuses}
        if len(seen) == 1 and not seen & {0, not_id}:
            found[:] = list(seen)
            return True
        return False

    wait_until(agreed, timeout, "one leader that every given member names")
    return found[0]


def member_id(member: EtcdProcess) -> int:
    status = member_status(member, timeout=5)
    assert status is not None, f"{member.name} does not answer"
    return status.header.member_id


@contextlib.contextmanager
def running_proxied_cluster(
    kind: str, tmp: Path, size: int, token: str = "etcd-cluster-1"
) -> Iterator[tuple[Cluster, PeerProxy]]:
    """Like `running_cluster`, but each member's peer traffic passes through a `PeerProxy`:
    members listen on their own peer port and advertise the proxy's (member i: route i)."""
    real_ports = [free_port() for _ in range(size)]
    proxy = PeerProxy(real_ports, tmp / "peer-proxy.log")
    try:
        initial = ",".join(f"node{i + 1}=http://127.0.0.1:{p}" for i, p in enumerate(proxy.ports))
        members = [
            EtcdProcess(
                kind,
                tmp / f"node{i + 1}.etcd",
                name=f"node{i + 1}",
                peer_port=real_ports[i],
                initial_cluster=initial,
                extra_args=[
                    "--initial-cluster-token",
                    token,
                    "--initial-cluster-state",
                    "new",
                    # the last occurrence of a flag wins, as with Go's flag package
                    "--initial-advertise-peer-urls",
                    f"http://127.0.0.1:{proxy.ports[i]}",
                ],
            )
            for i in range(size)
        ]
        with _started(members):
            yield Cluster(members), proxy
    finally:
        proxy.stop()
