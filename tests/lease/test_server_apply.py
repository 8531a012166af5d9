"""Leases through EtcdServer in-process: requests go through the log and the applier."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from etcdpy.api import errors
from etcdpy.api.pb.etcdserverpb import rpc_pb2
from etcdpy.api.pb.mvccpb.kv_pb2 import Event
from etcdpy.server.config import build_config
from etcdpy.server.server import EtcdServer

Scenario = Callable[[EtcdServer], Awaitable[Any]]


def run(data_dir: Path, *scenarios: Scenario) -> list[Any]:
    """Each scenario on a fresh start of the member (a clean restart between them)."""

    async def main() -> list[Any]:
        out = []
        for scenario in scenarios:
            server = EtcdServer(build_config({"data-dir": str(data_dir)}))
            await server.start()
            try:
                out.append(await scenario(server))
            finally:
                await server.stop()
        return out

    return asyncio.run(main())


def put(key: bytes, lease: int = 0, value: bytes = b"v") -> rpc_pb2.PutRequest:
    return rpc_pb2.PutRequest(key=key, value=value, lease=lease)


def state(s: EtcdServer) -> dict[str, Any]:
    kvs = s.kv.range(b"\0", b"\0").kvs
    return {
        "keys": [(kv.key, kv.lease, kv.mod_revision) for kv in kvs],
        "leases": sorted((lease.id, lease.ttl) for lease in s.lessor.leases()),
        "attached": {lease.id: s.lessor.keys(lease.id) for lease in s.lessor.leases()},
        "rev": s.kv.rev,
        "hash": s.kv.hash_kv()[0],
    }


def test_server_chosen_ids_carry_the_member_prefix(tmp_path: Path) -> None:
    async def scenario(s: EtcdServer) -> tuple[int, int, int]:
        first = await s.lease_grant(rpc_pb2.LeaseGrantRequest(TTL=10))
        second = await s.lease_grant(rpc_pb2.LeaseGrantRequest(TTL=10))
        return first.ID, second.ID, s.member.id

    (first, second, member_id) = run(tmp_path / "m", scenario)[0]
    assert first >> 48 == member_id & 0x7FFF  # its low 16 bits, less the sign bit
    assert second > first > 0


def test_puts_and_txns_attach_and_detach(tmp_path: Path) -> None:
    async def scenario(s: EtcdServer) -> dict[int, list[bytes]]:
        await s.lease_grant(rpc_pb2.LeaseGrantRequest(TTL=30, ID=1))
        await s.lease_grant(rpc_pb2.LeaseGrantRequest(TTL=30, ID=2))
        await s.put(put(b"a", 1))
        await s.put(put(b"b", 1))
        await s.put(put(b"c", 2))
        await s.txn(
            rpc_pb2.TxnRequest(
                success=[
                    rpc_pb2.RequestOp(request_put=put(b"d", 2)),
                    rpc_pb2.RequestOp(request_put=put(b"a")),
                    rpc_pb2.RequestOp(request_delete_range=rpc_pb2.DeleteRangeRequest(key=b"c")),
                ]
            )
        )
        await s.put(rpc_pb2.PutRequest(key=b"b", value=b"new", ignore_lease=True))
        await s.delete_range(rpc_pb2.DeleteRangeRequest(key=b"x"))
        return {lease_id: s.lessor.keys(lease_id) for lease_id in (1, 2)}

    assert run(tmp_path / "m", scenario)[0] == {1: [b"b"], 2: [b"d"]}


def test_missing_lease_is_rejected_by_put_and_txn(tmp_path: Path) -> None:
    async def scenario(s: EtcdServer) -> list[errors.EtcdError]:
        out = []
        for call in (
            s.put(put(b"k", 9)),
            s.txn(rpc_pb2.TxnRequest(success=[rpc_pb2.RequestOp(request_put=put(b"k", 9))])),
        ):
            with pytest.raises(errors.EtcdError) as e:
                await call
            out.append(e.value)
        return out

    assert run(tmp_path / "m", scenario)[0] == [errors.LEASE_NOT_FOUND] * 2


def test_revoke_is_one_revision_of_sorted_deletes(tmp_path: Path) -> None:
    async def scenario(s: EtcdServer) -> tuple[int, int, list[tuple[int, bytes, int]]]:
        await s.lease_grant(rpc_pb2.LeaseGrantRequest(TTL=30, ID=1))
        for key in (b"z", b"m", b"a"):
            await s.put(put(key, 1))
        before = s.kv.rev
        resp = await s.lease_revoke(rpc_pb2.LeaseRevokeRequest(ID=1))
        events = s.kv.events(before + 1)
        return before, resp.header.revision, [(e.type, e.kv.key, e.kv.mod_revision) for e in events]

    before, revoked_at, events = run(tmp_path / "m", scenario)[0]
    assert revoked_at == before + 1
    assert events == [(Event.DELETE, key, before + 1) for key in (b"a", b"m", b"z")]


def test_replaying_the_log_onto_an_older_backend_reaches_the_same_state(tmp_path: Path) -> None:
    """The backend loses its latest commits (as after an OS crash); the WAL replays them."""
    data_dir = tmp_path / "m"
    db = data_dir / "member" / "snap" / "db"
    old_db = tmp_path / "old-db"

    async def first(s: EtcdServer) -> dict[str, Any]:
        await s.lease_grant(rpc_pb2.LeaseGrantRequest(TTL=30, ID=1))
        await s.put(put(b"k1", 1))
        with s.backend.snapshot() as snap, open(old_db, "wb") as out:
            for chunk in snap:
                out.write(chunk)
        await s.put(put(b"k2", 1))
        await s.txn(rpc_pb2.TxnRequest(success=[rpc_pb2.RequestOp(request_put=put(b"k3", 1))]))
        await s.delete_range(rpc_pb2.DeleteRangeRequest(key=b"k1"))
        await s.lease_grant(rpc_pb2.LeaseGrantRequest(TTL=40, ID=2))
        await s.put(put(b"k4", 2))
        await s.lease_grant(rpc_pb2.LeaseGrantRequest(TTL=50, ID=3))
        await s.put(put(b"k5", 3))
        await s.lease_revoke(rpc_pb2.LeaseRevokeRequest(ID=1))
        await s.lease_revoke(rpc_pb2.LeaseRevokeRequest(ID=3))
        return state(s)

    async def after(s: EtcdServer) -> dict[str, Any]:
        return state(s)

    (expected,) = run(data_dir, first)
    assert expected["leases"] == [(2, 40)] and expected["attached"] == {2: [b"k4"]}
    os.replace(old_db, db)
    (replayed,) = run(data_dir, after)
    assert replayed == expected
