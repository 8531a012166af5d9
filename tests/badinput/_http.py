"""Raw HTTP/1.x exchanges with a client port, and their answers made comparable between servers.

Requests are written byte for byte on a plain socket (so they can be as malformed as wanted)
from a second thread while the answer is read, so a server that answers and closes before the
request is fully sent is still heard.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import socket
import threading
import time
from typing import Any

COMPARED_HEADERS = (
    "content-type",
    "grpc-metadata-content-type",
    "allow",
    "location",
    "x-content-type-options",
    "access-control-allow-origin",
    "access-control-allow-methods",
    "access-control-allow-headers",
)
# Fields that differ between two members however equal their data.
MEMBER_FIELDS = frozenset({"cluster_id", "member_id"})


@dataclasses.dataclass(frozen=True)
class Response:
    status: int
    headers: tuple[tuple[str, str], ...]  # lower-case names, in order
    body: bytes

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name), None)

    def comparable(self) -> tuple[Any, ...]:
        """Status, the headers that carry meaning, and the body (JSON without member IDs)."""
        headers = tuple((k, v) for k, v in self.headers if k in COMPARED_HEADERS)
        return (self.status, headers, _comparable_body(self))


@dataclasses.dataclass(frozen=True)
class Exchange:
    """Everything one connection got: the responses, bytes that did not parse as one, and
    whether the server closed (or reset) the connection before the reader gave up."""

    responses: tuple[Response, ...]
    rest: bytes
    closed: bool

    def comparable(self, *, bodies: bool = True) -> tuple[Any, ...]:
        """The final (non-1xx) responses and whether the connection ended.
        `bodies=False` keeps only statuses, for Go's plain-text connection-level errors."""
        final = [r for r in self.responses if r.status >= 200]
        if bodies:
            return (tuple(r.comparable() for r in final), self.closed)
        return (tuple(r.status for r in final), self.closed)


def exchange(
    port: int, data: bytes, *, half_close: bool = False, idle: float = 0.5, limit: float = 15.0
) -> Exchange:
    """Send `data` (then shut down writing if `half_close`) and read until the server closes,
    or nothing came for `idle` seconds once all was sent (or `limit` in all)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=limit)
    sender = threading.Thread(target=_send, args=(sock, data, half_close), daemon=True)
    sender.start()
    received = bytearray()
    closed = False
    deadline = time.monotonic() + limit
    try:
        while time.monotonic() < deadline:
            sending = sender.is_alive()
            sock.settimeout(0.1 if sending else idle)
            try:
                chunk = sock.recv(1 << 16)
            except TimeoutError:
                if sending:
                    continue
                break
            except ConnectionResetError:
                closed = True
                break
            if not chunk:
                closed = True
                break
            received += chunk
    finally:
        sock.close()
        sender.join(5)
    responses, rest = parse(bytes(received))
    return Exchange(tuple(responses), rest, closed)


def _send(sock: socket.socket, data: bytes, half_close: bool) -> None:
    with contextlib.suppress(OSError):
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)


def request(
    port: int,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    version: str = "HTTP/1.1",
) -> Exchange:
    """One well-framed request on its own connection (Connection: close)."""
    lines = [f"{method} {path} {version}", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    return exchange(port, "\r\n".join(lines).encode("latin-1") + b"\r\n\r\n" + (body or b""))


def parse(data: bytes) -> tuple[list[Response], bytes]:
    """The complete responses at the start of `data`, and what is left."""
    out: list[Response] = []
    while True:
        end = data.find(b"\r\n\r\n")
        if end < 0:
            return out, data
        lines = data[:end].decode("latin-1").split("\r\n")
        parts = lines[0].split(" ", 2)
        if len(parts) < 2 or not parts[0].startswith("HTTP/") or not parts[1].isdigit():
            return out, data
        headers = tuple((k.strip().lower(), v.strip()) for k, _, v in (h.partition(":") for h in lines[1:]))
        status = int(parts[1])
        rest = data[end + 4 :]
        fields = dict(headers)
        if status < 200 or status in (204, 304):
            body = b""
        elif fields.get("transfer-encoding") == "chunked":
            decoded = _dechunk(rest)
            if decoded is None:
                return out, data
            body, rest = decoded
        elif "content-length" in fields:
            n = int(fields["content-length"])
            if len(rest) < n:
                return out, data
            body, rest = rest[:n], rest[n:]
        else:
            body, rest = rest, b""
        out.append(Response(status, headers, body))
        data = rest


def _dechunk(data: bytes) -> tuple[bytes, bytes] | None:
    body = bytearray()
    while True:
        end = data.find(b"\r\n")
        if end < 0:
            return None
        size = int(data[:end].split(b";")[0], 16)
        data = data[end + 2 :]
        if size == 0:
            trailer_end = data.find(b"\r\n")
            while trailer_end > 0:  # skip trailer fields
                data = data[trailer_end + 2 :]
                trailer_end = data.find(b"\r\n")
            return (bytes(body), data[2:]) if trailer_end == 0 else None
        if len(data) < size + 2:
            return None
        body += data[:size]
        data = data[size + 2 :]


def _comparable_body(r: Response) -> Any:
    if (r.header("content-type") or "").startswith("application/json"):
        lines = r.body.split(b"\n")
        try:
            return tuple(_strip_member(json.loads(line)) for line in lines if line.strip())
        except ValueError:
            pass
    return r.body


def _strip_member(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_member(v) for k, v in value.items() if k not in MEMBER_FIELDS}
    if isinstance(value, list):
        return [_strip_member(v) for v in value]
    return value
