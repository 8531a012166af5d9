"""Lease keep-alive streams, blocking (`KeepAlive`) and asyncio (`AsyncKeepAlive`).

Iterating a keep-alive renews the lease: the first renewal is sent at once, each later one
a third of the granted TTL after the previous answer, and every answer is yielded.
Iteration stops when the server reports the lease gone (TTL <= 0) or when no renewal
got through for a whole TTL (the lease has expired meanwhile); a broken stream (or one
whose auth token the server stops accepting) is reopened on the next endpoint until then.
`close()` stops renewing.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from typing import TYPE_CHECKING

from etcdpy.api import errors
from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.client import _rpc
from etcdpy.client._bidi import AsyncBidi
from etcdpy.client._status import TransportError
from etcdpy.client.auth import TOKEN_REFRESH_ERRORS
from etcdpy.pkg.timeouts import wait_for

if TYPE_CHECKING:
    from etcdpy.client.aio import AsyncClient
    from etcdpy.client.sync import Client

# Pause between attempts to reopen a broken keep-alive stream.
REOPEN_BACKOFF = 0.2


class KeepAliveState:
    """When the next renewal is due and until when the lease surely lives."""

    def __init__(self, lease_id: int) -> None:
        self.lease_id = lease_id
        self.next_send = 0.0
        self.deadline: float | None = None
        self.done = False

    def request(self) -> pb.LeaseKeepAliveRequest:
        return pb.LeaseKeepAliveRequest(ID=self.lease_id)

    def accept(self, resp: pb.LeaseKeepAliveResponse) -> bool:
        """Record an answer; False once the lease is gone."""
        if resp.TTL <= 0:
            self.done = True
            return False
        now = time.monotonic()
        self.next_send = now + resp.TTL / 3
        self.deadline = now + resp.TTL
        return True

    def wait_time(self) -> float:
        return max(0.0, self.next_send - time.monotonic())

    def time_left(self) -> float | None:
        """Seconds until the lease expires unless renewed (None before the first answer)."""
        return None if self.deadline is None else self.deadline - time.monotonic()

    def check_expired(self) -> bool:
        left = self.time_left()
        if left is not None and left <= 0:
            self.done = True
        return self.done


def check_once(resp: pb.LeaseKeepAliveResponse) -> pb.LeaseKeepAliveResponse:
    """A single renewal's answer, or the error for a lease that no longer exists."""
    if resp.TTL <= 0:
        raise errors.LEASE_NOT_FOUND
    return resp


class KeepAlive:
    """Blocking keep-alive of one lease; iterate it to renew."""

    def __init__(self, client: Client, lease_id: int, timeout: float | None) -> None:
        self._client = client
        self._state = KeepAliveState(lease_id)
        self._closed = threading.Event()
        self._stream, first = client._open_stream(_rpc.LEASE_KEEP_ALIVE, self._state.request(), timeout)
        self._pending: pb.LeaseKeepAliveResponse | None = first if self._state.accept(first) else None

    def __iter__(self) -> KeepAlive:
        return self

    def __next__(self) -> pb.LeaseKeepAliveResponse:
        if self._pending is not None:
            resp, self._pending = self._pending, None
            return resp
        while not self._state.done and not self._closed.wait(self._state.wait_time()):
            raw = self._renew()
            if raw is not None:
                if self._state.accept(raw):
                    return raw
                break
            if self._state.check_expired():
                break
            self._closed.wait(REOPEN_BACKOFF)
        raise StopIteration

    def _renew(self) -> pb.LeaseKeepAliveResponse | None:
        """One renewal on the open stream, else on a reopened one; None if neither worked."""
        try:
            self._stream.send(self._state.request())
            raw = self._stream.recv()
            if raw is not None:
                return raw
        except errors.EtcdError as err:
            if self._closed.is_set():
                return None
            if not isinstance(err, TransportError) and err not in TOKEN_REFRESH_ERRORS:
                raise
        self._stream.close()
        try:
            self._stream, raw = self._client._open_stream(
                _rpc.LEASE_KEEP_ALIVE, self._state.request(), self._state.time_left()
            )
        except errors.EtcdError:
            return None
        return raw

    def close(self) -> None:
        self._closed.set()
        self._stream.close()


class AsyncKeepAlive:
    """asyncio keep-alive of one lease, made by `await AsyncClient.keep_alive(...)`."""

    def __init__(self, client: AsyncClient, lease_id: int) -> None:
        self._client = client
        self._state = KeepAliveState(lease_id)
        self._closed = asyncio.Event()
        self._pending: pb.LeaseKeepAliveResponse | None = None
        self._stream: AsyncBidi[pb.LeaseKeepAliveResponse] | None = None

    async def start(self, timeout: float | None) -> None:
        self._stream, first = await self._client._open_stream(
            _rpc.LEASE_KEEP_ALIVE, self._state.request(), timeout
        )
        self._pending = first if self._state.accept(first) else None

    def __aiter__(self) -> AsyncKeepAlive:
        return self

    async def _wait_closed(self, seconds: float) -> bool:
        """Sleep `seconds` unless closed first; True if closed."""
        if seconds > 0 and not self._closed.is_set():
            with contextlib.suppress(TimeoutError):
                await wait_for(self._closed.wait(), seconds)
        return self._closed.is_set()

    async def __anext__(self) -> pb.LeaseKeepAliveResponse:
        if self._pending is not None:
            resp, self._pending = self._pending, None
            return resp
        while not self._state.done and not await self._wait_closed(self._state.wait_time()):
            raw = await self._renew()
            if raw is not None:
                if self._state.accept(raw):
                    return raw
                break
            if self._state.check_expired():
                break
            await self._wait_closed(REOPEN_BACKOFF)
        raise StopAsyncIteration

    def _require_stream(self) -> AsyncBidi[pb.LeaseKeepAliveResponse]:
        if self._stream is None:
            raise RuntimeError("the keep-alive was not started")
        return self._stream

    async def _renew(self) -> pb.LeaseKeepAliveResponse | None:
        stream = self._require_stream()
        try:
            await stream.send(self._state.request())
            raw = await stream.recv()
            if raw is not None:
                return raw
        except errors.EtcdError as err:
            if self._closed.is_set():
                return None
            if not isinstance(err, TransportError) and err not in TOKEN_REFRESH_ERRORS:
                raise
        stream.close()
        try:
            self._stream, raw = await self._client._open_stream(
                _rpc.LEASE_KEEP_ALIVE, self._state.request(), self._state.time_left()
            )
        except errors.EtcdError:
            return None
        return raw

    def close(self) -> None:
        self._closed.set()
        if self._stream is not None:
            self._stream.close()
