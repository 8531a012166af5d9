"""/health through gRPC probes, against a scripted upstream (the reference etcd's
answers are checked in test_differential)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import tempfile
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from etcdpy.api import errors
from etcdpy.api.pb.etcdserverpb import rpc_pb2, rpc_pb2_grpc
from tests.gateway._harness import LoopThread, http_request, running_listener


@dataclasses.dataclass
class Script:
    alarms: list[int] = dataclasses.field(default_factory=list)
    leader: int = 1
    range_error: errors.EtcdError | None = None
    alarm_error: errors.EtcdError | None = None
    ranges: list[rpc_pb2.RangeRequest] = dataclasses.field(default_factory=list)


class _Maintenance(rpc_pb2_grpc.MaintenanceServicer):
    def __init__(self, script: Script) -> None:
        self.script = script

    async def Alarm(self, request: Any, context: Any) -> Any:
        if self.script.alarm_error is not None:
            await context.abort(self.script.alarm_error.code, self.script.alarm_error.message)
        alarms = [rpc_pb2.AlarmMember(memberID=1, alarm=a) for a in self.script.alarms]  # type: ignore[arg-type]
        return rpc_pb2.AlarmResponse(alarms=alarms)

    async def Status(self, request: Any, context: Any) -> Any:
        return rpc_pb2.StatusResponse(leader=self.script.leader)


class _KV(rpc_pb2_grpc.KVServicer):
    def __init__(self, script: Script) -> None:
        self.script = script

    async def Range(self, request: Any, context: Any) -> Any:
        self.script.ranges.append(request)
        if self.script.range_error is not None:
            await context.abort(self.script.range_error.code, self.script.range_error.message)
        return rpc_pb2.RangeResponse()


@pytest.fixture(scope="module")
def scripted() -> Iterator[tuple[Script, int]]:
    script = Script()
    thread = LoopThread()
    with tempfile.TemporaryDirectory() as tmp:
        target = f"unix:{os.path.join(tmp, 'etcd.sock')}"

        async def start() -> Any:
            server = grpc.aio.server()
            rpc_pb2_grpc.add_MaintenanceServicer_to_server(_Maintenance(script), server)  # type: ignore[abstract]
            rpc_pb2_grpc.add_KVServicer_to_server(_KV(script), server)  # type: ignore[abstract]
            server.add_insecure_port(target)
            await server.start()
            return server

        server = thread.run(start())
        try:
            with running_listener(target) as listener:
                yield script, listener.port
        finally:
            thread.run(server.stop(None))
            thread.stop()


@contextlib.contextmanager
def scripted_as(script: Script, **changes: Any) -> Iterator[None]:
    saved = {k: getattr(script, k) for k in changes}
    for k, v in changes.items():
        setattr(script, k, v)
    try:
        yield
    finally:
        for k, v in saved.items():
            setattr(script, k, v)


def health(port: int, query: str = "") -> tuple[int, dict[str, str]]:
    reply = http_request(port, "GET", "/health" + query)
    return reply.status, json.loads(reply.body)


def test_healthy_probes_one_linearizable_key(scripted: tuple[Script, int]) -> None:
    script, port = scripted
    script.ranges.clear()
    assert health(port) == (200, {"health": "true", "reason": ""})
    (probe,) = script.ranges
    assert probe.keys_only and probe.limit == 1 and not probe.serializable and probe.key


@pytest.mark.parametrize(
    ("changes", "query", "expected"),
    [
        ({"alarms": [rpc_pb2.NOSPACE]}, "", (503, "ALARM NOSPACE")),
        ({"alarms": [rpc_pb2.CORRUPT]}, "", (503, "ALARM CORRUPT")),
        ({"alarms": [7]}, "", (503, "ALARM UNKNOWN")),
        ({"alarms": [rpc_pb2.NOSPACE]}, "?exclude=NOSPACE", (200, "")),
        ({"alarms": [rpc_pb2.NOSPACE, rpc_pb2.CORRUPT]}, "?exclude=NOSPACE", (503, "ALARM CORRUPT")),
        ({"leader": 0}, "", (503, "RAFT NO LEADER")),
        ({"leader": 0}, "?serializable=true", (200, "")),
        ({"range_error": errors.TIMEOUT}, "", (503, "RANGE ERROR:etcdserver: request timed out")),
        ({"range_error": errors.USER_EMPTY}, "", (200, "")),
        ({"range_error": errors.PERMISSION_DENIED}, "", (200, "")),
        ({"alarm_error": errors.STOPPED}, "", (503, "ALARM ERROR:etcdserver: server stopped")),
    ],
)
def test_unhealthy_reasons(
    scripted: tuple[Script, int], changes: dict[str, Any], query: str, expected: tuple[int, str]
) -> None:
    script, port = scripted
    with scripted_as(script, **changes):
        status, body = health(port, query)
    assert (status, body["reason"]) == expected
    assert body["health"] == ("true" if status == 200 else "false")


def test_serializable_probe(scripted: tuple[Script, int]) -> None:
    script, port = scripted
    script.ranges.clear()
    assert health(port, "?serializable=true")[0] == 200
    assert script.ranges[-1].serializable


def test_unreachable_server_is_unhealthy() -> None:
    with tempfile.TemporaryDirectory() as tmp, running_listener(f"unix:{tmp}/nothing.sock") as listener:
        status, body = health(listener.port)
    assert status == 503 and body["reason"].startswith("ALARM ERROR:")
