"""Leases on a 3-member cluster of etcd-py processes: expiry decided by the leader and applied
through the log, keep-alives through a follower (forwarded to the leader), a leader kill that
neither expires a kept-alive lease nor spares an abandoned one, and checkpointed remaining TTLs."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc

from etcdpy.api.pb.etcdserverpb import rpc_pb2, rpc_pb2_grpc
from tests.cluster._cluster import member_id, running_cluster, wait_leader_among
from tests.servers import EtcdProcess, wait_until

ELECTION = 1.0  # seconds: etcd's default --election-timeout


def _grant(member: EtcdProcess, ttl: int) -> int:
    with grpc.insecure_channel(member.endpoint) as ch:
        resp = rpc_pb2_grpc.LeaseStub(ch).LeaseGrant(rpc_pb2.LeaseGrantRequest(TTL=ttl), timeout=10)
    return int(resp.ID)


def _put(member: EtcdProcess, key: bytes, lease: int) -> None:
    with grpc.insecure_channel(member.endpoint) as ch:
        rpc_pb2_grpc.KVStub(ch).Put(rpc_pb2.PutRequest(key=key, value=b"v", lease=lease), timeout=10)


def _exists(member: EtcdProcess, key: bytes) -> bool:
    with grpc.insecure_channel(member.endpoint) as ch:
        resp = rpc_pb2_grpc.KVStub(ch).Range(rpc_pb2.RangeRequest(key=key, count_only=True), timeout=10)
    return resp.count == 1


def _time_to_live(member: EtcdProcess, lease: int) -> rpc_pb2.LeaseTimeToLiveResponse:
    with grpc.insecure_channel(member.endpoint) as ch:
        stub = rpc_pb2_grpc.LeaseStub(ch)
        resp: rpc_pb2.LeaseTimeToLiveResponse = stub.LeaseTimeToLive(
            rpc_pb2.LeaseTimeToLiveRequest(ID=lease), timeout=10)
    return resp


class _KeepAlive(threading.Thread):
    """Renews a lease once a second on one keep-alive stream to `member` until stopped; records
    every TTL answered (0 would mean the lease was gone) and the longest wait for an answer."""

    def __init__(self, member: EtcdProcess, lease: int) -> None:
        super().__init__(daemon=True)
        self._member, self._lease = member, lease
        self._stop_event = threading.Event()
        self.ttls: list[int] = []
        self.longest_wait = 0.0
        self.error: BaseException | None = None

    def _requests(self) -> Iterator[rpc_pb2.LeaseKeepAliveRequest]:
        while not self._stop_event.is_set():
            self._sent = time.monotonic()
            yield rpc_pb2.LeaseKeepAliveRequest(ID=self._lease)
            self._stop_event.wait(1.0)

    def run(self) -> None:
        try:
            with grpc.insecure_channel(self._member.endpoint) as ch:
                for resp in rpc_pb2_grpc.LeaseStub(ch).LeaseKeepAlive(self._requests()):
                    self.longest_wait = max(self.longest_wait, time.monotonic() - self._sent)
                    self.ttls.append(int(resp.TTL))
        except BaseException as e:  # reported by the test
            self.error = e

    def stop(self) -> None:
        self._stop_event.set()
        self.join(timeout=15)


def test_lease_expires_on_time_on_a_cluster(tmp_path: Path) -> None:
    with running_cluster("etcdpy", tmp_path, 3) as c:
        leader_id = c.wait_one_leader()
        follower = next(m for m in c.members if member_id(m) != leader_id)
        lease = _grant(follower, 5)
        granted = time.monotonic()
        _put(follower, b"short", lease)
        wait_until(lambda: not _exists(follower, b"short"), 10, "the 5 s lease to expire")
        took = time.monotonic() - granted
        assert 4.5 <= took <= 6.0, took
        assert _time_to_live(follower, lease).TTL == -1


def test_keep_alive_through_a_follower_outlives_a_leader_kill_and_abandoned_leases_expire(
    tmp_path: Path,
) -> None:
    with running_cluster("etcdpy", tmp_path, 3) as c:
        leader_id = c.wait_one_leader()
        leader = next(m for m in c.members if member_id(m) == leader_id)
        follower = next(m for m in c.members if m is not leader)
        kept = _grant(follower, 5)
        _put(follower, b"kept", kept)
        keeper = _KeepAlive(follower, kept)
        keeper.start()
        try:
            abandoned = _grant(follower, 8)
            _put(follower, b"abandoned", abandoned)
            started = time.monotonic()
            wait_until(lambda: len(keeper.ttls) >= 2, 10, "two keep-alives answered")

            leader.kill9()
            killed = time.monotonic()
            rest = [m for m in c.members if m is not leader]
            wait_leader_among(rest, timeout=3 * ELECTION + 5, not_id=leader_id)
            # A new leader gives every lease its TTL again (plus an election timeout) from its
            # promotion: the abandoned one goes by then, not earlier than its own TTL after the kill.
            wait_until(lambda: not _exists(follower, b"abandoned"), 8 + 5 * ELECTION + 2,
                       "the abandoned lease to expire under the new leader")
            assert time.monotonic() - killed >= 8 - 1

            # The kept-alive lease holds for a minute in all, across the leader change.
            while time.monotonic() - started < 60:
                assert _exists(follower, b"kept"), "the kept-alive lease expired"
                assert keeper.error is None, keeper.error
                time.sleep(1.0)
        finally:
            keeper.stop()
        assert keeper.error is None, keeper.error
        assert len(keeper.ttls) >= 50 and set(keeper.ttls) == {5}, keeper.ttls
        assert keeper.longest_wait < 3 * ELECTION + 4, keeper.longest_wait
        stopped = time.monotonic()
        wait_until(lambda: not _exists(follower, b"kept"), 10, "the kept lease to expire once abandoned")
        assert time.monotonic() - stopped <= 5 + 1 + 1  # TTL, a second of slack, the last renewal's age


def test_checkpointed_remaining_ttl_survives_a_leader_change(tmp_path: Path) -> None:
    args = ("--experimental-enable-lease-checkpoint", "--experimental-lease-checkpoint-interval=1s")
    with running_cluster("etcdpy", tmp_path, 3, extra_args=args) as c:
        leader_id = c.wait_one_leader()
        leader = next(m for m in c.members if member_id(m) == leader_id)
        follower = next(m for m in c.members if m is not leader)
        lease = _grant(follower, 30)
        granted = time.monotonic()
        time.sleep(4.5)  # the leader checkpoints the lease every second meanwhile
        assert 24 <= _time_to_live(follower, lease).TTL <= 26  # answered by the leader
        leader.kill9()
        killed = time.monotonic() - granted
        rest = [m for m in c.members if m is not leader]
        wait_leader_among(rest, timeout=3 * ELECTION + 5, not_id=leader_id)
        # The new leader starts the lease from its last checkpoint (at most one interval, plus
        # rounding up to whole seconds, before the kill) and adds an election timeout; the time it
        # took to elect it does not count. Without checkpoints it would grant 30 s again (31).
        ttl = _time_to_live(follower, lease).TTL
        assert ttl <= 30 - killed + 1 + 1 + ELECTION, (ttl, killed)
        assert ttl > 0
