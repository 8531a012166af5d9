"""etcd's JSON gateway: `/v3/...` HTTP requests served as gRPC calls to the server.

Behaviour is grpc-gateway v1.16's as etcd 3.5.1 configures it: request bodies
decoded by `jsonpb`, unary answers as one JSON object, streams as chunked
newline-delimited `{"result": ...}` objects ending, on failure, with an
un-delimited `{"error": {...}}`. Errors carry the gRPC status message and
code, and the HTTP status grpc-gateway maps the code to. HTTP headers become
gRPC metadata: `Authorization` as `token`, `Grpc-Metadata-*` with the prefix
removed (`-bin` values base64-decoded); `Grpc-Timeout` sets the deadline.
Going beyond etcd, PUT is accepted wherever POST is.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import re
from typing import Any, Final

import grpc
from google.protobuf.message import Message

from etcdpy.api import errors
from etcdpy.api.gateway import gobase64, gojson, jsonpb
from etcdpy.api.gateway.gojson import GoJSONError
from etcdpy.api.gateway.http1 import BodyError, BodyReader, BodyTooLarge, ResponseWriter
from etcdpy.api.gateway.httptypes import APPLICATION_JSON, Headers, HttpRequest, text_error
from etcdpy.api.gateway.routes import ROUTES, Route
from etcdpy.api.pb.etcdserverpb import rpc_pb2

_C = grpc.StatusCode
_EOF: Final[object] = grpc.aio.EOF  # type: ignore[attr-defined]  # absent from grpc-stubs
_GRPC_CONTENT_TYPE: Final = ("Grpc-Metadata-Content-Type", "application/grpc")
_METHODS: Final = ("POST", "PUT")
_METADATA_PREFIX: Final = "grpc-metadata-"
_MD_KEY: Final = re.compile(r"[0-9a-z_.-]+")
_MD_VALUE: Final = re.compile(r"[\x20-\x7e]*")
_TIMEOUT: Final = re.compile(r"([+-]?[0-9]{1,18})([HMSmun])")
_TIMEOUT_UNITS: Final = {"H": 3600.0, "M": 60.0, "S": 1.0, "m": 1e-3, "u": 1e-6, "n": 1e-9}
# gRPC Python does not enforce deadlines much under a millisecond: shorter ones count as expired.
_MIN_TIMEOUT: Final = 1e-3


class _Status(Exception):
    """A gRPC status the gateway reports: from the server or its own checks."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @classmethod
    def of(cls, e: grpc.aio.AioRpcError) -> _Status:
        message = e.details() or ""
        if e.code() == _C.DEADLINE_EXCEEDED and message == "Deadline Exceeded":
            message = "context deadline exceeded"  # the deadline was ours: say it as Go's context does
        return cls(e.code(), message)

    @property
    def http_status(self) -> int:
        return errors.HTTP_STATUS_BY_CODE.get(self.code, 500)

    def body(self) -> bytes:
        message = gojson.encode_string(self.message)
        return f'{{"error":{message},"code":{self.code.value[0]},"message":{message}}}'.encode()

    def stream_chunk(self) -> bytes:
        status = self.http_status
        parts = [f'"grpc_code":{self.code.value[0]}', f'"http_code":{status}']
        if self.message:
            parts.append(f'"message":{gojson.encode_string(self.message)}')
        parts.append(f'"http_status":{gojson.encode_string(http.HTTPStatus(status).phrase)}')
        return ('{"error":{' + ",".join(parts) + "}}").encode()


_TOO_LARGE: Final = _Status(errors.REQUEST_TOO_LARGE.code, errors.REQUEST_TOO_LARGE.message)
# A stream whose client went away before its first answer: Go cancels the request's context.
_CANCELED: Final = _Status(_C.CANCELLED, "context canceled")


def _canonical(header: str) -> str:
    """Go's canonical MIME header key: "grpc-metadata-x" -> "Grpc-Metadata-X"."""
    return "-".join(part[:1].upper() + part[1:] for part in header.split("-"))


def call_options(request: HttpRequest) -> tuple[list[tuple[str, str | bytes]], float | None]:
    """The gRPC metadata and timeout (seconds) an HTTP request asks for."""
    metadata: list[tuple[str, str | bytes]] = []
    timeout: float | None = None
    for name, value in request.headers:
        if name == "authorization":
            key = "token"
        elif name.startswith(_METADATA_PREFIX):
            key = name[len(_METADATA_PREFIX) :]
        elif name == "grpc-timeout":
            timeout = _timeout(value)
            continue
        else:
            continue
        if not _MD_KEY.fullmatch(key):
            continue
        if key.endswith("-bin"):
            raw = value.encode("latin-1")
            try:
                metadata.append((key, gobase64.decode(raw, padded=len(raw) % 4 == 0)))
            except gobase64.Base64Error as e:
                raise _Status(_C.INVALID_ARGUMENT, f"invalid binary header {_canonical(name)}: {e}") from None
        elif _MD_VALUE.fullmatch(value):
            metadata.append((key, value))
    return metadata, timeout


def _timeout(value: str) -> float | None:
    m = _TIMEOUT.fullmatch(value)
    if m is None:
        raise _Status(_C.INVALID_ARGUMENT, f"invalid grpc-timeout: {value}")
    seconds = int(m.group(1)) * _TIMEOUT_UNITS[m.group(2)]
    if seconds == 0:
        return None
    if seconds < _MIN_TIMEOUT:
        raise _Status(_C.DEADLINE_EXCEEDED, "context deadline exceeded")
    return seconds


def _result_line(msg: Message) -> bytes:
    return b'{"result":' + jsonpb.encode(msg).encode() + b"}\n"


def body_limit(max_request_bytes: int) -> int:
    """The largest request body read: room for the base64 and JSON of the largest
    message the server accepts (max_request_bytes plus gRPC's 512 KiB margin)."""
    return 2 * max_request_bytes + (1 << 20)


class Gateway:
    """Serves `/v3/...` requests through a gRPC channel to the server."""

    def __init__(self, channel: grpc.aio.Channel, max_request_bytes: int) -> None:
        self._max_body = body_limit(max_request_bytes)
        self._calls = {path: _multicallable(channel, route) for path, route in ROUTES.items()}
        self._auth_status = channel.unary_unary(
            "/etcdserverpb.Auth/AuthStatus",
            rpc_pb2.AuthStatusRequest.SerializeToString,
            rpc_pb2.AuthStatusResponse.FromString,
        )

    async def auth_enabled(self) -> bool:
        """Whether the server has authentication on now (False if it cannot tell). Asked without
        credentials, a server with authentication on refuses to say: that refusal is the answer."""
        try:
            resp = await self._auth_status(rpc_pb2.AuthStatusRequest(), timeout=5)
        except grpc.aio.AioRpcError as e:
            return e.details() == errors.USER_EMPTY.message
        return bool(resp.enabled)

    async def serve(
        self, request: HttpRequest, path: str, body: BodyReader, writer: ResponseWriter, headers: Headers
    ) -> None:
        """Answer a request for `path` (under /v3/); every response carries `headers`."""
        last = path.rpartition("/")[2]
        route = None if ":" in last else ROUTES.get(path)  # grpc-gateway reads ":x" as a verb: none match
        if route is None:
            writer.send(404, *_text(404, headers))
            return
        if request.method not in _METHODS:
            writer.send(405, *_text(405, headers))
            return
        call = self._calls[path]
        try:
            metadata, timeout = call_options(request)
            if route.client_streaming or route.server_streaming:
                writer.streaming = True
                try:
                    if route.client_streaming:
                        await self._bidi(call, route, metadata, timeout, body, writer, headers)
                    else:
                        msg = await self._read_request(body, route)
                        await _forward(call(msg, metadata=metadata, timeout=timeout), writer, headers, True)
                except asyncio.CancelledError:
                    if not writer.started and not writer.finished:  # the client left first
                        writer.start(_CANCELED.http_status, (*headers, APPLICATION_JSON))
                        await writer.write(_CANCELED.stream_chunk())
                        writer.end()
                    raise
            else:
                msg = await self._read_request(body, route)
                try:
                    reply = await call(msg, metadata=metadata, timeout=timeout)
                except grpc.aio.AioRpcError as e:
                    raise _Status.of(e) from None
                out = jsonpb.encode(reply).encode()
                writer.send(200, (*headers, APPLICATION_JSON, _GRPC_CONTENT_TYPE), out)
        except _Status as e:
            writer.send(e.http_status, (*headers, APPLICATION_JSON), e.body())

    async def _read_request(self, body: BodyReader, route: Route) -> Message:
        try:
            return jsonpb.decode(await body.read_all(self._max_body), route.request)
        except BodyTooLarge:
            raise _TOO_LARGE from None
        except BodyError:
            # The client ended the body early: Go's decoder reports it as this.
            raise _Status(_C.INVALID_ARGUMENT, "unexpected EOF") from None
        except GoJSONError as e:
            raise _Status(_C.INVALID_ARGUMENT, e.message) from None

    async def _bidi(
        self,
        call: Any,
        route: Route,
        metadata: list[tuple[str, str | bytes]],
        timeout: float | None,
        body: BodyReader,
        writer: ResponseWriter,
        headers: Headers,
    ) -> None:
        requests = _RequestStream(body, route.request, self._max_body)
        try:
            first = await requests.next()
        except GoJSONError as e:
            # Not a gRPC status in grpc-gateway either: it reports Unknown.
            raise _Status(_C.UNKNOWN, e.message) from None
        except BodyTooLarge:
            raise _TOO_LARGE from None
        stream = call(metadata=metadata, timeout=timeout)
        pump = None
        if first is None:
            await stream.done_writing()
        else:
            pump = asyncio.get_running_loop().create_task(_pump(requests, stream, first))
        try:
            await _forward(stream, writer, headers, first is not None)
        finally:
            if pump is not None:
                pump.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pump


class _RequestStream:
    """The successive JSON values of a streamed request body, as messages."""

    def __init__(self, body: BodyReader, cls: type[Message], limit: int) -> None:
        self._body = body
        self._cls = cls
        self._limit = limit
        self._buf = b""
        self._eof = False

    async def next(self) -> Message | None:
        """The next message; None at the end of the body."""
        while True:
            try:
                node = gojson.first_value(self._buf, final=self._eof)
            except gojson.Incomplete:
                if len(self._buf) > self._limit:
                    raise BodyTooLarge from None
                data = await self._body.read()
                if data:
                    self._buf += data
                else:
                    self._eof = True
                continue
            if node is None:
                return None
            msg = jsonpb.decode_node(self._buf, node, self._cls)
            self._buf = self._buf[node.end :]
            return msg


async def _pump(requests: _RequestStream, stream: Any, first: Message) -> None:
    """Send the body's messages on the stream until the body ends or fails to decode."""
    try:
        msg: Message | None = first
        while msg is not None:
            await stream.write(msg)
            msg = await requests.next()
    except (GoJSONError, BodyTooLarge, BodyError, grpc.aio.AioRpcError, asyncio.InvalidStateError):
        pass
    with contextlib.suppress(grpc.aio.AioRpcError, asyncio.InvalidStateError):
        await stream.done_writing()


async def _forward(stream: Any, writer: ResponseWriter, headers: Headers, server_headers: bool) -> None:
    """Relay a response stream as chunked JSON lines. `server_headers`: whether the
    server's response headers were read before the first message (as grpc-gateway
    does unless a bidi body is empty), which shows as Grpc-Metadata-Content-Type."""
    try:
        while True:
            try:
                reply = await stream.read()
            except grpc.aio.AioRpcError as e:
                error = _Status.of(e)
                if not writer.started:
                    writer.start(error.http_status, (*headers, APPLICATION_JSON))
                await writer.write(error.stream_chunk())
                break
            if reply is _EOF:
                if not writer.started:
                    writer.start(200, (*headers, APPLICATION_JSON))
                break
            if not writer.started:
                extra = (_GRPC_CONTENT_TYPE,) if server_headers else ()
                writer.start(200, (*headers, APPLICATION_JSON, *extra))
            await writer.write(_result_line(reply))
        writer.end()
    finally:
        stream.cancel()


def _text(status: int, headers: Headers) -> tuple[Headers, bytes]:
    response = text_error(status, headers)
    return response.headers, response.body


def _multicallable(channel: grpc.aio.Channel, route: Route) -> Any:
    serialize = route.request.SerializeToString
    deserialize = route.response.FromString
    if route.client_streaming:
        return channel.stream_stream(route.method, serialize, deserialize)
    if route.server_streaming:
        return channel.unary_stream(route.method, serialize, deserialize)
    return channel.unary_unary(route.method, serialize, deserialize)
