"""HTTP/1.1 server connections: request heads, body framing, responses, keep-alive.

One request is served at a time per connection, in order; bytes of pipelined
requests wait in the buffer. Reading from the socket pauses while too much
unread data is buffered (request body or pipelined requests) and while the
socket's send buffer is full, so a connection's memory stays bounded.
Malformed requests get Go's plain-text error responses and the connection is
closed; nothing a client sends can escape as an exception.
"""

from __future__ import annotations

import asyncio
import email.utils
import http
import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Final, cast
from urllib.parse import unquote_to_bytes

from etcdpy.api.gateway.httptypes import Headers, HttpRequest

log = logging.getLogger(__name__)

MAX_HEAD: Final = (1 << 20) + 4096  # Go's DefaultMaxHeaderBytes plus its slack
BODY_HIGH_WATER: Final = 256 * 1024  # unread body bytes before reading pauses
PIPELINE_HIGH_WATER: Final = 1 << 20  # buffered bytes of later requests before reading pauses
DISCARD_LIMIT: Final = 256 * 1024  # unread body the server skips to keep a connection open
MAX_CHUNK_LINE: Final = 4096
LINGER: Final = 0.5  # seconds a closing connection keeps reading, so unread input does not reset it

_TOKEN: Final = rb"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_REQUEST_LINE: Final = re.compile(rb"(" + _TOKEN + rb") ([^ ]+) HTTP/([0-9])\.([0-9])")
_HEADER_LINE: Final = re.compile(rb"(" + _TOKEN + rb"):[ \t]*(.*?)[ \t]*")
_HEAD_END: Final = re.compile(rb"\r?\n\r?\n")
_BAD_ESCAPE: Final = re.compile(r"%(?![0-9A-Fa-f]{2})")
_ABSOLUTE: Final = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^/?]*")
_CHUNK_SIZE: Final = re.compile(rb"([0-9A-Fa-f]{1,16})[ \t]*(?:;[^\r\n]*)?\r?\n")


class BodyError(Exception):
    """The request body cannot be read: malformed framing, or the client went away."""


class BodyTooLarge(Exception):
    """The request body exceeds the limit its reader was given."""


class BodyReader:
    """A request body as it arrives, de-chunked; `length` is the declared Content-Length."""

    def __init__(self, conn: Http1Connection, length: int | None, expect_continue: bool) -> None:
        self.length = length
        self._conn = conn
        self._chunks: deque[bytes] = deque()
        self.buffered = 0
        self.received_all = False
        self._error: BaseException | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._expect_continue = expect_continue

    async def read(self) -> bytes:
        """The next piece of the body; b"" once it has all been read."""
        while not self._chunks:
            if self._error is not None:
                raise self._error
            if self.received_all:
                return b""
            if self._expect_continue:
                self._expect_continue = False
                self._conn.send_continue()
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        data = self._chunks.popleft()
        self.buffered -= len(data)
        self._conn.update_reading()
        return data

    async def read_all(self, limit: int) -> bytes:
        """The whole body; BodyTooLarge as soon as it is known to exceed `limit`."""
        if self.length is not None and self.length > limit:
            raise BodyTooLarge
        parts = []
        total = 0
        while data := await self.read():
            total += len(data)
            if total > limit:
                raise BodyTooLarge
            parts.append(data)
        return b"".join(parts)

    @property
    def continue_pending(self) -> bool:
        """The client awaits "100 Continue" before sending the body, and has not had it."""
        return self._expect_continue and not self.received_all

    def feed(self, data: bytes) -> None:
        self._chunks.append(data)
        self.buffered += len(data)
        self._wake()

    def finish(self) -> None:
        self.received_all = True
        self._wake()

    def fail(self, exc: BaseException) -> None:
        if not self.received_all:
            self._error = exc
            self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)


class ResponseWriter:
    """Writes the one response to a request: whole (`send`) or streamed chunked
    (`start`, `write`..., `end`)."""

    def __init__(self, conn: Http1Connection, request: HttpRequest) -> None:
        self._conn = conn
        self._head_only = request.method == "HEAD"
        self._http10 = request.version == "HTTP/1.0"
        self.started = False
        self.finished = False
        # Set by the application for a response that streams for as long as the client is there:
        # the client's EOF ends it even before anything was sent.
        self.streaming = False

    def send(self, status: int, headers: Headers, body: bytes = b"") -> None:
        self._begin()
        length = b"Content-Length: %d\r\n" % len(body)
        head = self._conn.response_head(status, headers, length, streaming=False)
        self._conn.write(head if self._head_only or not body else head + body)
        self.finished = True

    def start(self, status: int, headers: Headers) -> None:
        self._begin()
        framing = b"" if self._http10 else b"Transfer-Encoding: chunked\r\n"
        self._conn.write(self._conn.response_head(status, headers, framing, streaming=True))

    async def write(self, data: bytes) -> None:
        if not data or self._head_only:
            return
        if self._http10:
            self._conn.write(data)
        else:
            self._conn.writelines((b"%x\r\n" % len(data), data, b"\r\n"))
        await self._conn.drain()

    def end(self) -> None:
        if not self._http10 and not self._head_only:
            self._conn.write(b"0\r\n\r\n")
        self.finished = True

    def _begin(self) -> None:
        if self.started:
            raise RuntimeError("response already started")
        self.started = True


App = Callable[[HttpRequest, BodyReader, ResponseWriter], Awaitable[None]]


class _Reject(Exception):
    """A request the connection answers itself, then closes."""

    def __init__(self, status: int, message: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message or f"{status} {http.HTTPStatus(status).phrase}"


_HEAD, _BODY, _WAIT, _DISCARD, _CLOSED = range(5)
_STATUS_LINES: dict[int, bytes] = {}


class _DateHeader:
    """The Date header line, formatted once per second."""

    second = -1
    line = b""

    def get(self) -> bytes:
        now = int(time.time())
        if now != self.second:
            self.second = now
            self.line = b"Date: " + email.utils.formatdate(now, usegmt=True).encode() + b"\r\n"
        return self.line


_date = _DateHeader()


def _status_line(version: bytes, status: int) -> bytes:
    key = status if version == b"HTTP/1.1" else -status
    line = _STATUS_LINES.get(key)
    if line is None:
        try:
            phrase = http.HTTPStatus(status).phrase
        except ValueError:
            phrase = ""
        line = _STATUS_LINES[key] = b"%s %d %s\r\n" % (version, status, phrase.encode())
    return line


class Http1Connection(asyncio.Protocol):
    """One client connection speaking HTTP/1.x to `app`."""

    def __init__(
        self, app: App, on_close: Callable[[Http1Connection], None], client_cn: str | None = None
    ) -> None:
        self._app = app
        self._on_close = on_close
        self._client_cn = client_cn
        self._transport: asyncio.Transport | None = None
        self._buf = bytearray()
        self._scanned = 0  # bytes of _buf already searched for the end of a head
        self._state = _HEAD
        self._reading_paused = False
        self._write_paused = False
        self._drain_waiters: list[asyncio.Future[None]] = []
        self._peer_eof = False
        self._task: asyncio.Task[None] | None = None
        self._reader: BodyReader | None = None
        self._writer: ResponseWriter | None = None
        self._request: HttpRequest | None = None
        self._keep_alive = True
        self._close_after = False
        self._remaining = 0  # Content-Length bytes still to come; -1 while chunked
        self._chunk_left = 0  # data bytes left in the current chunk
        self._chunk_phase = "size"  # size | data | crlf | trailer
        self._discarded = 0
        self._linger: asyncio.TimerHandle | None = None

    # --- asyncio.Protocol ---

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)  # uvloop's are not subclasses

    def data_received(self, data: bytes) -> None:
        if self._state == _CLOSED:
            return
        self._buf += data
        try:
            self._process()
        except _Reject as e:
            self._reject(e)

    def eof_received(self) -> bool:
        """The client will send no more. A request in progress may still be
        answered, but a streaming response is for nobody now: end it."""
        self._peer_eof = True
        if self._state == _CLOSED:
            return False
        if self._reader is not None:
            self._reader.fail(BodyError("client closed the connection before the body ended"))
        if self._task is None or self._task.done():
            return False
        writer = self._writer
        if writer is not None and (writer.started or writer.streaming) and not writer.finished:
            self._task.cancel()
        return True

    def connection_lost(self, exc: Exception | None) -> None:
        self._state = _CLOSED
        if self._linger is not None:
            self._linger.cancel()
        if self._reader is not None:
            self._reader.fail(BodyError("connection lost"))
        if self._task is not None and not self._task.done():
            self._task.cancel()
        for waiter in self._drain_waiters:
            if not waiter.done():
                waiter.set_exception(ConnectionResetError("connection lost"))
        self._drain_waiters.clear()
        self._on_close(self)

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        for waiter in self._drain_waiters:
            if not waiter.done():
                waiter.set_result(None)
        self._drain_waiters.clear()

    # --- used by BodyReader and ResponseWriter ---

    def write(self, data: bytes) -> None:
        if self._state != _CLOSED and self._transport is not None:
            self._transport.write(data)

    def writelines(self, data: tuple[bytes, ...]) -> None:
        if self._state != _CLOSED and self._transport is not None:
            self._transport.writelines(data)

    async def drain(self) -> None:
        if self._state == _CLOSED:
            raise ConnectionResetError("connection lost")
        if self._write_paused:
            waiter = asyncio.get_running_loop().create_future()
            self._drain_waiters.append(waiter)
            await waiter

    def send_continue(self) -> None:
        assert self._request is not None
        self.write(self._request.version.encode() + b" 100 Continue\r\n\r\n")

    def response_head(self, status: int, headers: Headers, framing: bytes, *, streaming: bool) -> bytes:
        assert self._request is not None and self._reader is not None
        version = self._request.version.encode()
        if self._must_close(streaming):
            self._close_after = True
        parts = [_status_line(version, status)]
        parts.extend(f"{name}: {value}\r\n".encode("latin-1") for name, value in headers)
        parts.append(_date.get())
        parts.append(framing)
        if self._close_after:
            parts.append(b"Connection: close\r\n")
        elif version == b"HTTP/1.0":
            parts.append(b"Connection: keep-alive\r\n")
        parts.append(b"\r\n")
        return b"".join(parts)

    def update_reading(self) -> None:
        """Pause or resume reading the socket so unread input stays bounded."""
        if self._transport is None or self._state == _CLOSED:
            return
        if self._state == _BODY and self._reader is not None:
            pause = self._reader.buffered >= BODY_HIGH_WATER
        else:
            pause = len(self._buf) >= PIPELINE_HIGH_WATER
        if pause != self._reading_paused:
            self._reading_paused = pause
            if pause:
                self._transport.pause_reading()
            else:
                self._transport.resume_reading()

    # --- request cycle ---

    def _must_close(self, streaming: bool) -> bool:
        """Whether the connection closes after the response now being written."""
        reader = self._reader
        assert reader is not None
        if not self._keep_alive or self._peer_eof:
            return True
        if streaming and self._request is not None and self._request.version == "HTTP/1.0":
            return True  # the body's end is the connection's end
        if reader.received_all:
            return False
        if reader.continue_pending:
            return True  # the client may or may not send the body now
        # The rest of the body must be skipped to reach the next request: only if it is short.
        return self._remaining < 0 or self._remaining > DISCARD_LIMIT

    def _process(self) -> None:
        while self._state != _CLOSED:
            if self._state == _HEAD:
                if self._task is not None or not self._parse_head():
                    break
            elif self._state in (_BODY, _DISCARD):
                if not self._read_body():
                    break
            else:
                break
        self.update_reading()

    def _parse_head(self) -> bool:
        buf = self._buf
        # Tolerate blank lines before a request line (RFC 9112 §2.2).
        while buf[:2] == b"\r\n" or buf[:1] == b"\n":
            del buf[: 2 if buf[:1] == b"\r" else 1]
        m = _HEAD_END.search(buf, max(0, self._scanned - 3))
        if m is None:
            self._scanned = len(buf)
            if len(buf) > MAX_HEAD:
                raise _Reject(431)
            return False
        head = bytes(buf[: m.start()])
        del buf[: m.end()]
        self._scanned = 0
        if len(head) > MAX_HEAD:
            raise _Reject(431)
        self._begin_request(head)
        return True

    def _begin_request(self, head: bytes) -> None:
        lines = head.split(b"\n")
        line = lines[0].rstrip(b"\r")
        m = _REQUEST_LINE.fullmatch(line)
        if m is None:
            raise _Reject(400)
        method_b, target_b, major, minor = m.groups()
        if major != b"1":
            raise _Reject(505)
        headers: list[tuple[str, str]] = []
        for raw in lines[1:]:
            hm = _HEADER_LINE.fullmatch(raw.rstrip(b"\r"))
            if hm is None or b"\r" in hm.group(2) or b"\x00" in hm.group(2):
                raise _Reject(400, "400 Bad Request: malformed header line")
            headers.append((hm.group(1).decode("ascii").lower(), hm.group(2).decode("latin-1")))
        method = method_b.decode("ascii")
        target = target_b.decode("latin-1")
        version = "HTTP/1.0" if minor == b"0" else "HTTP/1.1"
        path, query = _split_target(target)
        request = HttpRequest(method, target, path, query, version, tuple(headers), client_cn=self._client_cn)
        length, chunked, expect_continue = _framing(request)
        connection = ",".join(v for k, v in headers if k == "connection").lower()
        tokens = {t.strip() for t in connection.split(",")}
        self._keep_alive = "close" not in tokens and (version == "HTTP/1.1" or "keep-alive" in tokens)
        self._close_after = False
        self._request = request
        self._reader = BodyReader(self, None if chunked else length, expect_continue)
        self._writer = ResponseWriter(self, request)
        self._remaining = -1 if chunked else length
        self._chunk_phase = "size"
        self._discarded = 0
        if not chunked and length == 0:
            self._reader.finish()
            self._state = _WAIT
        else:
            self._state = _BODY
        self._task = asyncio.get_running_loop().create_task(self._run(request, self._reader, self._writer))

    def _read_body(self) -> bool:
        """Move body bytes from the buffer to the reader (or drop them when
        discarding); True once the body is complete."""
        assert self._reader is not None
        buf = self._buf
        while True:
            if self._remaining >= 0:  # Content-Length
                take = min(self._remaining, len(buf))
                if take:
                    self._deliver(bytes(buf[:take]))
                    del buf[:take]
                    self._remaining -= take
                if self._remaining:
                    return False
                break
            if not self._read_chunked():
                return False
            break
        self._reader.finish()
        if self._state == _DISCARD:
            self._next_request()
        else:
            self._state = _WAIT
        return True

    def _read_chunked(self) -> bool:
        buf = self._buf
        while True:
            if self._chunk_phase == "size":
                m = _CHUNK_SIZE.match(buf)
                if m is None:
                    if b"\n" in buf[:MAX_CHUNK_LINE] or len(buf) >= MAX_CHUNK_LINE:
                        self._body_error()
                    return False
                self._chunk_left = int(m.group(1), 16)
                del buf[: m.end()]
                self._chunk_phase = "data" if self._chunk_left else "trailer"
            elif self._chunk_phase == "data":
                take = min(self._chunk_left, len(buf))
                if not take:
                    return False
                self._deliver(bytes(buf[:take]))
                del buf[:take]
                self._chunk_left -= take
                if self._chunk_left:
                    return False
                self._chunk_phase = "crlf"
            elif self._chunk_phase == "crlf":
                if len(buf) < 2 and buf[:1] != b"\n":
                    return False
                size = 1 if buf[:1] == b"\n" else 2 if buf[:2] == b"\r\n" else 0
                if not size:
                    self._body_error()
                del buf[:size]
                self._chunk_phase = "size"
            else:  # trailer fields until an empty line
                end = buf.find(b"\n")
                if end < 0:
                    if len(buf) >= MAX_CHUNK_LINE:
                        self._body_error()
                    return False
                line = bytes(buf[:end]).rstrip(b"\r")
                del buf[: end + 1]
                if not line:
                    return True

    def _deliver(self, data: bytes) -> None:
        assert self._reader is not None
        if self._state == _DISCARD:
            self._discarded += len(data)
            if self._discarded > DISCARD_LIMIT:
                raise _Reject(400, "")
        else:
            self._reader.feed(data)

    def _body_error(self) -> None:
        assert self._reader is not None
        self._reader.fail(BodyError("malformed chunked request body"))
        raise _Reject(400, "400 Bad Request: malformed chunked encoding")

    async def _run(self, request: HttpRequest, reader: BodyReader, writer: ResponseWriter) -> None:
        try:
            await self._app(request, reader, writer)
        except (BodyError, ConnectionError, asyncio.CancelledError):
            pass
        except Exception:
            log.exception("HTTP handler failed for %s %s", request.method, request.target)
        finally:
            self._request_done(writer)

    def _request_done(self, writer: ResponseWriter) -> None:
        self._task = None
        if self._state == _CLOSED:
            return
        assert self._transport is not None
        if not writer.finished:
            if writer.started:
                self._close()
                return
            writer.send(500, (("Content-Type", "text/plain; charset=utf-8"),), b"Internal Server Error\n")
        if self._close_after:
            self._close()
            return
        if self._state == _BODY:
            self._state = _DISCARD
        else:
            self._next_request()
        try:
            self._process()
        except _Reject as e:
            self._reject(e)

    def _next_request(self) -> None:
        self._state = _HEAD
        self._reader = None
        self._writer = None
        self._request = None
        if self._peer_eof and not self._buf:
            self._close()

    def _reject(self, e: _Reject) -> None:
        if e.message and (self._writer is None or not self._writer.started):
            self.write(
                b"HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n%s"
                % (e.status, http.HTTPStatus(e.status).phrase.encode(), e.message.encode())
            )
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._close()

    def _close(self) -> None:
        """Close after the pending output; like Go, first half-close and keep
        discarding input for a moment, since closing a socket with unread input
        resets it and the client could lose the response."""
        if self._state == _CLOSED or self._transport is None:
            return
        self._state = _CLOSED
        transport = self._transport
        if self._peer_eof or not transport.can_write_eof():
            transport.close()
            return
        transport.write_eof()
        if self._reading_paused:
            transport.resume_reading()
        self._linger = asyncio.get_running_loop().call_later(LINGER, transport.close)


def _split_target(target: str) -> tuple[str, str]:
    """The percent-decoded path and raw query of a request target."""
    if target == "*":
        return "*", ""
    if not target.startswith("/"):
        m = _ABSOLUTE.match(target)
        if m is None:
            raise _Reject(400)
        target = target[m.end() :] or "/"
        if not target.startswith("/"):
            target = "/" + target
    raw_path, _, query = target.partition("?")
    raw_path = raw_path.partition("#")[0]
    if _BAD_ESCAPE.search(raw_path):
        raise _Reject(400)
    return unquote_to_bytes(raw_path).decode("utf-8", "surrogateescape"), query


def _framing(request: HttpRequest) -> tuple[int, bool, bool]:
    """(Content-Length, chunked?, expects 100-continue?) of a request."""
    te = [v for k, v in request.headers if k == "transfer-encoding"]
    lengths = {v.strip() for k, v in request.headers if k == "content-length"}
    chunked = False
    if te:
        if ",".join(te).strip().lower() != "chunked":
            raise _Reject(501, "501 Not Implemented: unsupported transfer encoding")
        if lengths:
            raise _Reject(400, "400 Bad Request: both Transfer-Encoding and Content-Length")
        chunked = True
    length = 0
    if lengths:
        if len(lengths) > 1:
            raise _Reject(400, "400 Bad Request: conflicting Content-Length")
        (text,) = lengths
        if not text.isdigit() or not text.isascii() or len(text) > 18:
            raise _Reject(400, "400 Bad Request: bad Content-Length")
        length = int(text)
    expect = request.header("expect")
    if expect is not None and expect.lower() != "100-continue":
        raise _Reject(417)
    expect_continue = expect is not None and request.version == "HTTP/1.1" and (chunked or length > 0)
    return length, chunked, expect_continue
