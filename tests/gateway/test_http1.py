"""The listener's HTTP/1.1 side: framing, keep-alive, pipelining, limits and hostile
input. A small grpc.aio KV server stands in for etcd behind it."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import random
import socket
import tempfile
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from etcdpy.api.gateway import ClientListener
from tests.gateway._harness import (
    WatchLog,
    echo_route,
    http_request,
    noop_upstream,
    raw_exchange,
    running_listener,
)

ROUTES = {"/echo": echo_route, "/tree/": echo_route}
RANGE = b'{"key":"Zm9v"}'


@pytest.fixture(scope="module")
def listener() -> Iterator[ClientListener]:
    with tempfile.TemporaryDirectory() as tmp:
        target = f"unix:{os.path.join(tmp, 'kv.sock')}"
        with (
            noop_upstream(target),
            running_listener(target, extra_routes=ROUTES, max_request_bytes=1000) as lis,
        ):
            yield lis


def connect(listener: ClientListener) -> socket.socket:
    return socket.create_connection(("127.0.0.1", listener.port), timeout=10)


def read_response(sock: socket.socket, buf: bytearray) -> tuple[bytes, bytes]:
    """One response (head, body) with a Content-Length body; `buf` keeps what follows."""
    while b"\r\n\r\n" not in buf:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed mid-response: {bytes(buf)!r}")
        buf += chunk
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.lower() == b"content-length":
            length = int(value)
    while len(rest) < length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed mid-body")
        rest += chunk
    buf[:] = rest[length:]
    return head, rest[:length]


def test_gateway_call_through_upstream(listener: ClientListener) -> None:
    reply = http_request(listener.port, "POST", "/v3/kv/range", RANGE)
    assert reply.status == 200
    assert json.loads(reply.body) == {"header": {"revision": "1"}, "count": "3"}
    assert reply.headers["grpc-metadata-content-type"] == "application/grpc"


def test_put_method_accepted(listener: ClientListener) -> None:
    assert http_request(listener.port, "PUT", "/v3/kv/put", b'{"key":"eA=="}').status == 200


def test_unimplemented_upstream_method(listener: ClientListener) -> None:
    reply = http_request(listener.port, "POST", "/v3/lease/grant", b"{}")
    assert reply.status == 501
    assert json.loads(reply.body)["code"] == 12


def test_keep_alive_and_pipelining(listener: ClientListener) -> None:
    requests = (
        b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n"
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
        b"POST /v3/kv/range HTTP/1.1\r\nHost: x\r\nContent-Length: 14\r\n\r\n"
        + RANGE
        + b"GET /echo?x=1 HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    with connect(listener) as sock:
        sock.sendall(requests)
        buf = bytearray()
        bodies = [read_response(sock, buf)[1] for _ in range(4)]
    assert bodies[0] == b'{"etcdserver":"3.5.1","etcdcluster":"3.5.0"}'
    assert bodies[1] == b"POST /echo q= len=5"
    assert json.loads(bodies[2])["count"] == "3"
    assert bodies[3] == b"GET /echo q=x=1 len=0"


def test_chunked_body_and_trailers(listener: ClientListener) -> None:
    request = (
        b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3;ext=1\r\nabc\r\n10\r\n0123456789abcdef\r\n0\r\nTrailer: yes\r\n\r\n"
        b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    with connect(listener) as sock:
        sock.sendall(request)
        buf = bytearray()
        assert read_response(sock, buf)[1] == b"POST /echo q= len=19"
        assert read_response(sock, buf)[0].startswith(b"HTTP/1.1 200")


def test_expect_100_continue(listener: ClientListener) -> None:
    with connect(listener) as sock:
        sock.sendall(
            b"POST /v3/kv/range HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 14\r\n\r\n"
        )
        assert sock.recv(100) == b"HTTP/1.1 100 Continue\r\n\r\n"
        sock.sendall(RANGE)
        head, body = read_response(sock, bytearray())
        assert head.startswith(b"HTTP/1.1 200") and json.loads(body)["count"] == "3"


def test_expect_unknown_is_417(listener: ClientListener) -> None:
    out = raw_exchange(listener.port, b"POST /echo HTTP/1.1\r\nExpect: magic\r\nContent-Length: 1\r\n\r\nx")
    assert out.startswith(b"HTTP/1.1 417 ")


def test_http10_closes_and_streams_unchunked(listener: ClientListener) -> None:
    out = raw_exchange(listener.port, b"GET /version HTTP/1.0\r\n\r\n")
    assert out.startswith(b"HTTP/1.0 200 OK\r\n") and b"Connection: close\r\n" in out
    assert out.endswith(b'{"etcdserver":"3.5.1","etcdcluster":"3.5.0"}')


def test_connection_close_honoured(listener: ClientListener) -> None:
    out = raw_exchange(
        listener.port, b"GET /version HTTP/1.1\r\nConnection: close\r\n\r\nGET /version HTTP/1.1\r\n\r\n"
    )
    assert out.count(b"HTTP/1.1 200") == 1 and b"Connection: close\r\n" in out


def test_head_request_has_no_body(listener: ClientListener) -> None:
    with connect(listener) as sock:
        sock.sendall(b"HEAD /version HTTP/1.1\r\nHost: x\r\n\r\nGET /version HTTP/1.1\r\nHost: x\r\n\r\n")
        buf = bytearray()
        head = b""
        while b"\r\n\r\n" not in buf:
            buf += sock.recv(65536)
        head, _, rest = bytes(buf).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 405") and b"Content-Length: 19" in head
        assert rest.startswith(b"HTTP/1.1 200") or rest == b""


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"GARBAGE\r\n\r\n", b"400"),
        (b"GET / HTTP/2.0\r\n\r\n", b"505"),
        (b"GET /version HTTP/1.1\r\nBad Header\r\n\r\n", b"400"),
        (b"GET /version HTTP/1.1\r\n folded: x\r\n\r\n", b"400"),
        (b"GET /%zz HTTP/1.1\r\n\r\n", b"400"),
        (b"GET nohost HTTP/1.1\r\n\r\n", b"400"),
        (b"POST /echo HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", b"501"),
        (b"POST /echo HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", b"400"),
        (b"POST /echo HTTP/1.1\r\nContent-Length: -1\r\n\r\n", b"400"),
        (b"POST /echo HTTP/1.1\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", b"400"),
        (b"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", b"400"),
        (b"GET /version HTTP/1.1\r\nX: " + b"a" * (1 << 21), b"431"),
    ],
)
def test_malformed_requests_get_an_error_and_close(
    listener: ClientListener, request_bytes: bytes, status: bytes
) -> None:
    out = raw_exchange(listener.port, request_bytes)
    assert out.startswith(b"HTTP/1.1 " + status + b" "), out[:200]
    assert b"Connection: close" in out


def test_absolute_form_target(listener: ClientListener) -> None:
    out = raw_exchange(listener.port, b"GET http://example/echo?q HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert out.endswith(b"GET /echo q=q len=0")


def test_subtree_route_and_redirect(listener: ClientListener) -> None:
    assert http_request(listener.port, "GET", "/tree/a/b").body == b"GET /tree/a/b q= len=0"
    reply = http_request(listener.port, "GET", "/tree/../echo")
    assert reply.status == 301 and reply.headers["location"] == "/echo"


def test_oversized_body_rejected_without_reading(listener: ClientListener) -> None:
    # max_request_bytes=1000: the gateway reads at most 2*1000 + 1 MiB.
    size = 2 * 1000 + (1 << 20) + 1
    with connect(listener) as sock:
        sock.sendall(
            b"POST /v3/kv/put HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: %d\r\n\r\n"
            % size
        )
        head, body = read_response(sock, bytearray())
    assert head.startswith(b"HTTP/1.1 400") and b"Connection: close" in head
    assert json.loads(body) == {
        "error": "etcdserver: request is too large",
        "code": 3,
        "message": "etcdserver: request is too large",
    }


def test_oversized_chunked_body(listener: ClientListener) -> None:
    chunk = b"x" * 65536
    size = 2 * 1000 + (1 << 20)
    with connect(listener) as sock:
        sock.sendall(b"POST /v3/kv/put HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        sent = 0
        try:
            while sent <= size:
                sock.sendall(b"%x\r\n%s\r\n" % (len(chunk), chunk))
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        head, _ = read_response(sock, bytearray())
    assert head.startswith(b"HTTP/1.1 400")


def test_unread_small_body_is_skipped_to_keep_the_connection(listener: ClientListener) -> None:
    with connect(listener) as sock:
        sock.sendall(b"POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n0123456789")
        sock.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n")
        buf = bytearray()
        assert read_response(sock, buf)[0].startswith(b"HTTP/1.1 404")
        assert read_response(sock, buf)[0].startswith(b"HTTP/1.1 200")


def test_garbage_never_hurts_the_listener(listener: ClientListener) -> None:
    rng = random.Random(1234)
    for _ in range(40):
        junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 3000)))
        with contextlib.suppress(ConnectionResetError, TimeoutError):
            raw_exchange(listener.port, junk, timeout=5)
    assert http_request(listener.port, "GET", "/version").status == 200


def test_client_leaving_mid_request(listener: ClientListener) -> None:
    for request in (
        b'POST /v3/kv/range HTTP/1.1\r\nContent-Length: 100\r\n\r\n{"key"',
        b'POST /v3/watch HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"cre',
        b"POST /v3/kv/range HTTP/1.1\r\nContent-Le",
        b"GET /version HTTP/1.1\r\n\r\n",
    ):
        sock = connect(listener)
        sock.sendall(request)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        sock.close()  # with linger 0: a reset
    assert http_request(listener.port, "GET", "/version").status == 200


def test_half_closed_client_still_gets_its_answer(listener: ClientListener) -> None:
    out = raw_exchange(listener.port, b"POST /v3/kv/range HTTP/1.1\r\nContent-Length: 14\r\n\r\n" + RANGE)
    assert out.startswith(b"HTTP/1.1 200") and b"Connection: close" in out


def test_many_concurrent_connections(listener: ClientListener) -> None:
    async def one(i: int) -> bytes:
        reader, writer = await asyncio.open_connection("127.0.0.1", listener.port)
        body = b'{"key":"%s"}' % (b"eA==" if i % 2 else b"eHg=")
        writer.write(
            b"POST /v3/kv/range HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
        data = await reader.readexactly(length)
        writer.close()
        return data

    async def main() -> list[bytes]:
        return await asyncio.gather(*(one(i) for i in range(300)))

    results: list[list[bytes]] = []
    thread = threading.Thread(target=lambda: results.append(asyncio.run(main())))
    thread.start()
    thread.join(60)
    assert results, "concurrent clients did not finish"
    counts = [json.loads(r)["count"] for r in results[0]]
    assert counts == ["1" if i % 2 else "2" for i in range(300)]


@pytest.fixture(scope="module")
def watch_upstream() -> Iterator[tuple[WatchLog, ClientListener]]:
    with tempfile.TemporaryDirectory() as tmp:
        target = f"unix:{os.path.join(tmp, 'watch.sock')}"
        with noop_upstream(target) as log, running_listener(target) as lis:
            yield log, lis


def _wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def test_streamed_request_body_feeds_the_stream(watch_upstream: tuple[WatchLog, ClientListener]) -> None:
    log, listener = watch_upstream
    with connect(listener) as sock:
        sock.sendall(b"POST /v3/watch HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        reader = sock.makefile("rb")  # closed below: the socket stays open while it exists
        for i, key in enumerate([b"a", b"b", b"c"]):
            message = b'{"create_request":{"key":"%s"}}' % base64.b64encode(key)
            # Split each message across two chunks to exercise incremental decoding.
            for part in (message[:7], message[7:]):
                sock.sendall(b"%x\r\n%s\r\n" % (len(part), part))
            if i == 0:
                assert reader.readline().startswith(b"HTTP/1.1 200 OK")
                while reader.readline() != b"\r\n":
                    pass
            size = int(reader.readline(), 16)
            line = json.loads(reader.read(size))
            reader.readline()
            assert line == {
                "result": {"watch_id": str(i + 1), "created": True, "cancel_reason": key.decode()}
            }
        assert log.open_streams == 1
        reader.close()
    # The client went away: the upstream stream must be cancelled.
    _wait_for(lambda: log.open_streams == 0)


def test_watch_stream_survives_body_end(watch_upstream: tuple[WatchLog, ClientListener]) -> None:
    log, listener = watch_upstream
    with connect(listener) as sock:
        body = b'{"create_request":{"key":"eg=="}}'
        sock.sendall(
            b"POST /v3/watch HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        with sock.makefile("rb") as reader:
            while reader.readline() != b"\r\n":
                pass
            size = int(reader.readline(), 16)
            assert json.loads(reader.read(size))["result"]["cancel_reason"] == "z"
        _wait_for(lambda: log.open_streams == 1)
    _wait_for(lambda: log.open_streams == 0)
