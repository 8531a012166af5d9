"""Leases over time on a real member process: expiry, keep-alive, restart and crash.

Every test runs against etcd-py and against reference etcd 3.5.1 with the same expectations.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from etcdpy.api.pb.etcdserverpb import rpc_pb2
from tests.lease._client import Client
from tests.servers import EtcdProcess, running, wait_until

KINDS = [
    "etcdpy",
    pytest.param("reference", marks=pytest.mark.reference),
]


@pytest.fixture(params=KINDS)
def member(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EtcdProcess]:
    with running(request.param, tmp_path) as p:
        yield p


def keepalive(c: Client, lease_id: int) -> int:
    (resp,) = c.lease.LeaseKeepAlive(iter([rpc_pb2.LeaseKeepAliveRequest(ID=lease_id)]), timeout=10)
    return resp.TTL


def test_a_lease_expires_within_a_second_of_its_ttl_with_its_keys(member: EtcdProcess) -> None:
    with Client.to(member) as c:
        granted_at = time.monotonic()
        lease_id = c.grant(3).ID
        c.put(b"/exp/a", lease=lease_id)
        c.put(b"/exp/b", lease=lease_id)
        c.put(b"/exp/plain")
        rev = c.get(b"/exp/").header.revision
        wait_until(lambda: time.monotonic() - granted_at >= 2.5, 5, "2.5 s to pass")
        assert c.get(b"/exp/", b"/exp0").count == 3
        wait_until(lambda: c.get(b"/exp/", b"/exp0").count == 1, 4.0, "the leased keys to go")
        assert time.monotonic() - granted_at <= 3 + 1
        assert c.get(b"/exp/").header.revision == rev + 1  # both keys in one revision
        assert c.ttl(lease_id).TTL == -1
        assert keepalive(c, lease_id) == 0


def test_keepalive_holds_a_lease_past_its_ttl(member: EtcdProcess) -> None:
    with Client.to(member) as c:
        lease_id = c.grant(2).ID
        c.put(b"/ka/k", lease=lease_id)
        renewed_until = time.monotonic() + 3.0
        while time.monotonic() < renewed_until:
            assert keepalive(c, lease_id) == 2
            time.sleep(0.5)
        assert c.get(b"/ka/k").count == 1
        assert c.ttl(lease_id).TTL in (1, 2)
        wait_until(lambda: c.get(b"/ka/k").count == 0, 4.0, "the lease to expire without keep-alives")


@pytest.mark.parametrize("how", ["stop", "kill9"])
def test_restart_keeps_leases_and_their_keys(member: EtcdProcess, how: str) -> None:
    with Client.to(member) as c:
        c.grant(60, 7001)
        c.grant(5, 7002)
        c.put(b"/rs/a", lease=7001)
        c.put(b"/rs/b", lease=7001)
        c.put(b"/rs/c", lease=7002)
        c.put(b"/rs/c", b"detached")
        c.grant(60, 7003)
        c.revoke(7003)
        rev = c.get(b"/rs/").header.revision
    if how == "stop":
        member.stop()
    else:
        member.kill9()
    member.start()
    with Client.to(member) as c:
        long, short = c.ttl(7001, keys=True), c.ttl(7002, keys=True)
        # A restart gives every lease its full TTL again, plus an election timeout.
        assert 59 <= long.TTL <= 61 and long.grantedTTL == 60
        assert sorted(long.keys) == [b"/rs/a", b"/rs/b"]
        assert 4 <= short.TTL <= 6 and list(short.keys) == []
        assert c.ttl(7003).TTL == -1
        assert c.get(b"/rs/").header.revision == rev
        c.revoke(7001)
        assert [kv.key for kv in c.get(b"/rs/", b"/rs0").kvs] == [b"/rs/c"]
        assert c.get(b"/rs/").header.revision == rev + 1
