"""EtcdServer's write path under concurrency, in-process: proposals made together share one WAL
fsync and one backend commit, yet every write keeps its own revision and is durable when answered."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from etcdpy.api.pb.etcdserverpb import rpc_pb2
from etcdpy.server import fsync_speed
from etcdpy.server import server as server_module
from etcdpy.server.config import build_config
from etcdpy.server.server import EtcdServer

CLIENTS = 200


def _fsyncs(s: EtcdServer) -> float:
    count = s.metrics.registry.get_sample_value("etcd_disk_wal_fsync_duration_seconds_count")
    return count or 0.0


async def _concurrent_puts(s: EtcdServer) -> list[rpc_pb2.PutResponse]:
    reqs = [rpc_pb2.PutRequest(key=b"k%03d" % i, value=b"v%d" % i) for i in range(CLIENTS)]
    return list(await asyncio.gather(*(s.put(r) for r in reqs)))


def _run_member(data_dir: Path, scenario_name: str) -> dict[bytes, int]:
    """Start the member, run the scenario, stop it; returns key -> mod_revision of every key."""

    async def main() -> dict[bytes, int]:
        s = EtcdServer(build_config({"data-dir": str(data_dir)}))
        await s.start()
        try:
            if scenario_name == "puts":
                fsyncs = _fsyncs(s)
                resps = await _concurrent_puts(s)
                assert _fsyncs(s) - fsyncs < CLIENTS / 4  # group commit
                stored = {kv.key: kv.mod_revision for kv in s.kv.range(b"k", b"l").kvs}
                # Each answer carries the revision its own put made, not the store's latest.
                assert sorted(r.header.revision for r in resps) == sorted(stored.values())
                assert len(set(stored.values())) == CLIENTS
            return {kv.key: kv.mod_revision for kv in s.kv.range(b"k", b"l").kvs}
        finally:
            await s.stop()

    return asyncio.run(main())


@pytest.mark.parametrize("wal_thread", [False, True], ids=["sync-on-loop", "sync-on-wal-thread"])
def test_concurrent_puts_are_batched_and_survive_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, wal_thread: bool
) -> None:
    if wal_thread:
        monkeypatch.setattr(fsync_speed, "INLINE_SYNC_MAX", 0.0)
    written = _run_member(tmp_path / "m", "puts")
    assert _run_member(tmp_path / "m", "reopen") == written


def test_a_lone_proposer_waits_for_company_at_most_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    step = 0.4
    monkeypatch.setattr(server_module, "GATHER_STEP", step)
    monkeypatch.setattr(server_module, "GATHER_MAX", 2 * step)

    async def main() -> float:
        s = EtcdServer(build_config({"data-dir": str(tmp_path / "m")}))
        await s.start()
        try:
            loop = asyncio.get_running_loop()
            await asyncio.gather(*(s.put(rpc_pb2.PutRequest(key=b"w%d" % i)) for i in range(50)))
            started = loop.time()
            for i in range(10):
                await s.put(rpc_pb2.PutRequest(key=b"k", value=b"%d" % i))
            return loop.time() - started
        finally:
            await s.stop()

    # After a batch of 50 the driver waits one step for more; seeing none come, it stops waiting.
    assert asyncio.run(main()) < 2 * step
