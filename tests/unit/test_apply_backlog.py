"""A member whose applied index lags its commit index by more than MAX_APPLY_BACKLOG refuses new
proposals with etcd's `etcdserver: too many requests` (RESOURCE_EXHAUSTED), and accepts them again
once it has caught up."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from etcdpy.api import errors
from etcdpy.api.pb.etcdserverpb import rpc_pb2
from etcdpy.server import server as server_module
from etcdpy.server.config import build_config
from etcdpy.server.server import EtcdServer


def test_proposals_refused_while_apply_lags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    async def main() -> None:
        s = EtcdServer(build_config({"data-dir": str(tmp_path / "m")}))
        await s.start()
        try:
            await s.put(rpc_pb2.PutRequest(key=b"a", value=b"1"))
            lagging = s.node.committed - 3  # as if the last three committed entries were unapplied
            monkeypatch.setattr(server_module, "MAX_APPLY_BACKLOG", 2)
            monkeypatch.setattr(s, "applied_index", lagging)
            with pytest.raises(errors.EtcdError) as refused:
                await s.put(rpc_pb2.PutRequest(key=b"b", value=b"2"))
            assert refused.value == errors.TOO_MANY_REQUESTS
            monkeypatch.setattr(s, "applied_index", s.node.committed)
            await s.put(rpc_pb2.PutRequest(key=b"b", value=b"2"))
        finally:
            await s.stop()

    asyncio.run(main())
