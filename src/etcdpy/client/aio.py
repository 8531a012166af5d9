"""The asyncio etcd v3 client: the same calls as `Client`, awaitable."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Sequence
from typing import Any, TypeVar

import grpc
import grpc.aio
from google.protobuf.message import Message

from etcdpy.api import errors
from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.client import _endpoints, _rpc, _status
from etcdpy.client._bidi import AsyncBidi
from etcdpy.client._channel import channel_options
from etcdpy.client._failover import Attempts
from etcdpy.client._requests import (
    Bytes,
    delete_request,
    member_add_request,
    member_update_request,
    put_request,
    range_request,
    watch_create_request,
)
from etcdpy.client.auth import TOKEN_REFRESH_ERRORS, AsyncAuthAPI
from etcdpy.client.lease import AsyncKeepAlive, check_once
from etcdpy.client.tls import ChannelSecurity, TLSConfig
from etcdpy.client.txn import txn_request
from etcdpy.client.watch import AsyncWatch

Resp = TypeVar("Resp", bound=Message)
T = TypeVar("T")


class _Connection:
    """One endpoint's channel and its cached call objects."""

    def __init__(self, endpoint: str, security: ChannelSecurity, dial_timeout: float) -> None:
        self.endpoint = endpoint
        self.target = _endpoints.grpc_target(endpoint)
        credentials, tls_options = security.for_endpoint(endpoint, dial_timeout)
        options = [*channel_options(dial_timeout), *tls_options]
        if credentials is None:
            self.channel = grpc.aio.insecure_channel(self.target, options=options)
        else:
            self.channel = grpc.aio.secure_channel(self.target, credentials, options=options)
        self._callables: dict[str, Any] = {}

    def unary(self, rpc: _rpc.Rpc[Resp]) -> grpc.aio.UnaryUnaryMultiCallable[Message, Resp]:
        callable_ = self._callables.get(rpc.path)
        if callable_ is None:
            callable_ = self.channel.unary_unary(
                rpc.path, request_serializer=_serialize, response_deserializer=rpc.response.FromString
            )
            self._callables[rpc.path] = callable_
        return callable_

    def stream(self, rpc: _rpc.Rpc[Resp]) -> grpc.aio.UnaryStreamMultiCallable[Message, Resp]:
        return self.channel.unary_stream(
            rpc.path, request_serializer=_serialize, response_deserializer=rpc.response.FromString
        )


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()


class AsyncClient(AsyncAuthAPI):
    """An asyncio etcd v3 client; see `etcdpy.client.Client` for the semantics.

    Create it inside a running event loop; with `user` and `password` it authenticates
    before its first call (or at `await client.connect()`, or entering `async with`).
    With `tls.insecure_skip_verify`, servers' certificates are fetched, blocking, when the
    client is made.
    """

    def __init__(
        self,
        endpoints: str | Iterable[str] = "127.0.0.1:2379",
        *,
        timeout: float | None = None,
        dial_timeout: float = 2.0,
        user: str | None = None,
        password: str = "",
        tls: TLSConfig | None = None,
    ) -> None:
        self.endpoints: Sequence[str] = _endpoints.normalize(endpoints)
        self.timeout = timeout
        self.dial_timeout = dial_timeout
        self._security = ChannelSecurity(tls)
        self._conns = [_Connection(ep, self._security, dial_timeout) for ep in self.endpoints]
        self._current = 0
        self._login: tuple[str, str] | None = (user, password) if user and password else None
        # Until the first login was tried, calls wait for it.
        self._pending_login = self._login is not None
        self._token: str | None = None

    async def connect(self) -> None:
        """Authenticate if credentials were given and this was not tried yet; raises the server's
        refusal except AUTH_NOT_ENABLED."""
        if not self._pending_login:
            return
        self._pending_login = False
        try:
            await self._refresh_token()
        except errors.EtcdError as err:
            if err != errors.AUTH_NOT_ENABLED:
                self._pending_login = True
                raise

    async def close(self) -> None:
        for conn in self._conns:
            await conn.channel.close(None)

    async def __aenter__(self) -> AsyncClient:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- plumbing -------------------------------------------------------------------------

    def _metadata(self) -> tuple[tuple[str, str | bytes], ...] | None:
        return None if self._token is None else (("token", self._token),)

    async def authenticate(self, user: str, password: str) -> None:
        """See `Client.authenticate`."""
        self._login = (user, password)
        self._pending_login = False
        await self._refresh_token()

    async def _refresh_token(self) -> None:
        assert self._login is not None
        name, password = self._login
        self._token = None
        request = pb.AuthenticateRequest(name=name, password=password)
        self._token = (await self._attempt_all(_rpc.AUTHENTICATE, request, self.dial_timeout, None)).token

    async def _relogin(self) -> bool:
        """A new token if the client has credentials; False if it has none."""
        if self._login is None:
            return False
        await self._refresh_token()
        return True

    async def _with_token(self, attempt: Callable[[], Awaitable[T]]) -> T:
        """`await attempt()`, once more with a new token if the server refused the current one."""
        await self.connect()
        try:
            return await attempt()
        except errors.EtcdError as err:
            if self._login is None or err not in TOKEN_REFRESH_ERRORS:
                raise
        try:
            await self._refresh_token()
        except errors.EtcdError as err:
            # Authentication was turned off meanwhile: go on without a token.
            if err != errors.AUTH_NOT_ENABLED:
                raise
        return await attempt()

    def _order(self, endpoint: str | None) -> list[int]:
        if endpoint is not None:
            return [self._pinned(endpoint)]
        n = len(self._conns)
        return [(self._current + i) % n for i in range(n)]

    def _pinned(self, endpoint: str) -> int:
        for i, conn in enumerate(self._conns):
            if conn.endpoint == endpoint:
                return i
        self._conns.append(_Connection(endpoint, self._security, self.dial_timeout))
        return len(self._conns) - 1

    async def _call(
        self, rpc: _rpc.Rpc[Resp], request: Message, timeout: float | None, endpoint: str | None
    ) -> Resp:
        return await self._with_token(lambda: self._attempt_all(rpc, request, timeout, endpoint))

    async def _attempt_all(
        self, rpc: _rpc.Rpc[Resp], request: Message, timeout: float | None, endpoint: str | None
    ) -> Resp:
        attempts = Attempts(self._order(endpoint), timeout)
        while (step := attempts.next()) is not None:
            index, pause = step
            if pause:
                await asyncio.sleep(pause)
            call = self._conns[index].unary(rpc)
            try:
                response: Resp = await call(request, timeout=attempts.remaining(), metadata=self._metadata())
            except grpc.RpcError as rpc_err:
                err = _status.from_rpc_error(rpc_err)
                if not attempts.failed(err, rpc.read_only):
                    raise err from None
                continue
            if endpoint is None:
                self._current = index
            return response
        raise attempts.give_up()

    async def _open_stream(
        self, rpc: _rpc.Rpc[Resp], request: Message, timeout: float | None
    ) -> tuple[AsyncBidi[Resp], Resp]:
        """A bidirectional stream on the first endpoint that answers `request`, and its answer."""
        return await self._with_token(lambda: self._open_stream_once(rpc, request, timeout))

    async def _open_stream_once(
        self, rpc: _rpc.Rpc[Resp], request: Message, timeout: float | None
    ) -> tuple[AsyncBidi[Resp], Resp]:
        attempts = Attempts(self._order(None), timeout)
        while (step := attempts.next()) is not None:
            index, pause = step
            if pause:
                await asyncio.sleep(pause)
            stream: AsyncBidi[Resp] = AsyncBidi(self._conns[index].channel, rpc, self._metadata())
            try:
                await stream.send(request)
                first = await stream.recv()
            except errors.EtcdError as err:
                stream.close()
                if not attempts.failed(err, True):
                    raise
                continue
            if first is None:
                stream.close()
                attempts.failed(_status.TransportError("stream closed", grpc.StatusCode.UNAVAILABLE), True)
                continue
            self._current = index
            return stream, first
        raise attempts.give_up()

    def _timeout(self, timeout: float | None) -> float | None:
        return self.timeout if timeout is None else timeout

    # -- KV -------------------------------------------------------------------------------

    async def get(
        self, key: Bytes, range_end: Bytes = b"", *, timeout: float | None = None, **options: Any
    ) -> pb.RangeResponse:
        request = range_request(key, range_end, **options)
        return await self._call(_rpc.RANGE, request, self._timeout(timeout), None)

    async def put(
        self, key: Bytes, value: Bytes = b"", *, timeout: float | None = None, **options: Any
    ) -> pb.PutResponse:
        return await self._call(_rpc.PUT, put_request(key, value, **options), self._timeout(timeout), None)

    async def delete(
        self, key: Bytes, range_end: Bytes = b"", *, timeout: float | None = None, **options: Any
    ) -> pb.DeleteRangeResponse:
        request = delete_request(key, range_end, **options)
        return await self._call(_rpc.DELETE_RANGE, request, self._timeout(timeout), None)

    async def txn(
        self,
        compare: Iterable[pb.Compare] = (),
        success: Iterable[pb.RequestOp] = (),
        failure: Iterable[pb.RequestOp] = (),
        *,
        timeout: float | None = None,
    ) -> pb.TxnResponse:
        request = txn_request(compare, success, failure)
        return await self._call(_rpc.TXN, request, self._timeout(timeout), None)

    async def compact(
        self, revision: int, *, physical: bool = False, timeout: float | None = None
    ) -> pb.CompactionResponse:
        request = pb.CompactionRequest(revision=revision, physical=physical)
        return await self._call(_rpc.COMPACT, request, self._timeout(timeout), None)

    async def watch(
        self, key: Bytes, range_end: Bytes = b"", *, timeout: float | None = None, **options: Any
    ) -> AsyncWatch:
        """See `Client.watch`; `async for` the result."""
        watch = AsyncWatch(self, watch_create_request(key, range_end, **options))
        await watch.start(self._timeout(timeout))
        return watch

    # -- Lease --------------------------------------------------------------------------------

    async def grant(
        self, ttl: int, lease_id: int = 0, *, timeout: float | None = None
    ) -> pb.LeaseGrantResponse:
        request = pb.LeaseGrantRequest(TTL=ttl, ID=lease_id)
        return await self._call(_rpc.LEASE_GRANT, request, self._timeout(timeout), None)

    async def revoke(self, lease_id: int, *, timeout: float | None = None) -> pb.LeaseRevokeResponse:
        request = pb.LeaseRevokeRequest(ID=lease_id)
        return await self._call(_rpc.LEASE_REVOKE, request, self._timeout(timeout), None)

    async def time_to_live(
        self, lease_id: int, *, keys: bool = False, timeout: float | None = None
    ) -> pb.LeaseTimeToLiveResponse:
        request = pb.LeaseTimeToLiveRequest(ID=lease_id, keys=keys)
        return await self._call(_rpc.LEASE_TIME_TO_LIVE, request, self._timeout(timeout), None)

    async def leases(self, *, timeout: float | None = None) -> pb.LeaseLeasesResponse:
        return await self._call(_rpc.LEASE_LEASES, pb.LeaseLeasesRequest(), self._timeout(timeout), None)

    async def keep_alive(self, lease_id: int, *, timeout: float | None = None) -> AsyncKeepAlive:
        """See `Client.keep_alive`; `async for` the result."""
        keep_alive = AsyncKeepAlive(self, lease_id)
        await keep_alive.start(self._timeout(timeout))
        return keep_alive

    async def keep_alive_once(
        self, lease_id: int, *, timeout: float | None = None
    ) -> pb.LeaseKeepAliveResponse:
        request = pb.LeaseKeepAliveRequest(ID=lease_id)
        stream, resp = await self._open_stream(_rpc.LEASE_KEEP_ALIVE, request, self._timeout(timeout))
        stream.close()
        return check_once(resp)

    # -- Maintenance ----------------------------------------------------------------------

    async def status(self, endpoint: str | None = None, *, timeout: float | None = None) -> pb.StatusResponse:
        return await self._call(_rpc.STATUS, pb.StatusRequest(), self._timeout(timeout), endpoint)

    async def move_leader(
        self, target_id: int, endpoint: str | None = None, *, timeout: float | None = None
    ) -> pb.MoveLeaderResponse:
        """Hand leadership to member `target_id`; `endpoint` must be the leader's."""
        request = pb.MoveLeaderRequest(targetID=target_id)
        return await self._call(_rpc.MOVE_LEADER, request, self._timeout(timeout), endpoint)

    async def hash_kv(
        self, revision: int = 0, endpoint: str | None = None, *, timeout: float | None = None
    ) -> pb.HashKVResponse:
        request = pb.HashKVRequest(revision=revision)
        return await self._call(_rpc.HASH_KV, request, self._timeout(timeout), endpoint)

    async def defragment(
        self, endpoint: str | None = None, *, timeout: float | None = None
    ) -> pb.DefragmentResponse:
        return await self._call(_rpc.DEFRAGMENT, pb.DefragmentRequest(), self._timeout(timeout), endpoint)

    async def alarm(
        self,
        action: pb.AlarmRequest.AlarmAction,
        member_id: int = 0,
        alarm: pb.AlarmType = pb.NONE,
        *,
        timeout: float | None = None,
    ) -> pb.AlarmResponse:
        request = pb.AlarmRequest(action=action, memberID=member_id, alarm=alarm)
        return await self._call(_rpc.ALARM, request, self._timeout(timeout), None)

    async def alarm_list(self, *, timeout: float | None = None) -> pb.AlarmResponse:
        return await self.alarm(pb.AlarmRequest.GET, timeout=timeout)

    async def alarm_disarm(
        self, member_id: int = 0, alarm: pb.AlarmType = pb.NONE, *, timeout: float | None = None
    ) -> pb.AlarmResponse:
        """Disarm one alarm; with neither member nor alarm given, every active alarm (the
        response then lists what was disarmed and carries no header)."""
        if member_id or alarm != pb.NONE:
            return await self.alarm(pb.AlarmRequest.DEACTIVATE, member_id, alarm, timeout=timeout)
        disarmed = pb.AlarmResponse()
        for active in (await self.alarm_list(timeout=timeout)).alarms:
            resp = await self.alarm(
                pb.AlarmRequest.DEACTIVATE, active.memberID, active.alarm, timeout=timeout
            )
            disarmed.alarms.extend(resp.alarms)
        return disarmed

    async def snapshot(
        self, endpoint: str | None = None, *, timeout: float | None = None
    ) -> AsyncIterator[pb.SnapshotResponse]:
        await self.connect()
        attempts = Attempts(self._order(endpoint), self._timeout(timeout))
        while (step := attempts.next()) is not None:
            index, pause = step
            if pause:
                await asyncio.sleep(pause)
            call = self._conns[index].stream(_rpc.SNAPSHOT)(
                pb.SnapshotRequest(), timeout=attempts.remaining(), metadata=self._metadata()
            )
            started = False
            try:
                async for chunk in call:
                    started = True
                    yield chunk
                return
            except grpc.RpcError as rpc_err:
                err = _status.from_rpc_error(rpc_err)
                if started or not attempts.failed(err, _rpc.SNAPSHOT.read_only):
                    raise err from None
            finally:
                call.cancel()
        raise attempts.give_up()

    # -- Cluster ----------------------------------------------------------------------------

    async def member_list(
        self, *, linearizable: bool = False, timeout: float | None = None
    ) -> pb.MemberListResponse:
        request = pb.MemberListRequest(linearizable=linearizable)
        return await self._call(_rpc.MEMBER_LIST, request, self._timeout(timeout), None)

    async def member_add(
        self, peer_urls: Sequence[str], *, learner: bool = False, timeout: float | None = None
    ) -> pb.MemberAddResponse:
        """Add a member (a non-voting learner with `learner`) that will serve at `peer_urls`;
        raises `URLError` without calling the server if one of them is malformed."""
        request = member_add_request(peer_urls, learner)
        return await self._call(_rpc.MEMBER_ADD, request, self._timeout(timeout), None)

    async def member_remove(self, member_id: int, *, timeout: float | None = None) -> pb.MemberRemoveResponse:
        request = pb.MemberRemoveRequest(ID=member_id)
        return await self._call(_rpc.MEMBER_REMOVE, request, self._timeout(timeout), None)

    async def member_update(
        self, member_id: int, peer_urls: Sequence[str], *, timeout: float | None = None
    ) -> pb.MemberUpdateResponse:
        """Change a member's peer URLs; raises `URLError` as `member_add` does."""
        request = member_update_request(member_id, peer_urls)
        return await self._call(_rpc.MEMBER_UPDATE, request, self._timeout(timeout), None)

    async def member_promote(
        self, member_id: int, *, timeout: float | None = None
    ) -> pb.MemberPromoteResponse:
        """Make a learner a voting member (the server refuses while it lags the leader)."""
        request = pb.MemberPromoteRequest(ID=member_id)
        return await self._call(_rpc.MEMBER_PROMOTE, request, self._timeout(timeout), None)
