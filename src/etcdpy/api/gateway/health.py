"""`GET /health` and `GET /version` as etcd 3.5.1 answers them.

The health checks run as gRPC calls to the server, in etcd's order: active
alarms (an alarm named in `?exclude=` is ignored), a known leader (skipped
with `?serializable=true`), then a one-key keys-only Range, linearizable
unless `?serializable=true`. A Range refused for lack of credentials still
counts as healthy, as in etcd. A probe call that fails outright reports
"<CHECK> ERROR:<message>" (etcd's own text for the Range check).
"""

from __future__ import annotations

import time
from typing import Final
from urllib.parse import parse_qs

import grpc

from etcdpy import version
from etcdpy.api import errors
from etcdpy.api.gateway import gojson
from etcdpy.api.gateway.httptypes import (
    APPLICATION_JSON,
    NOSNIFF,
    TEXT_PLAIN,
    HttpRequest,
    HttpResponse,
    text_error,
)
from etcdpy.api.pb.etcdserverpb import rpc_pb2

# etcd's request timeout with default settings: 5s plus two election timeouts.
REQUEST_TIMEOUT: Final = 7.0
_ALLOW_GET: Final = (("Allow", "GET"),)
_AUTH_REFUSALS: Final = frozenset({errors.USER_EMPTY.message, errors.PERMISSION_DENIED.message})
_ALARM_NAMES: Final = {v.number: v.name for v in rpc_pb2.AlarmType.DESCRIPTOR.values}
_ALARM_REASONS: Final = {rpc_pb2.NOSPACE: "ALARM NOSPACE", rpc_pb2.CORRUPT: "ALARM CORRUPT"}
_VERSION_BODY: Final = (
    f'{{"etcdserver":"{version.SERVER_VERSION}","etcdcluster":"{version.CLUSTER_VERSION}"}}'.encode()
)


def serve_version(request: HttpRequest) -> HttpResponse:
    if request.method != "GET":
        return text_error(405, _ALLOW_GET)
    return HttpResponse(200, _VERSION_BODY, (APPLICATION_JSON,))


class HealthCheck:
    """Answers /health by probing the server over `channel`."""

    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._alarm = channel.unary_unary(
            "/etcdserverpb.Maintenance/Alarm",
            rpc_pb2.AlarmRequest.SerializeToString,
            rpc_pb2.AlarmResponse.FromString,
        )
        self._status = channel.unary_unary(
            "/etcdserverpb.Maintenance/Status",
            rpc_pb2.StatusRequest.SerializeToString,
            rpc_pb2.StatusResponse.FromString,
        )
        self._range = channel.unary_unary(
            "/etcdserverpb.KV/Range",
            rpc_pb2.RangeRequest.SerializeToString,
            rpc_pb2.RangeResponse.FromString,
        )

    async def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.method != "GET":
            return text_error(405, _ALLOW_GET)
        query = parse_qs(request.query, keep_blank_values=True)
        excluded = set(query.get("exclude", ()))
        serializable = query.get("serializable", [""])[0] == "true"
        reason = await self._problem(excluded, serializable)
        body = f'{{"health":"{"false" if reason else "true"}","reason":{gojson.encode_string(reason)}}}'
        if reason:
            return HttpResponse(503, body.encode() + b"\n", (TEXT_PLAIN, NOSNIFF))
        return HttpResponse(200, body.encode(), (TEXT_PLAIN,))

    async def _problem(self, excluded: set[str], serializable: bool) -> str:
        """Why the member is unhealthy; "" if it is healthy."""
        deadline = time.monotonic() + REQUEST_TIMEOUT
        try:
            alarms = await self._alarm(
                rpc_pb2.AlarmRequest(action=rpc_pb2.AlarmRequest.GET), timeout=REQUEST_TIMEOUT
            )
        except grpc.aio.AioRpcError as e:
            return f"ALARM ERROR:{_message(e)}"
        for member_alarm in alarms.alarms:
            name = _ALARM_NAMES.get(member_alarm.alarm, str(member_alarm.alarm))
            if name not in excluded:
                return _ALARM_REASONS.get(member_alarm.alarm, "ALARM UNKNOWN")
        if not serializable:
            try:
                status = await self._status(rpc_pb2.StatusRequest(), timeout=_left(deadline))
            except grpc.aio.AioRpcError as e:
                return f"STATUS ERROR:{_message(e)}"
            if status.leader == 0:
                return "RAFT NO LEADER"
        probe = rpc_pb2.RangeRequest(key=b"\0", keys_only=True, limit=1, serializable=serializable)
        try:
            await self._range(probe, timeout=_left(deadline))
        except grpc.aio.AioRpcError as e:
            if e.details() not in _AUTH_REFUSALS:
                return f"RANGE ERROR:{_message(e)}"
        return ""


def _left(deadline: float) -> float:
    return max(deadline - time.monotonic(), 0.001)


def _message(e: grpc.aio.AioRpcError) -> str:
    if e.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
        return "context deadline exceeded"
    return e.details() or e.code().name
