"""The HTTP/1.1 request and response values handlers see."""

from __future__ import annotations

import dataclasses
import http
from collections.abc import Awaitable, Callable, Sequence

Headers = Sequence[tuple[str, str]]


@dataclasses.dataclass(slots=True)
class HttpRequest:
    """One request. Header names are lower-case, in arrival order; `path` is
    percent-decoded, `query` is raw; `body` is filled in for pluggable routes."""

    method: str
    target: str
    path: str
    query: str
    version: str
    headers: Headers
    body: bytes = b""
    # The CN of the connection's client certificate, when certificates are required and verified.
    client_cn: str | None = None

    def header(self, name: str) -> str | None:
        """The first value of header `name` (lower-case), if present."""
        for key, value in self.headers:
            if key == name:
                return value
        return None


@dataclasses.dataclass(slots=True)
class HttpResponse:
    """A complete response; the listener adds Date, Content-Length and connection headers."""

    status: int
    body: bytes = b""
    headers: Headers = ()


Handler = Callable[[HttpRequest], Awaitable[HttpResponse]]

TEXT_PLAIN = ("Content-Type", "text/plain; charset=utf-8")
NOSNIFF = ("X-Content-Type-Options", "nosniff")
APPLICATION_JSON = ("Content-Type", "application/json")


def text_error(status: int, extra: Headers = ()) -> HttpResponse:
    """Go's http.Error with the status text as message."""
    message = http.HTTPStatus(status).phrase
    return HttpResponse(status, message.encode() + b"\n", (*extra, TEXT_PLAIN, NOSNIFF))
