"""The blocking etcd v3 client."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message

from etcdpy.api import errors
from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.client import _endpoints, _rpc, _status
from etcdpy.client._bidi import SyncBidi
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
from etcdpy.client.auth import TOKEN_REFRESH_ERRORS, AuthAPI
from etcdpy.client.lease import KeepAlive, check_once
from etcdpy.client.tls import ChannelSecurity, TLSConfig
from etcdpy.client.txn import txn_request
from etcdpy.client.watch import Watch

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
            self.channel = grpc.insecure_channel(self.target, options=options)
        else:
            self.channel = grpc.secure_channel(self.target, credentials, options=options)
        self._callables: dict[str, Any] = {}

    def unary(self, rpc: _rpc.Rpc[Resp]) -> grpc.UnaryUnaryMultiCallable[Message, Resp]:
        callable_ = self._callables.get(rpc.path)
        if callable_ is None:
            callable_ = self.channel.unary_unary(
                rpc.path,
                request_serializer=_serialize,
                response_deserializer=rpc.response.FromString,
            )
            self._callables[rpc.path] = callable_
        return callable_

    def stream(self, rpc: _rpc.Rpc[Resp]) -> grpc.UnaryStreamMultiCallable[Message, Resp]:
        return self.channel.unary_stream(
            rpc.path,
            request_serializer=_serialize,
            response_deserializer=rpc.response.FromString,
        )


def _serialize(message: Message) -> bytes:
    return message.SerializeToString()


class Client(AuthAPI):
    """A blocking etcd v3 client.

    `endpoints` is a comma-separated string or a list of `host:port` / `http://host:port` /
    `https://host:port`. A call goes to the endpoint that last answered and moves on to the
    next one when an endpoint cannot be reached (writes only when the request surely was not
    sent). `timeout` is the default deadline of every call (None: no deadline), `dial_timeout`
    how long one attempt waits for a connection. Errors are raised as `EtcdError`.

    `tls` (`etcdpy.client.tls.TLSConfig`) secures bare `host:port` endpoints too; a bad
    certificate or key file raises `ValueError`. With `user` and `password` (both non-empty,
    as clientv3 requires) the client authenticates first, see `authenticate`; a server without
    authentication enabled is then used without a token.
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
        self._lock = threading.Lock()
        self._login: tuple[str, str] | None = None
        self._token: str | None = None
        if user and password:
            try:
                self.authenticate(user, password)
            except errors.EtcdError as err:
                if err != errors.AUTH_NOT_ENABLED:
                    self.close()
                    raise

    def close(self) -> None:
        for conn in self._conns:
            conn.channel.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- plumbing -------------------------------------------------------------------------

    def _metadata(self) -> tuple[tuple[str, str | bytes], ...] | None:
        return None if self._token is None else (("token", self._token),)

    def authenticate(self, user: str, password: str) -> None:
        """Log in as `user`: every later call, streams included, carries the token, and a call
        the server refuses for its token (expired, outdated by an auth change, missing) gets a
        new one and is tried once more. Raises what the server says: AUTH_FAILED, or
        AUTH_NOT_ENABLED (calls then go without a token until one is needed)."""
        self._login = (user, password)
        self._refresh_token()

    def _refresh_token(self) -> None:
        assert self._login is not None
        name, password = self._login
        self._token = None
        request = pb.AuthenticateRequest(name=name, password=password)
        self._token = self._attempt_all(_rpc.AUTHENTICATE, request, self.dial_timeout, None).token

    def _relogin(self) -> bool:
        """A new token if the client has credentials; False if it has none."""
        if self._login is None:
            return False
        self._refresh_token()
        return True

    def _with_token(self, attempt: Callable[[], T]) -> T:
        """`attempt()`, once more with a new token if the server refused the current one."""
        try:
            return attempt()
        except errors.EtcdError as err:
            if self._login is None or err not in TOKEN_REFRESH_ERRORS:
                raise
        try:
            self._refresh_token()
        except errors.EtcdError as err:
            # Authentication was turned off meanwhile: go on without a token.
            if err != errors.AUTH_NOT_ENABLED:
                raise
        return attempt()

    def _order(self, endpoint: str | None) -> list[int]:
        if endpoint is not None:
            return [self._pinned(endpoint)]
        n = len(self._conns)
        return [(self._current + i) % n for i in range(n)]

    def _pinned(self, endpoint: str) -> int:
        with self._lock:
            for i, conn in enumerate(self._conns):
                if conn.endpoint == endpoint:
                    return i
            self._conns.append(_Connection(endpoint, self._security, self.dial_timeout))
            return len(self._conns) - 1

    def _call(
        self, rpc: _rpc.Rpc[Resp], request: Message, timeout: float | None, endpoint: str | None
    ) -> Resp:
        return self._with_token(lambda: self._attempt_all(rpc, request, timeout, endpoint))

    def _attempt_all(
        self, rpc: _rpc.Rpc[Resp], request: Message, timeout: float | None, endpoint: str | None
    ) -> Resp:
        attempts = Attempts(self._order(endpoint), timeout)
        while (step := attempts.next()) is not None:
            index, pause = step
            if pause:
                time.sleep(pause)
            call = self._conns[index].unary(rpc)
            try:
                response: Resp = call(request, timeout=attempts.remaining(), metadata=self._metadata())
            except grpc.RpcError as rpc_err:
                err = _status.from_rpc_error(rpc_err)
                if not attempts.failed(err, rpc.read_only):
                    raise err from None
                continue
            if endpoint is None:
                self._current = index
            return response
        raise attempts.give_up()

    def _open_stream(
        self, rpc: _rpc.Rpc[Resp], request: Message, timeout: float | None
    ) -> tuple[SyncBidi[Resp], Resp]:
        """A bidirectional stream on the first endpoint that answers `request`, and its answer."""
        return self._with_token(lambda: self._open_stream_once(rpc, request, timeout))

    def _open_stream_once(
        self, rpc: _rpc.Rpc[Resp], request: Message, timeout: float | None
    ) -> tuple[SyncBidi[Resp], Resp]:
        attempts = Attempts(self._order(None), timeout)
        while (step := attempts.next()) is not None:
            index, pause = step
            if pause:
                time.sleep(pause)
            stream: SyncBidi[Resp] = SyncBidi(self._conns[index].channel, rpc, self._metadata())
            stream.send(request)
            try:
                first = stream.recv()
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

    def get(
        self, key: Bytes, range_end: Bytes = b"", *, timeout: float | None = None, **options: Any
    ) -> pb.RangeResponse:
        """Range over `key` (or [key, range_end)); options: prefix, from_key, limit, revision,
        sort_order, sort_target, serializable, keys_only, count_only, min/max_mod_revision,
        min/max_create_revision."""
        request = range_request(key, range_end, **options)
        return self._call(_rpc.RANGE, request, self._timeout(timeout), None)

    def put(
        self, key: Bytes, value: Bytes = b"", *, timeout: float | None = None, **options: Any
    ) -> pb.PutResponse:
        """Put `key`; options: lease, prev_kv, ignore_value, ignore_lease."""
        return self._call(_rpc.PUT, put_request(key, value, **options), self._timeout(timeout), None)

    def delete(
        self, key: Bytes, range_end: Bytes = b"", *, timeout: float | None = None, **options: Any
    ) -> pb.DeleteRangeResponse:
        """Delete `key` (or a range); options: prefix, from_key, prev_kv."""
        request = delete_request(key, range_end, **options)
        return self._call(_rpc.DELETE_RANGE, request, self._timeout(timeout), None)

    def txn(
        self,
        compare: Iterable[pb.Compare] = (),
        success: Iterable[pb.RequestOp] = (),
        failure: Iterable[pb.RequestOp] = (),
        *,
        timeout: float | None = None,
    ) -> pb.TxnResponse:
        """Run a transaction built with `etcdpy.client.txn`."""
        request = txn_request(compare, success, failure)
        return self._call(_rpc.TXN, request, self._timeout(timeout), None)

    def compact(
        self, revision: int, *, physical: bool = False, timeout: float | None = None
    ) -> pb.CompactionResponse:
        request = pb.CompactionRequest(revision=revision, physical=physical)
        return self._call(_rpc.COMPACT, request, self._timeout(timeout), None)

    def watch(
        self, key: Bytes, range_end: Bytes = b"", *, timeout: float | None = None, **options: Any
    ) -> Watch:
        """Watch `key` (or [key, range_end)); options: prefix, from_key, start_revision, prev_kv,
        progress_notify, no_put, no_delete. Returns once the server has set the watch up
        (`timeout` bounds that); see `etcdpy.client.watch`."""
        return Watch(self, watch_create_request(key, range_end, **options), self._timeout(timeout))

    # -- Lease --------------------------------------------------------------------------------

    def grant(self, ttl: int, lease_id: int = 0, *, timeout: float | None = None) -> pb.LeaseGrantResponse:
        """A lease of `ttl` seconds; `lease_id` 0 lets the server choose the ID."""
        request = pb.LeaseGrantRequest(TTL=ttl, ID=lease_id)
        return self._call(_rpc.LEASE_GRANT, request, self._timeout(timeout), None)

    def revoke(self, lease_id: int, *, timeout: float | None = None) -> pb.LeaseRevokeResponse:
        """End a lease now, deleting the keys attached to it."""
        request = pb.LeaseRevokeRequest(ID=lease_id)
        return self._call(_rpc.LEASE_REVOKE, request, self._timeout(timeout), None)

    def time_to_live(
        self, lease_id: int, *, keys: bool = False, timeout: float | None = None
    ) -> pb.LeaseTimeToLiveResponse:
        """A lease's granted and remaining TTL (-1 once gone), with its keys if `keys`."""
        request = pb.LeaseTimeToLiveRequest(ID=lease_id, keys=keys)
        return self._call(_rpc.LEASE_TIME_TO_LIVE, request, self._timeout(timeout), None)

    def leases(self, *, timeout: float | None = None) -> pb.LeaseLeasesResponse:
        return self._call(_rpc.LEASE_LEASES, pb.LeaseLeasesRequest(), self._timeout(timeout), None)

    def keep_alive(self, lease_id: int, *, timeout: float | None = None) -> KeepAlive:
        """Renew a lease for as long as the result is iterated; see `etcdpy.client.lease`.
        `timeout` bounds the first renewal."""
        return KeepAlive(self, lease_id, self._timeout(timeout))

    def keep_alive_once(self, lease_id: int, *, timeout: float | None = None) -> pb.LeaseKeepAliveResponse:
        """Renew a lease once; raises LEASE_NOT_FOUND for one that no longer exists."""
        request = pb.LeaseKeepAliveRequest(ID=lease_id)
        stream, resp = self._open_stream(_rpc.LEASE_KEEP_ALIVE, request, self._timeout(timeout))
        stream.close()
        return check_once(resp)

    # -- Maintenance (per endpoint: None means whichever endpoint answers) ----------------

    def status(self, endpoint: str | None = None, *, timeout: float | None = None) -> pb.StatusResponse:
        return self._call(_rpc.STATUS, pb.StatusRequest(), self._timeout(timeout), endpoint)

    def move_leader(
        self, target_id: int, endpoint: str | None = None, *, timeout: float | None = None
    ) -> pb.MoveLeaderResponse:
        """Hand leadership to member `target_id`; `endpoint` must be the leader's."""
        request = pb.MoveLeaderRequest(targetID=target_id)
        return self._call(_rpc.MOVE_LEADER, request, self._timeout(timeout), endpoint)

    def hash_kv(
        self, revision: int = 0, endpoint: str | None = None, *, timeout: float | None = None
    ) -> pb.HashKVResponse:
        request = pb.HashKVRequest(revision=revision)
        return self._call(_rpc.HASH_KV, request, self._timeout(timeout), endpoint)

    def defragment(
        self, endpoint: str | None = None, *, timeout: float | None = None
    ) -> pb.DefragmentResponse:
        return self._call(_rpc.DEFRAGMENT, pb.DefragmentRequest(), self._timeout(timeout), endpoint)

    def alarm(
        self,
        action: pb.AlarmRequest.AlarmAction,
        member_id: int = 0,
        alarm: pb.AlarmType = pb.NONE,
        *,
        timeout: float | None = None,
    ) -> pb.AlarmResponse:
        request = pb.AlarmRequest(action=action, memberID=member_id, alarm=alarm)
        return self._call(_rpc.ALARM, request, self._timeout(timeout), None)

    def alarm_list(self, *, timeout: float | None = None) -> pb.AlarmResponse:
        return self.alarm(pb.AlarmRequest.GET, timeout=timeout)

    def alarm_disarm(
        self, member_id: int = 0, alarm: pb.AlarmType = pb.NONE, *, timeout: float | None = None
    ) -> pb.AlarmResponse:
        """Disarm one alarm; with neither member nor alarm given, every active alarm (the
        response then lists what was disarmed and carries no header)."""
        if member_id or alarm != pb.NONE:
            return self.alarm(pb.AlarmRequest.DEACTIVATE, member_id, alarm, timeout=timeout)
        disarmed = pb.AlarmResponse()
        for active in (self.alarm_list(timeout=timeout)).alarms:
            resp = self.alarm(pb.AlarmRequest.DEACTIVATE, active.memberID, active.alarm, timeout=timeout)
            disarmed.alarms.extend(resp.alarms)
        return disarmed

    def snapshot(
        self, endpoint: str | None = None, *, timeout: float | None = None
    ) -> Iterator[pb.SnapshotResponse]:
        """Stream the member's backend: chunks whose blobs, concatenated, are the db file
        followed by its 32-byte sha256. Unreachable endpoints are skipped until the first chunk."""
        attempts = Attempts(self._order(endpoint), self._timeout(timeout))
        while (step := attempts.next()) is not None:
            index, pause = step
            if pause:
                time.sleep(pause)
            stream = self._conns[index].stream(_rpc.SNAPSHOT)(
                pb.SnapshotRequest(), timeout=attempts.remaining(), metadata=self._metadata()
            )
            started = False
            try:
                for chunk in stream:
                    started = True
                    yield chunk
                return
            except grpc.RpcError as rpc_err:
                err = _status.from_rpc_error(rpc_err)
                if started or not attempts.failed(err, _rpc.SNAPSHOT.read_only):
                    raise err from None
            finally:
                stream.cancel()  # type: ignore[no-untyped-call]
        raise attempts.give_up()

    # -- Cluster ----------------------------------------------------------------------------

    def member_list(
        self, *, linearizable: bool = False, timeout: float | None = None
    ) -> pb.MemberListResponse:
        request = pb.MemberListRequest(linearizable=linearizable)
        return self._call(_rpc.MEMBER_LIST, request, self._timeout(timeout), None)

    def member_add(
        self, peer_urls: Sequence[str], *, learner: bool = False, timeout: float | None = None
    ) -> pb.MemberAddResponse:
        """Add a member (a non-voting learner with `learner`) that will serve at `peer_urls`;
        raises `URLError` without calling the server if one of them is malformed."""
        request = member_add_request(peer_urls, learner)
        return self._call(_rpc.MEMBER_ADD, request, self._timeout(timeout), None)

    def member_remove(self, member_id: int, *, timeout: float | None = None) -> pb.MemberRemoveResponse:
        request = pb.MemberRemoveRequest(ID=member_id)
        return self._call(_rpc.MEMBER_REMOVE, request, self._timeout(timeout), None)

    def member_update(
        self, member_id: int, peer_urls: Sequence[str], *, timeout: float | None = None
    ) -> pb.MemberUpdateResponse:
        """Change a member's peer URLs; raises `URLError` as `member_add` does."""
        request = member_update_request(member_id, peer_urls)
        return self._call(_rpc.MEMBER_UPDATE, request, self._timeout(timeout), None)

    def member_promote(self, member_id: int, *, timeout: float | None = None) -> pb.MemberPromoteResponse:
        """Make a learner a voting member (the server refuses while it lags the leader)."""
        request = pb.MemberPromoteRequest(ID=member_id)
        return self._call(_rpc.MEMBER_PROMOTE, request, self._timeout(timeout), None)
