"""--max-concurrent-streams bounds the streams one client connection has open at a time: a stream
beyond the bound waits until another ends (grpc's HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc

from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.api.pb.etcdserverpb import rpc_pb2_grpc
from tests.servers import running


class _Watch:
    """One Watch stream on `channel` whose responses land in `got`; `close()` ends it."""

    def __init__(self, channel: grpc.Channel, key: bytes) -> None:
        self.got: queue.Queue[pb.WatchResponse] = queue.Queue()
        self._done = threading.Event()
        create = pb.WatchRequest(create_request=pb.WatchCreateRequest(key=key))
        self._call = rpc_pb2_grpc.WatchStub(channel).Watch(self._requests(create))
        threading.Thread(target=self._read, daemon=True).start()

    def _requests(self, first: pb.WatchRequest) -> Iterator[pb.WatchRequest]:
        yield first
        self._done.wait()

    def _read(self) -> None:
        try:
            for resp in self._call:
                self.got.put(resp)
        except grpc.RpcError:
            pass

    def close(self) -> None:
        self._done.set()
        self._call.cancel()  # type: ignore[no-untyped-call]


def test_a_stream_past_the_bound_waits_for_another_to_end(tmp_path: Path) -> None:
    flags = ["--max-concurrent-streams", "2"]
    with running("etcdpy", tmp_path, extra_args=flags) as m, grpc.insecure_channel(m.endpoint) as ch:
        first, second = _Watch(ch, b"a"), _Watch(ch, b"b")
        assert first.got.get(timeout=10).created and second.got.get(timeout=10).created
        third = _Watch(ch, b"c")
        try:
            third.got.get(timeout=1.0)  # bounded: what must not happen within a second
            raise AssertionError("a third stream was served past --max-concurrent-streams=2")
        except queue.Empty:
            pass
        first.close()
        assert third.got.get(timeout=10).created
        second.close()
        third.close()
