"""The peer proxy: forwards connections, and cuts a member off (everything to it, and whatever
it sends to others) until healed."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

from etcdpy.server.transport.framing import Hello, Kind
from tests.cluster._proxy import PeerProxy
from tests.servers import wait_until

MEMBER_A, MEMBER_B = 0xA, 0xB


class _Sink:
    """A listener that keeps what each accepted connection sends, per connection."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.received: list[bytes] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        with contextlib.suppress(OSError):
            while True:
                conn, _ = self.sock.accept()
                with self._lock:
                    self.received.append(b"")
                    index = len(self.received) - 1
                threading.Thread(target=self._read, args=(conn, index), daemon=True).start()

    def _read(self, conn: socket.socket, index: int) -> None:
        with conn, contextlib.suppress(OSError):
            while data := conn.recv(65536):
                with self._lock:
                    self.received[index] += data

    def got(self, data: bytes) -> bool:
        with self._lock:
            return any(data in r for r in self.received)


@contextlib.contextmanager
def _proxied(tmp_path: Path, n: int) -> Iterator[tuple[PeerProxy, list[_Sink]]]:
    sinks = [_Sink() for _ in range(n)]
    proxy = PeerProxy([s.port for s in sinks], tmp_path / "proxy.log")
    try:
        yield proxy, sinks
    finally:
        proxy.stop()
        for s in sinks:
            s.sock.close()


def _stream(port: int, sender: int) -> socket.socket:
    """A framed peer connection through the proxy, hello sent."""
    conn = socket.create_connection(("127.0.0.1", port), timeout=5)
    conn.sendall(Hello(1, Kind.STREAM, 1, sender, 2).encode())
    return conn


def _closed_by_peer(conn: socket.socket) -> bool:
    try:
        return conn.recv(1) == b""
    except ConnectionError:
        return True


def test_forwards_http_and_framed_connections(tmp_path: Path) -> None:
    with _proxied(tmp_path, 1) as (proxy, [sink]):
        with socket.create_connection(("127.0.0.1", proxy.ports[0])) as http:
            http.sendall(b"GET /members HTTP/1.1\r\n\r\n")
            wait_until(lambda: sink.got(b"GET /members"), 5, "the request to pass")
        with _stream(proxy.ports[0], MEMBER_A) as conn:
            conn.sendall(b"frames")
            wait_until(
                lambda: sink.got(Hello(1, Kind.STREAM, 1, MEMBER_A, 2).encode() + b"frames"),
                5,
                "the hello and frames to pass",
            )


def test_isolation_cuts_both_directions_until_healed(tmp_path: Path) -> None:
    with _proxied(tmp_path, 2) as (proxy, sinks):
        to_b = _stream(proxy.ports[1], MEMBER_A)  # A -> B, through B's proxy
        from_b = _stream(proxy.ports[0], MEMBER_B)  # B -> A, through A's proxy
        with to_b, from_b:
            to_b.sendall(b"to-b")
            from_b.sendall(b"from-b")
            wait_until(lambda: sinks[1].got(b"to-b") and sinks[0].got(b"from-b"), 5, "both to be forwarded")
            proxy.isolate(1, MEMBER_B)
            assert _closed_by_peer(to_b)
            assert _closed_by_peer(from_b)
        # New connections are accepted but nothing reaches the other side.
        with _stream(proxy.ports[1], MEMBER_A) as to_b, _stream(proxy.ports[0], MEMBER_B) as from_b:
            to_b.sendall(b"to-b-while-cut")
            from_b.sendall(b"from-b-while-cut")
            with _stream(proxy.ports[0], 0xC) as other:  # C -> A is not affected
                other.sendall(b"c-to-a")
                wait_until(lambda: sinks[0].got(b"c-to-a"), 5, "C's frames to reach A")
            proxy.heal()
            assert _closed_by_peer(to_b)  # the blackholed connections end, to be redialled
            assert not sinks[1].got(b"to-b-while-cut")
            assert not sinks[0].got(b"from-b-while-cut")
        with _stream(proxy.ports[1], MEMBER_A) as to_b:
            to_b.sendall(b"healed")
            wait_until(lambda: sinks[1].got(b"healed"), 5, "frames to pass after healing")
