"""Proposals that are never committed fail with etcd's `request timed out` once REQUEST_TIMEOUT has
passed (swept on the raft tick), and a proposer that gives up leaves no waiter behind."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from etcdpy.api import errors
from etcdpy.api.pb.etcdserverpb import rpc_pb2
from etcdpy.server import server as server_module
from etcdpy.server.config import build_config
from etcdpy.server.server import EtcdServer


async def _member_that_never_commits(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> EtcdServer:
    """A started lone member whose proposals from now on never reach raft (as if its leader were
    gone)."""
    s = EtcdServer(build_config({"data-dir": str(tmp_path / "m")}))
    await s.start()
    deadline = time.monotonic() + 10
    while s.pending_proposals:  # the member's own proposals after start (its attributes, version)
        assert time.monotonic() < deadline, "the member's own proposals never completed"
        await asyncio.sleep(0.01)
    monkeypatch.setattr(s, "_hand_over_proposals", lambda: None)
    return s


def test_an_uncommitted_proposal_times_out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server_module, "REQUEST_TIMEOUT", 0.5)

    async def main() -> float:
        s = await _member_that_never_commits(tmp_path, monkeypatch)
        try:
            started = time.monotonic()
            with pytest.raises(errors.EtcdError) as failed:
                await s.put(rpc_pb2.PutRequest(key=b"k", value=b"v"))
            assert failed.value == errors.TIMEOUT
            assert s.pending_proposals == 0
            return time.monotonic() - started
        finally:
            await s.stop()

    took = asyncio.run(main())
    assert 0.5 <= took < 0.5 + 2.0  # expired on a tick after the timeout, not never


def test_a_proposer_that_gives_up_leaves_no_waiter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def main() -> None:
        s = await _member_that_never_commits(tmp_path, monkeypatch)
        try:
            put = asyncio.ensure_future(s.put(rpc_pb2.PutRequest(key=b"k", value=b"v")))
            deadline = time.monotonic() + 5
            while s.pending_proposals == 0:
                assert time.monotonic() < deadline, "the put never became a pending proposal"
                await asyncio.sleep(0.01)
            put.cancel()
            with pytest.raises(asyncio.CancelledError):
                await put
            assert s.pending_proposals == 0
        finally:
            await s.stop()

    asyncio.run(main())
