"""What the client port's HTTP/1.1 side serves, routed as etcd 3.5.1 routes it.

In order: `/v3beta/` is rewritten to `/v3/`; CORS headers go on every
response and OPTIONS is answered at once; unclean paths are redirected to
their clean form (Go's ServeMux); `/v3/...` goes to the JSON gateway; other
paths to the pluggable routes, `/health`, `/version` and `/metrics`, else "404 page not
found". Pluggable routes win over the built-in ones; a route ending in "/"
also serves the paths under it.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import Final
from urllib.parse import quote

from etcdpy.api.gateway.gateway import Gateway, body_limit
from etcdpy.api.gateway.health import HealthCheck, serve_version
from etcdpy.api.gateway.http1 import BodyReader, BodyTooLarge, ResponseWriter
from etcdpy.api.gateway.httptypes import (
    NOSNIFF,
    TEXT_PLAIN,
    Handler,
    Headers,
    HttpRequest,
    HttpResponse,
    text_error,
)
from etcdpy.api.gateway.metrics import MetricsRoute

_CORS_METHODS: Final = ("Access-Control-Allow-Methods", "POST, GET, OPTIONS, PUT, DELETE")
_CORS_HEADERS: Final = ("Access-Control-Allow-Headers", "accept, content-type, authorization")
_NOT_FOUND: Final = b"404 page not found\n"
_CN_IGNORED: Final = (
    b"CommonName of client sending a request against gateway will be ignored and not used as expected\n"
)


def clean_path(path: str) -> str:
    """Go's ServeMux path cleaning: no empty, "." or ".." segments; a trailing slash kept."""
    if not path.startswith("/"):
        path = "/" + path
    segments: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if segments:
                segments.pop()
        elif segment and segment != ".":
            segments.append(segment)
    clean = "/" + "/".join(segments)
    if path.endswith("/") and clean != "/":
        clean += "/"
    return clean


class ClientHttpApp:
    """Routes one HTTP request on the client port."""

    def __init__(
        self,
        gateway: Gateway,
        health: HealthCheck,
        metrics: MetricsRoute,
        extra_routes: Mapping[str, Handler],
        cors_origins: Iterable[str],
        max_request_bytes: int,
    ) -> None:
        self._gateway = gateway
        self._routes: dict[str, Handler] = {"/health": health, "/version": _version, "/metrics": metrics}
        self._routes.update(extra_routes)
        self._subtrees = sorted((p for p in self._routes if p.endswith("/")), key=len, reverse=True)
        origins = set(cors_origins)
        self._cors_any = not origins or "*" in origins
        self._cors_origins = origins
        self._max_body = body_limit(max_request_bytes)

    async def __call__(self, request: HttpRequest, body: BodyReader, writer: ResponseWriter) -> None:
        path = request.path
        if path.startswith("/v3beta/"):
            path = "/v3/" + path[len("/v3beta/") :]
        # As etcd: under auth, a verified client certificate's CN is no user for the gateway, and
        # rather than ignore it silently the request is refused.
        if request.client_cn and path.startswith("/v3/") and await self._gateway.auth_enabled():
            writer.send(400, (TEXT_PLAIN, NOSNIFF), _CN_IGNORED)
            return
        cors = self._cors(request)
        if request.method == "OPTIONS":
            writer.send(200, cors)
            return
        if path == "*":
            writer.send(400, (*cors, ("Connection", "close")))
            return
        if request.method != "CONNECT":
            clean = clean_path(path)
            if clean != path:
                _redirect(request, writer, cors, clean)
                return
        if path.startswith("/v3/"):
            await self._gateway.serve(request, path, body, writer, cors)
            return
        handler = self._route(path)
        if handler is None:
            if path == "/v3":
                _redirect(request, writer, cors, "/v3/")
            else:
                writer.send(404, (*cors, TEXT_PLAIN, NOSNIFF), _NOT_FOUND)
            return
        try:
            request.body = await body.read_all(self._max_body)
        except BodyTooLarge:
            response = text_error(413)
        else:
            response = await handler(request)
        writer.send(response.status, (*cors, *response.headers), response.body)

    def _route(self, path: str) -> Handler | None:
        handler = self._routes.get(path)
        if handler is None:
            handler = next((self._routes[p] for p in self._subtrees if path.startswith(p)), None)
        return handler

    def _cors(self, request: HttpRequest) -> Headers:
        if self._cors_any:
            origin = "*"
        else:
            origin = request.header("origin") or ""
            if origin not in self._cors_origins:
                return ()
        return (_CORS_HEADERS, _CORS_METHODS, ("Access-Control-Allow-Origin", origin))


async def _version(request: HttpRequest) -> HttpResponse:
    return serve_version(request)


def _redirect(request: HttpRequest, writer: ResponseWriter, cors: Headers, path: str) -> None:
    """Go's http.Redirect with 301 Moved Permanently."""
    url = quote(path, safe="/:@!$&'()*+,;=-._~")
    if request.query:
        url += "?" + request.query
    headers = (*cors, ("Location", url))
    if request.method in ("GET", "HEAD"):
        page = f'<a href="{html.escape(url)}">Moved Permanently</a>.\n\n'.encode()
        writer.send(301, (*headers, ("Content-Type", "text/html; charset=utf-8")), page)
    else:
        writer.send(301, headers)
