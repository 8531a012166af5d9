"""The Lease API of etcd-py against reference etcd 3.5.1: the same requests, the same answers.

Each scenario runs on both servers and returns what a client sees (server-chosen
IDs and timing-dependent TTLs normalised); the two results must be equal.
"""

from __future__ import annotations

import functools
import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from etcdpy.api.pb.etcdserverpb import rpc_pb2
from tests.lease._client import Client
from tests.servers import EtcdProcess, running

pytestmark = pytest.mark.reference

KINDS = ("etcdpy", "reference")


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, EtcdProcess]]:
    """One member of each kind, shared by the scenarios that do not need a fresh one."""
    tmp = tmp_path_factory.mktemp("lease-diff")
    with running("etcdpy", tmp) as ours, running("reference", tmp) as ref:
        yield {"etcdpy": ours, "reference": ref}


def outcome(call: Callable[[], Any]) -> Any:
    """The response, or (gRPC code name, details) if the call failed."""
    try:
        return call()
    except grpc.RpcError as e:
        return (e.code().name, e.details())


def on_both(servers: dict[str, EtcdProcess], scenario: Callable[[Client], Any]) -> Any:
    results = {}
    for kind in KINDS:
        with Client.to(servers[kind]) as c:
            results[kind] = scenario(c)
    assert results["etcdpy"] == results["reference"]
    return results["etcdpy"]


def test_grant(servers: dict[str, EtcdProcess]) -> None:
    def scenario(c: Client) -> list[Any]:
        out: list[Any] = []
        for ttl, lease_id in [
            (1, 0),
            (-5, 0),
            (0, 0),
            (9_000_000_000, 0),
            (9_000_000_001, 0),
            (10, 1000),
            (10, 1000),
            (30, -7),
            (9_000_000_001, 1001),
            (1, 1002),
        ]:
            r = outcome(functools.partial(c.grant, ttl, lease_id))
            if isinstance(r, rpc_pb2.LeaseGrantResponse):
                chosen_ok = r.ID > 0 and not lease_id
                assert chosen_ok or lease_id == r.ID
                out.append((r.TTL, r.ID if lease_id else "chosen", r.error, r.header.revision))
            else:
                out.append(r)
        return out

    result = on_both(servers, scenario)
    assert result[0][0] == 2 and result[4] == ("OUT_OF_RANGE", "etcdserver: too large lease TTL")
    assert result[6] == ("FAILED_PRECONDITION", "etcdserver: lease already exists")


def test_put_with_a_missing_lease(servers: dict[str, EtcdProcess]) -> None:
    def scenario(c: Client) -> list[Any]:
        txn = rpc_pb2.TxnRequest(
            success=[rpc_pb2.RequestOp(request_put=rpc_pb2.PutRequest(key=b"/missing/t", lease=2001))]
        )
        return [
            outcome(lambda: c.put(b"/missing/k", lease=2001)),
            outcome(lambda: c.kv.Txn(txn, timeout=10)),
            c.get(b"/missing/", b"/missing0").count,
        ]

    assert on_both(servers, scenario)[0] == ("NOT_FOUND", "etcdserver: requested lease not found")


def test_keepalive(servers: dict[str, EtcdProcess]) -> None:
    def scenario(c: Client) -> list[Any]:
        c.grant(10, 3001)
        reqs = [rpc_pb2.LeaseKeepAliveRequest(ID=i) for i in (3001, 3002, 0, 3001)]
        return [(r.ID, r.TTL, r.header.revision > 0) for r in c.lease.LeaseKeepAlive(iter(reqs), timeout=10)]

    assert on_both(servers, scenario) == [(3001, 10, True), (3002, 0, True), (0, 0, True), (3001, 10, True)]


def test_time_to_live(servers: dict[str, EtcdProcess]) -> None:
    def scenario(c: Client) -> list[Any]:
        c.grant(20, 4001)
        c.grant(20, 4002)
        for key in (b"/ttl/c", b"/ttl/a", b"/ttl/b"):
            c.put(key, lease=4001)
        out = []
        for lease_id, keys in ((4001, True), (4001, False), (4002, True), (4003, True)):
            r = c.ttl(lease_id, keys)
            assert r.TTL in ((19, 20) if r.TTL >= 0 else (-1,))
            out.append((r.ID, r.TTL >= 0, r.grantedTTL, sorted(r.keys), r.header.revision > 0))
        return out

    assert on_both(servers, scenario)[0] == (4001, True, 20, [b"/ttl/a", b"/ttl/b", b"/ttl/c"], True)


def test_leases_are_listed_soonest_expiry_first(servers: dict[str, EtcdProcess]) -> None:
    ids = (5001, 5002, 5003, 5004)

    def scenario(c: Client) -> list[int]:
        for lease_id, ttl in zip(ids, (300, 100, 200, 100), strict=True):
            c.grant(ttl, lease_id)
        listed = c.lease.LeaseLeases(rpc_pb2.LeaseLeasesRequest(), timeout=10).leases
        return [status.ID for status in listed if status.ID in ids]

    assert on_both(servers, scenario) == [5002, 5004, 5003, 5001]


def test_revoke_deletes_the_keys_in_one_revision(tmp_path: Path) -> None:
    """On fresh members, so that the whole history (compared by HashKV) is the scenario's."""

    def scenario(c: Client) -> list[Any]:
        c.grant(60, 6001)
        c.grant(60, 6002)
        for key in (b"/rv/c", b"/rv/a", b"/rv/b"):
            c.put(key, lease=6001)
        c.put(b"/rv/d", lease=6002)
        c.put(b"/rv/plain")
        c.put(b"/rv/b", b"moved", lease=6002)
        before = c.get(b"/rv/").header.revision
        revoked = c.revoke(6001)
        again = outcome(lambda: c.revoke(6001))
        empty = c.grant(60, 6003)
        unchanged = c.revoke(6003)
        keys = [kv.key for kv in c.get(b"/rv/", b"/rv0").kvs]
        at_before = [
            kv.key
            for kv in c.kv.Range(
                rpc_pb2.RangeRequest(key=b"/rv/", range_end=b"/rv0", revision=before), timeout=10
            ).kvs
        ]
        hash_kv = c.hash_kv()
        return [
            before,
            revoked.header.revision,
            again,
            empty.header.revision,
            unchanged.header.revision,
            keys,
            at_before,
            hash_kv,
            c.ttl(6001).TTL,
            sorted(c.ttl(6002, True).keys),
        ]

    results = {}
    for kind in KINDS:
        with running(kind, tmp_path) as p, Client.to(p) as c:
            results[kind] = scenario(c)
    assert results["etcdpy"] == results["reference"]
    before, revoked_rev, again, *_ = results["etcdpy"]
    assert revoked_rev == before + 1
    assert again == ("NOT_FOUND", "etcdserver: requested lease not found")


def gateway(p: EtcdProcess, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    """POST to the JSON gateway: (HTTP status, decoded body without the member-specific IDs)."""
    req = urllib.request.Request(f"{p.url}/v3/{path}", data=json.dumps(body).encode(), method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            status, text = resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        status, text = e.code, e.read().decode()
    text = re.sub(r'"(cluster_id|member_id)":"\d+",?', "", text)
    return status, [json.loads(line) for line in text.splitlines() if line.strip()]


def test_gateway(servers: dict[str, EtcdProcess]) -> None:
    def scenario(p: EtcdProcess) -> list[Any]:
        calls: list[tuple[str, dict[str, Any]]] = [
            ("lease/grant", {"TTL": 30, "ID": 8001}),
            ("lease/grant", {"TTL": 30, "ID": 8001}),
            ("lease/grant", {"TTL": "9000000001"}),
            ("kv/put", {"key": "L2dhdGV3YXkvaw==", "value": "dg==", "lease": "8001"}),
            ("lease/timetolive", {"ID": 8001, "keys": True}),
            ("kv/lease/timetolive", {"ID": 8002}),
            ("lease/keepalive", {"ID": 8001}),
            ("lease/keepalive", {"ID": 8002}),
            ("kv/lease/revoke", {"ID": "8001"}),
            ("lease/revoke", {"ID": 8001}),
        ]
        return [gateway(p, path, body) for path, body in calls]

    results = {kind: scenario(servers[kind]) for kind in KINDS}
    for ours, theirs in zip(results["etcdpy"], results["reference"], strict=True):
        # Revisions differ between the shared members; the rest must match.
        assert re.sub(r'"revision": "\d+"', "", json.dumps(ours)) == re.sub(
            r'"revision": "\d+"', "", json.dumps(theirs)
        )
    assert results["etcdpy"][1][0] == 400 and results["etcdpy"][9][0] == 404
