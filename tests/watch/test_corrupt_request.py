"""A Watch stream whose request iterator fails (grpc raises DecodeError for a corrupt message) ends
that stream cleanly: the handler ends cancelled, and the receive error does not escape from the
stream's cleanup (where it surfaced as an unretrieved task exception, found by tests/fuzz)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from google.protobuf.message import DecodeError

from etcdpy.api.pb.etcdserverpb import rpc_pb2
from etcdpy.api.v3rpc.watch import WatchService
from etcdpy.server.config import build_config
from etcdpy.server.server import EtcdServer


class _Context:
    def invocation_metadata(self) -> tuple[tuple[str, str], ...]:
        return ()


def test_a_corrupt_request_ends_the_stream_without_escaping(tmp_path: Path) -> None:
    async def main() -> list[rpc_pb2.WatchResponse]:
        s = EtcdServer(build_config({"data-dir": str(tmp_path / "m")}))
        await s.start()
        try:
            created = asyncio.Event()

            async def requests() -> AsyncIterator[rpc_pb2.WatchRequest]:
                yield rpc_pb2.WatchRequest(create_request=rpc_pb2.WatchCreateRequest(key=b"k"))
                await created.wait()
                raise DecodeError("Error parsing message with type 'etcdserverpb.WatchRequest'")

            got: list[rpc_pb2.WatchResponse] = []

            async def serve() -> None:
                service = WatchService(s, fragment_bytes=1 << 20)
                async for resp in service.Watch(requests(), _Context()):  # type: ignore[arg-type]
                    got.append(resp)
                    created.set()

            with pytest.raises(asyncio.CancelledError):
                await asyncio.create_task(serve())
            return got
        finally:
            await s.stop()

    got = asyncio.run(main())
    assert len(got) == 1 and got[0].created
