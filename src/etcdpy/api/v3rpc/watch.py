"""The Watch service: one bidirectional stream carries many watchers, as etcd's v3rpc watch server.

Per stream, a receive loop turns requests into watchers (answering each
create, cancel and progress request with a control response) and a send loop
writes the stream's queued responses in order, adding the header and
splitting large event batches for watchers that asked for fragments. The
stream stays open after the client half-closes, as etcd's does, until the
client cancels it; then every watcher of the stream is removed.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

from etcdpy.api import errors
from etcdpy.api.pb.etcdserverpb import rpc_pb2, rpc_pb2_grpc
from etcdpy.api.v3rpc.credentials import serve_as_caller
from etcdpy.api.v3rpc.status import Context
from etcdpy.mvcc.watch_stream import INVALID_WATCH_ID, WatchError, WatchStream
from etcdpy.mvcc.watcher import WatchResponse
from etcdpy.pkg import zaplog
from etcdpy.server.config import parse_duration
from etcdpy.server.server import EtcdServer

log = zaplog.get("v3rpc")

DEFAULT_PROGRESS_INTERVAL = 600.0
MIN_PROGRESS_INTERVAL = 0.1
_NOPUT = rpc_pb2.WatchCreateRequest.NOPUT
_NODELETE = rpc_pb2.WatchCreateRequest.NODELETE


def progress_interval(server: EtcdServer) -> float:
    """--experimental-watch-progress-notify-interval (0: the default), at least etcd's minimum."""
    configured = parse_duration(server.cfg.raw.get("experimental-watch-progress-notify-interval", ""))
    if configured <= 0:
        return DEFAULT_PROGRESS_INTERVAL
    if configured < MIN_PROGRESS_INTERVAL:
        log.warning(
            "adjusting watch progress notify interval to minimum period",
            **{"min-watch-progress-notify-interval": "100ms"},
        )
        return MIN_PROGRESS_INTERVAL
    return configured


# etcd gives the gRPC error's text, code and all, as the cancel reason.
_DENIED = f"rpc error: code = PermissionDenied desc = {errors.PERMISSION_DENIED.message}"

class WatchService(rpc_pb2_grpc.WatchServicer):
    def __init__(self, server: EtcdServer, fragment_bytes: int) -> None:
        """fragment_bytes: a fragmenting watcher's event batches are split below this size."""
        self._server = server
        self._fragment_bytes = fragment_bytes
        self._progress_interval = progress_interval(server)

    async def Watch(
        self, request_iterator: AsyncIterator[rpc_pb2.WatchRequest], context: Context
    ) -> AsyncIterator[rpc_pb2.WatchResponse]:
        serve_as_caller(context)
        session = _Session(self._server, WatchStream(self._server.watchable), self._fragment_bytes)
        handler = asyncio.current_task()
        recv = asyncio.create_task(session.recv_loop(request_iterator), name="watch-recv")
        if handler is not None:
            recv.add_done_callback(lambda t: _end_on_error(t, handler))
        interval = self._progress_interval * (1 + random.random() / 10)
        ticker = asyncio.create_task(session.progress_loop(interval), name="watch-progress")
        try:
            # After the client half-closes, responses keep coming until it cancels (as etcd).
            while True:
                resp = await session.stream.get()
                for msg in session.encode(resp):
                    yield msg
                session.sent(resp)
        finally:
            session.stream.close()
            recv.cancel()
            ticker.cancel()
            # Neither task's end may escape from here: a receive that failed (a corrupt request) was
            # logged when it ended this stream, and raising it now would surface as an unretrieved
            # task exception of the generator's close.
            await asyncio.gather(recv, ticker, return_exceptions=True)


def _end_on_error(recv: asyncio.Task[None], handler: asyncio.Task[Any]) -> None:
    """A failed receive ends the stream (a client's half-close does not)."""
    if not recv.cancelled() and recv.exception() is not None:
        log.debug("failed to receive watch request from gRPC stream", error=str(recv.exception()))
        handler.cancel()


class _Session:
    """One Watch stream's state: its watchers, and which of them want progress reports or fragments."""

    def __init__(self, server: EtcdServer, stream: WatchStream, fragment_bytes: int) -> None:
        self._server = server
        self.stream = stream
        self._fragment_bytes = fragment_bytes
        # Watch ID -> whether its next periodic progress report is due (no events sent since the last).
        self._progress: dict[int, bool] = {}
        self._fragment: set[int] = set()

    async def recv_loop(self, requests: AsyncIterator[rpc_pb2.WatchRequest]) -> None:
        stream = self.stream
        async for req in requests:
            await stream.wait_room()
            kind = req.WhichOneof("request_union")
            if kind == "create_request":
                if await self._permitted(req.create_request):
                    self._create(req.create_request)
                else:
                    stream.push(WatchResponse(req.create_request.watch_id, stream.rev, created=True,
                                              canceled=True, cancel_reason=_DENIED))
            elif kind == "cancel_request":
                wid = req.cancel_request.watch_id
                if stream.cancel(wid):
                    stream.push(WatchResponse(wid, stream.rev, canceled=True))
                    self._progress.pop(wid, None)
                    self._fragment.discard(wid)
            elif kind == "progress_request":
                stream.request_progress_all()

    async def _permitted(self, creq: rpc_pb2.WatchCreateRequest) -> bool:
        """Whether the stream's caller may read what it asks to watch (while auth is enabled)."""
        server = self._server
        try:
            server.auth.check(await server.caller(), creq.key, creq.range_end, write=False)
        except errors.EtcdError:
            return False
        return True

    def _create(self, creq: rpc_pb2.WatchCreateRequest) -> None:
        stream = self.stream
        key = creq.key or b"\0"  # the smallest key
        wsrev = stream.rev
        try:
            wid = stream.watch(
                creq.watch_id,
                key,
                creq.range_end,
                creq.start_revision or wsrev + 1,
                prev_kv=creq.prev_kv,
                no_put=_NOPUT in creq.filters,
                no_delete=_NODELETE in creq.filters,
            )
        except WatchError as e:
            stream.push(
                WatchResponse(INVALID_WATCH_ID, wsrev, created=True, canceled=True, cancel_reason=str(e))
            )
            return
        if creq.progress_notify:
            self._progress[wid] = True
        if creq.fragment:
            self._fragment.add(wid)
        stream.push(WatchResponse(wid, wsrev, created=True))

    def encode(self, resp: WatchResponse) -> list[rpc_pb2.WatchResponse]:
        """The messages that carry `resp`: one, or its fragments if its watcher asked for them."""
        header = self._server.header()
        header.revision = resp.revision
        msg = rpc_pb2.WatchResponse(
            header=header,
            watch_id=resp.watch_id,
            created=resp.created,
            canceled=resp.canceled,
            compact_revision=resp.compact_revision,
            cancel_reason=resp.cancel_reason,
            events=resp.events,
        )
        if resp.watch_id in self._fragment:
            return fragments(msg, self._fragment_bytes)
        return [msg]

    def sent(self, resp: WatchResponse) -> None:
        if resp.events and resp.watch_id in self._progress:
            self._progress[resp.watch_id] = False  # events count as progress: skip the next report

    async def progress_loop(self, interval: float) -> None:
        """Every interval, a progress report to each progress_notify watcher that got no events since."""
        while True:
            await asyncio.sleep(interval)
            for wid, due in self._progress.items():
                if due:
                    self.stream.request_progress(wid)
                self._progress[wid] = True


def fragments(msg: rpc_pb2.WatchResponse, limit: int) -> list[rpc_pb2.WatchResponse]:
    """`msg` split as etcd splits it: parts under `limit` bytes (each holding at least one event),
    all but the last marked fragment=true. A small response, or one with one event, stays whole."""
    if len(msg.events) < 2 or msg.ByteSize() < limit:
        return [msg]
    template = rpc_pb2.WatchResponse()
    template.CopyFrom(msg)
    del template.events[:]
    template.fragment = True
    base = template.ByteSize()
    parts: list[rpc_pb2.WatchResponse] = []
    size = base
    for ev in msg.events:
        n = ev.ByteSize()
        grown = size + 1 + _varint_len(n) + n  # field 11's tag, the length, the event
        if size > base and grown >= limit:
            parts.append(template)
            template = rpc_pb2.WatchResponse()
            template.CopyFrom(parts[-1])
            del template.events[:]
            grown = base + 1 + _varint_len(n) + n
        template.events.append(ev)
        size = grown
    template.fragment = False
    parts.append(template)
    return parts


def _varint_len(n: int) -> int:
    return max(1, (n.bit_length() + 6) // 7)
