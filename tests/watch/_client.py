"""Blocking gRPC helpers for the watch, lock and election tests against real servers."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from typing import Any

import grpc
from google.protobuf import text_format
from google.protobuf.message import Message

from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.api.pb.etcdserverpb import rpc_pb2_grpc

Create = pb.WatchCreateRequest

_END = object()


class WatchClient:
    """One Watch stream: requests go in with `send`, responses come out of `recv` (a reader thread
    takes them off the stream as they arrive, unless `paused`)."""

    def __init__(self, channel: grpc.Channel) -> None:
        self._requests: queue.Queue[Any] = queue.Queue()
        self._responses: queue.Queue[pb.WatchResponse | grpc.RpcError] = queue.Queue()
        self._call = rpc_pb2_grpc.WatchStub(channel).Watch(self._request_iter())
        self.reading = threading.Event()
        self.reading.set()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _request_iter(self) -> Iterator[pb.WatchRequest]:
        while True:
            req = self._requests.get()
            if req is _END:
                return
            yield req

    def _read(self) -> None:
        try:
            for resp in self._call:
                self._responses.put(resp)
                self.reading.wait()
        except grpc.RpcError as e:
            self._responses.put(e)

    def create(self, key: bytes, **kw: Any) -> None:
        self._requests.put(pb.WatchRequest(create_request=Create(key=key, **kw)))

    def cancel(self, watch_id: int) -> None:
        self._requests.put(pb.WatchRequest(cancel_request=pb.WatchCancelRequest(watch_id=watch_id)))

    def progress(self) -> None:
        self._requests.put(pb.WatchRequest(progress_request=pb.WatchProgressRequest()))

    def close_send(self) -> None:
        self._requests.put(_END)

    def recv(self, timeout: float = 5.0) -> pb.WatchResponse:
        item = self._responses.get(timeout=timeout)
        if isinstance(item, grpc.RpcError):
            raise item
        return item

    def drain(self, settle: float = 0.25) -> list[pb.WatchResponse]:
        """Every response until none arrives for `settle` seconds."""
        out = []
        while True:
            try:
                out.append(self.recv(settle))
            except queue.Empty:
                return out

    def collect(self, seconds: float) -> list[pb.WatchResponse]:
        """Every response that arrives within `seconds`."""
        deadline = time.monotonic() + seconds
        out = []
        while (left := deadline - time.monotonic()) > 0:
            try:
                out.append(self.recv(left))
            except queue.Empty:
                break
        return out

    def close(self) -> None:
        self._call.cancel()  # type: ignore[no-untyped-call]
        self.reading.set()
        self._thread.join(timeout=5)


def text(msg: Message, ids: dict[int, str] | None = None) -> str:
    """A message as one line of text format, with the member's IDs cleared and each ID of `ids`
    (lease IDs) replaced by its name, in decimal and in hex (as in recipe keys)."""
    copy = type(msg)()
    copy.CopyFrom(msg)
    header = getattr(copy, "header", None)
    if header is not None:
        header.cluster_id = 0
        header.member_id = 0
    out = text_format.MessageToString(copy, as_one_line=True)
    for value, name in (ids or {}).items():
        out = out.replace(str(value), name).replace(f"{value:x}", name)
    return out
