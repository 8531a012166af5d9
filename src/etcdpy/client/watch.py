"""Watches: a stream of `WatchResponse`s for a key or range, blocking (`Watch`) and asyncio (`AsyncWatch`).

A watch is established when `Client.watch` returns (the server acknowledged it); the
acknowledgement itself is not delivered. Iteration yields every later response: events,
progress notifications (`is_progress_notify`), and a final `canceled` one when the server
ends the watch (e.g. its start revision was compacted), after which iteration stops.
A stream that breaks (or whose auth token the server stops accepting) is reopened on the next
endpoint, resuming after the last revision delivered, so no event is lost or repeated.
`cancel()` ends the watch from the client side.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING

from etcdpy.api import errors
from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.client import _rpc
from etcdpy.client._bidi import AsyncBidi, SyncBidi
from etcdpy.client._status import TransportError
from etcdpy.client.auth import TOKEN_REFRESH_ERRORS

if TYPE_CHECKING:
    from etcdpy.client.aio import AsyncClient
    from etcdpy.client.sync import Client

# Pause between attempts to reopen a broken watch stream.
RESUME_BACKOFF = 0.2


def is_progress_notify(resp: pb.WatchResponse) -> bool:
    """A response that only reports the revision the watch has reached."""
    return (
        not resp.events
        and not resp.canceled
        and not resp.created
        and resp.compact_revision == 0
        and resp.header.revision != 0
    )


def token_refused(resp: pb.WatchResponse) -> bool:
    """A watch the server would not create for want of a valid auth token."""
    return resp.canceled and any(err.message in resp.cancel_reason for err in TOKEN_REFRESH_ERRORS)


class WatchState:
    """What a watch has delivered, hence where a reopened stream has to start."""

    def __init__(self, request: pb.WatchCreateRequest) -> None:
        self._request = request
        self.watch_id = -1
        self.done = False

    def create_request(self) -> pb.WatchRequest:
        return pb.WatchRequest(create_request=self._request)

    def progress_request(self) -> pb.WatchRequest:
        return pb.WatchRequest(progress_request=pb.WatchProgressRequest())

    def cancel_request(self) -> pb.WatchRequest | None:
        if self.watch_id < 0:
            return None
        return pb.WatchRequest(cancel_request=pb.WatchCancelRequest(watch_id=self.watch_id))

    def accept(self, resp: pb.WatchResponse) -> pb.WatchResponse | None:
        """The response for the reader, or None for one it does not see (the creation ack)."""
        if resp.canceled:
            self.done = True
            return resp
        if resp.created:
            self.watch_id = resp.watch_id
            if self._request.start_revision == 0:
                self._request.start_revision = resp.header.revision + 1
            return None
        if resp.events:
            self._request.start_revision = resp.events[-1].kv.mod_revision + 1
        elif is_progress_notify(resp):
            self._request.start_revision = max(self._request.start_revision, resp.header.revision + 1)
        return resp


class Watch:
    """A blocking watch; iterate it for responses. Also a context manager that cancels it."""

    def __init__(self, client: Client, request: pb.WatchCreateRequest, timeout: float | None) -> None:
        self._client = client
        self._state = WatchState(request)
        self._closed = threading.Event()
        self._pending: pb.WatchResponse | None = None
        self._stream = self._open(timeout)

    def _open(self, timeout: float | None) -> SyncBidi[pb.WatchResponse]:
        stream, first = self._client._open_stream(_rpc.WATCH, self._state.create_request(), timeout)
        if token_refused(first) and self._client._relogin():
            stream.close()
            stream, first = self._client._open_stream(_rpc.WATCH, self._state.create_request(), timeout)
        self._pending = self._state.accept(first)
        return stream

    def _resume(self) -> None:
        self._stream.close()
        while not self._closed.is_set():
            try:
                self._stream = self._open(None)
                return
            except TransportError:
                self._closed.wait(RESUME_BACKOFF)

    def __iter__(self) -> Watch:
        return self

    def __next__(self) -> pb.WatchResponse:
        while True:
            if self._pending is not None:
                resp, self._pending = self._pending, None
                return resp
            if self._state.done or self._closed.is_set():
                raise StopIteration
            try:
                raw = self._stream.recv()
            except errors.EtcdError as err:
                if self._closed.is_set():
                    raise StopIteration from None
                if not isinstance(err, TransportError) and err not in TOKEN_REFRESH_ERRORS:
                    raise
                raw = None
            if raw is None:
                self._resume()
            else:
                self._pending = self._state.accept(raw)

    def request_progress(self) -> None:
        """Ask for a progress notification (sent once the watch has caught up)."""
        self._stream.send(self._state.progress_request())

    def cancel(self) -> None:
        self._closed.set()
        request = self._state.cancel_request()
        if request is not None:
            self._stream.send(request)
        self._stream.close()

    def __enter__(self) -> Watch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel()


class AsyncWatch:
    """An asyncio watch, made by `await AsyncClient.watch(...)`; `async for` it for responses."""

    def __init__(self, client: AsyncClient, request: pb.WatchCreateRequest) -> None:
        self._client = client
        self._state = WatchState(request)
        self._closed = False
        self._pending: pb.WatchResponse | None = None
        self._stream: AsyncBidi[pb.WatchResponse] | None = None

    async def start(self, timeout: float | None) -> None:
        self._stream = await self._open(timeout)

    async def _open(self, timeout: float | None) -> AsyncBidi[pb.WatchResponse]:
        request = self._state.create_request()
        stream, first = await self._client._open_stream(_rpc.WATCH, request, timeout)
        if token_refused(first) and await self._client._relogin():
            stream.close()
            stream, first = await self._client._open_stream(_rpc.WATCH, request, timeout)
        self._pending = self._state.accept(first)
        return stream

    def _require_stream(self) -> AsyncBidi[pb.WatchResponse]:
        if self._stream is None:
            raise RuntimeError("the watch was not started")
        return self._stream

    async def _resume(self) -> None:
        self._require_stream().close()
        while not self._closed:
            try:
                self._stream = await self._open(None)
                return
            except TransportError:
                await asyncio.sleep(RESUME_BACKOFF)

    def __aiter__(self) -> AsyncWatch:
        return self

    async def __anext__(self) -> pb.WatchResponse:
        while True:
            if self._pending is not None:
                resp, self._pending = self._pending, None
                return resp
            if self._state.done or self._closed:
                raise StopAsyncIteration
            try:
                raw = await self._require_stream().recv()
            except errors.EtcdError as err:
                if self._closed:
                    raise StopAsyncIteration from None
                if not isinstance(err, TransportError) and err not in TOKEN_REFRESH_ERRORS:
                    raise
                raw = None
            if raw is None:
                await self._resume()
            else:
                self._pending = self._state.accept(raw)

    async def request_progress(self) -> None:
        await self._require_stream().send(self._state.progress_request())

    async def cancel(self) -> None:
        self._closed = True
        stream = self._require_stream()
        request = self._state.cancel_request()
        if request is not None:
            await stream.send(request)
        stream.close()

    async def __aenter__(self) -> AsyncWatch:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.cancel()
