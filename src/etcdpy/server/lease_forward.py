"""A follower's keep-alives and TimeToLive requests, answered by the leader.

Only the leader's lessor knows when leases expire, so a member that is not the leader passes
these requests on (as etcd does). They go to the leader's client URL over gRPC: keep-alives on
one long-lived LeaseKeepAlive stream per leader, whose answers come back one per request, in
order; TimeToLive as a unary call on the same channel. When the leader changes, the stream to
the old one is closed and its pending renewals fail, to be retried by their callers.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Callable
from urllib.parse import urlsplit

import grpc

from etcdpy.api import errors
from etcdpy.api.pb.etcdserverpb import rpc_pb2
from etcdpy.pkg import timeouts

_KeepAliveCall = grpc.aio.StreamStreamCall[rpc_pb2.LeaseKeepAliveRequest, rpc_pb2.LeaseKeepAliveResponse]


class _LeaderLink:
    """The channel to one leader and its keep-alive stream. Invariant: `pending` holds a future per
    request written on the stream and not yet answered, oldest first."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.channel = grpc.aio.insecure_channel(target)
        self.keep_alive = self.channel.stream_stream(
            "/etcdserverpb.Lease/LeaseKeepAlive",
            rpc_pb2.LeaseKeepAliveRequest.SerializeToString,
            rpc_pb2.LeaseKeepAliveResponse.FromString,
        )
        self.time_to_live = self.channel.unary_unary(
            "/etcdserverpb.Lease/LeaseTimeToLive",
            rpc_pb2.LeaseTimeToLiveRequest.SerializeToString,
            rpc_pb2.LeaseTimeToLiveResponse.FromString,
        )
        self.call: _KeepAliveCall | None = None
        self.pending: collections.deque[asyncio.Future[int]] = collections.deque()
        self.write_lock = asyncio.Lock()
        self.reader: asyncio.Task[None] | None = None

    def keep_alive_call(self) -> _KeepAliveCall:
        if self.call is None or self.call.done():
            self.call = self.keep_alive(None)
            self.reader = asyncio.get_running_loop().create_task(self._read(self.call))
        return self.call

    async def _read(self, call: _KeepAliveCall) -> None:
        error: errors.EtcdError = errors.NOT_LEADER
        try:
            async for resp in call:
                if self.pending:
                    fut = self.pending.popleft()
                    if not fut.done():
                        fut.set_result(resp.TTL)
        except grpc.aio.AioRpcError as e:
            error = errors.BY_MESSAGE.get(e.details() or "", errors.NOT_LEADER)
        finally:
            self._fail_pending(error)

    def _fail_pending(self, error: errors.EtcdError) -> None:
        while self.pending:
            fut = self.pending.popleft()
            if not fut.done():
                fut.set_exception(error)

    async def close(self) -> None:
        if self.call is not None:
            self.call.cancel()
        if self.reader is not None:
            self.reader.cancel()
        self._fail_pending(errors.NOT_LEADER)
        await self.channel.close(None)


class LeaderLeases:
    """Forwards lease requests to whichever member `leader_url()` names (None: no leader known)."""

    def __init__(self, leader_url: Callable[[], str | None], timeout: float) -> None:
        self._leader_url = leader_url
        self._timeout = timeout
        self._link: _LeaderLink | None = None

    async def _current(self) -> _LeaderLink:
        url = self._leader_url()
        if url is None:
            raise errors.NO_LEADER
        target = urlsplit(url).netloc
        link = self._link
        if link is None or link.target != target:
            if link is not None:
                await link.close()
            link = self._link = _LeaderLink(target)
        return link

    async def renew(self, lease_id: int) -> int:
        """The TTL the leader granted on renewal; raises LEASE_NOT_FOUND for a lease it does not know."""
        link = await self._current()
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        async with link.write_lock:  # one writer at a time keeps `pending` in the stream's order
            call = link.keep_alive_call()
            link.pending.append(fut)
            try:
                await call.write(rpc_pb2.LeaseKeepAliveRequest(ID=lease_id))
            except (grpc.aio.AioRpcError, grpc.aio.UsageError, asyncio.InvalidStateError):
                link.pending.remove(fut)
                raise errors.NOT_LEADER from None
        try:
            ttl = await timeouts.wait_for(fut, self._timeout)
        except TimeoutError:
            raise errors.TIMEOUT from None
        if ttl <= 0:
            raise errors.LEASE_NOT_FOUND
        return ttl

    async def time_to_live(self, req: rpc_pb2.LeaseTimeToLiveRequest) -> rpc_pb2.LeaseTimeToLiveResponse:
        link = await self._current()
        try:
            resp: rpc_pb2.LeaseTimeToLiveResponse = await link.time_to_live(req, timeout=self._timeout)
        except grpc.aio.AioRpcError as e:
            raise errors.BY_MESSAGE.get(e.details() or "", errors.NOT_LEADER) from None
        if resp.TTL == -1:
            raise errors.LEASE_NOT_FOUND
        return resp

    async def close(self) -> None:
        if self._link is not None:
            await self._link.close()
            self._link = None
