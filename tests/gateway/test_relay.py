"""The listener's gRPC side: HTTP/2 connections relayed byte for byte to the upstream."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import socket
import subprocess
import tempfile
import threading
from collections.abc import Iterator

import grpc
import pytest

from etcdpy.api.gateway import ClientListener
from etcdpy.api.gateway.listener import H2_PREFACE
from etcdpy.api.gateway.upstream import Upstream, parse_target
from etcdpy.api.pb.etcdserverpb import rpc_pb2, rpc_pb2_grpc
from tests.gateway._harness import (
    LoopThread,
    http_request,
    noop_upstream,
    raw_exchange,
    reference_bin,
    reference_etcd,
    running_listener,
)
from tests.servers import free_port


@pytest.fixture(scope="module")
def grpc_listener() -> Iterator[ClientListener]:
    with tempfile.TemporaryDirectory() as tmp:
        target = f"unix:{os.path.join(tmp, 'kv.sock')}"
        with noop_upstream(target), running_listener(target) as listener:
            yield listener


def test_grpc_client_through_relay(grpc_listener: ClientListener) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{grpc_listener.port}") as channel:
        kv = rpc_pb2_grpc.KVStub(channel)
        for i in range(50):
            assert kv.Range(rpc_pb2.RangeRequest(key=b"k" * i), timeout=10).count == i
        with pytest.raises(grpc.RpcError) as err:
            kv.Txn(rpc_pb2.TxnRequest(), timeout=10)
        assert err.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_http_and_grpc_share_the_port(grpc_listener: ClientListener) -> None:
    with grpc.insecure_channel(f"127.0.0.1:{grpc_listener.port}") as channel:
        kv = rpc_pb2_grpc.KVStub(channel)
        assert kv.Put(rpc_pb2.PutRequest(key=b"a"), timeout=10).header.revision == 2
        assert http_request(grpc_listener.port, "GET", "/version").status == 200
        assert kv.Range(rpc_pb2.RangeRequest(key=b"ab"), timeout=10).count == 2


def test_many_concurrent_grpc_connections(grpc_listener: ClientListener) -> None:
    async def client(i: int) -> list[int]:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{grpc_listener.port}") as channel:
            kv = rpc_pb2_grpc.KVStub(channel)
            replies = await asyncio.gather(
                *(kv.Range(rpc_pb2.RangeRequest(key=b"x" * (i % 7 + j))) for j in range(5))
            )
            return [r.count for r in replies]

    async def main() -> list[list[int]]:
        return await asyncio.gather(*(client(i) for i in range(150)))

    thread = LoopThread()
    try:
        results = thread.run(main(), timeout=120)
    finally:
        thread.stop()
    assert results == [[i % 7 + j for j in range(5)] for i in range(150)]


def test_garbage_after_preface_is_dropped_by_upstream(grpc_listener: ClientListener) -> None:
    out = raw_exchange(grpc_listener.port, H2_PREFACE + os.urandom(5000))
    assert b"HTTP/1.1" not in out  # the upstream's HTTP/2 GOAWAY, if anything
    assert http_request(grpc_listener.port, "GET", "/version").status == 200


def test_preface_split_across_packets(grpc_listener: ClientListener) -> None:
    with socket.create_connection(("127.0.0.1", grpc_listener.port), timeout=10) as sock:
        for i in range(0, len(H2_PREFACE), 5):
            sock.sendall(H2_PREFACE[i : i + 5])
        sock.sendall(b"\x00\x00\x00\x04\x00\x00\x00\x00\x00")  # an empty SETTINGS frame
        frame = sock.recv(9)
    assert len(frame) == 9 and frame[3] == 0x04  # the upstream's SETTINGS


@contextlib.contextmanager
def echo_server() -> Iterator[tuple[int, list[str]]]:
    """A TCP server echoing each connection; records how each ended ("eof")."""
    thread = LoopThread()
    events: list[str] = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
        events.append("eof")
        writer.close()

    async def start() -> asyncio.Server:
        return await asyncio.start_server(handle, "127.0.0.1", 0)

    server = thread.run(start())
    try:
        yield server.sockets[0].getsockname()[1], events
    finally:
        server.close()
        thread.stop()


def test_relay_is_byte_exact_with_backpressure_and_half_close() -> None:
    payload = H2_PREFACE + os.urandom(8 << 20)
    with echo_server() as (port, events), running_listener(f"127.0.0.1:{port}") as listener:
        with socket.create_connection(("127.0.0.1", listener.port), timeout=30) as sock:
            received = bytearray()

            def reader() -> None:
                while chunk := sock.recv(1 << 16):
                    received.extend(chunk)

            t = threading.Thread(target=reader)
            t.start()
            sock.sendall(payload)
            sock.shutdown(socket.SHUT_WR)  # half-close: the echo server sees EOF and closes
            t.join(60)
        assert hashlib.sha256(received).digest() == hashlib.sha256(payload).digest()
        assert events == ["eof"]


def test_unreachable_upstream_closes_the_connection() -> None:
    with tempfile.TemporaryDirectory() as tmp, running_listener(f"unix:{tmp}/missing.sock") as listener:
        assert raw_exchange(listener.port, H2_PREFACE + b"\x00" * 9) == b""
        assert http_request(listener.port, "GET", "/version").status == 200


def test_close_ends_relayed_connections() -> None:
    with echo_server() as (port, _):
        thread = LoopThread()
        listener = ClientListener("127.0.0.1", 0, f"127.0.0.1:{port}")
        thread.run(listener.start())
        try:
            sock = socket.create_connection(("127.0.0.1", listener.port), timeout=10)
            sock.sendall(H2_PREFACE)
            assert sock.recv(100) == H2_PREFACE
        finally:
            thread.run(listener.close())
            thread.stop()
        assert sock.recv(100) == b""
        sock.close()


@pytest.mark.parametrize(
    ("target", "upstream"),
    [
        ("unix:/tmp/x.sock", Upstream(path="/tmp/x.sock")),
        ("unix:///tmp/x.sock", Upstream(path="/tmp/x.sock")),
        ("unix:rel.sock", Upstream(path="rel.sock")),
        ("unix-abstract:etcd", Upstream(path="\0etcd")),
        ("127.0.0.1:2379", Upstream(host="127.0.0.1", port=2379)),
        ("localhost:1", Upstream(host="localhost", port=1)),
        ("[::1]:2379", Upstream(host="::1", port=2379)),
        ("ipv4:10.0.0.1:5,10.0.0.2:5", Upstream(host="10.0.0.1", port=5)),
        ("ipv6:[::1]:7", Upstream(host="::1", port=7)),
        ("dns:///etcd.example:2379", Upstream(host="etcd.example", port=2379)),
        ("dns:etcd.example:2379", Upstream(host="etcd.example", port=2379)),
    ],
)
def test_parse_target(target: str, upstream: Upstream) -> None:
    assert parse_target(target) == upstream


@pytest.mark.parametrize("target", ["unix:", "nohost", "host:port", "[::1]"])
def test_parse_target_rejects(target: str) -> None:
    with pytest.raises(ValueError):
        parse_target(target)


def test_abstract_socket_upstream() -> None:
    name = f"etcdpy-gw-test-{os.getpid()}-{free_port()}"
    with noop_upstream(f"unix-abstract:{name}"), running_listener(f"unix-abstract:{name}") as listener:
        with grpc.insecure_channel(f"127.0.0.1:{listener.port}") as channel:
            kv = rpc_pb2_grpc.KVStub(channel)
            assert kv.Range(rpc_pb2.RangeRequest(key=b"abc"), timeout=10).count == 3
        assert http_request(listener.port, "POST", "/v3/kv/range", b'{"key":"YWI="}').body == (
            b'{"header":{"revision":"1"},"count":"2"}'
        )


@pytest.mark.reference
def test_etcdctl_through_the_listener() -> None:
    etcdctl = str(reference_bin("etcdctl"))
    with reference_etcd() as ref, running_listener(f"127.0.0.1:{ref.port}") as listener:
        ours = f"--endpoints=http://127.0.0.1:{listener.port}"

        def run(*args: str) -> str:
            return subprocess.run(
                [etcdctl, ours, *args], capture_output=True, text=True, check=True, timeout=30
            ).stdout

        assert run("put", "k", "v1") == "OK\n"
        assert run("get", "k", "--print-value-only") == "v1\n"
        assert run("member", "list") == ref.etcdctl("member", "list")
        # From revision 2 (the first put), so the watch sees that put whenever it starts.
        watcher = subprocess.Popen(
            [etcdctl, ours, "watch", "k", "--rev=2"], stdout=subprocess.PIPE, text=True
        )
        try:
            assert watcher.stdout is not None
            assert [watcher.stdout.readline() for _ in range(3)] == ["PUT\n", "k\n", "v1\n"]
            run("put", "k", "v2")
            assert [watcher.stdout.readline() for _ in range(3)] == ["PUT\n", "k\n", "v2\n"]
        finally:
            watcher.terminate()
            watcher.wait(10)
        with tempfile.TemporaryDirectory() as tmp:
            run("snapshot", "save", f"{tmp}/snap.db")
            assert os.path.getsize(f"{tmp}/snap.db") > 0
        health = subprocess.run(
            [etcdctl, ours, "endpoint", "health"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=30,
        )
        assert "is healthy" in health.stdout
