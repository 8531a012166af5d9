"""GET /members and GET /version on the peer port, as etcd's peer handler answers them.

A joining member (--initial-cluster-state existing) and tools learn the cluster from a peer
URL this way. Only body-less GET requests matter here, so this is a deliberately small
HTTP/1.1 server: keep-alive, a bounded request head, and a connection that is closed after
answering any request that carries a body. `fetch_cluster` is the matching client.
"""

from __future__ import annotations

import asyncio
import email.utils
import http.client
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from etcdpy.pkg import timeouts
from etcdpy.pkg.tlsutil import TLSInfo
from etcdpy.server.membership import Member
from etcdpy.server.transport.endpoints import parse_peer_url
from etcdpy.version import SERVER_VERSION

_HEAD_END = b"\r\n\r\n"
_JSON = "application/json"
_TEXT = "text/plain; charset=utf-8"
_NOT_DECIDED = "not_decided"


@dataclass(frozen=True, slots=True)
class PeerHttpSource:
    cluster_id: int
    members: Callable[[], Sequence[Member]]
    cluster_version: Callable[[], str | None]


@dataclass(frozen=True, slots=True)
class RemoteCluster:
    """What a peer's GET /members tells: the cluster ID (X-Etcd-Cluster-ID) and its members."""

    cluster_id: int
    members: list[Member]


def members_json(members: Sequence[Member]) -> bytes:
    """etcd's JSON of membership.Member: empty name, client URLs and a false isLearner are omitted."""
    return json.dumps([m.to_dict() for m in members], separators=(",", ":")).encode() + b"\n"


async def serve(
    first: bytes,
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    src: PeerHttpSource,
    idle_timeout: float,
) -> None:
    """Answer requests on a connection whose first byte (already read) is `first`.

    The request head is bounded by the reader's limit (asyncio.LimitOverrunError beyond it)."""
    head = first
    while True:
        try:
            head += await timeouts.wait_for(reader.readuntil(_HEAD_END), idle_timeout)
        except asyncio.LimitOverrunError:
            writer.write(_response(431, b"431 Request Header Fields Too Large", _TEXT, (), close=True))
            await writer.drain()
            return
        try:
            method, path, version, headers = _parse_head(head)
        except ValueError:
            writer.write(_response(400, b"400 Bad Request", _TEXT, (), close=True))
            await writer.drain()
            return
        close = (
            version != "HTTP/1.1"
            or headers.get("connection", "").lower() == "close"
            or "transfer-encoding" in headers
            or headers.get("content-length", "0") != "0"
        )
        writer.write(_route(method, path, src, close))
        await writer.drain()
        if close:
            return
        head = b""


def _parse_head(head: bytes) -> tuple[str, str, str, dict[str, str]]:
    request_line, *lines = head.decode("latin-1").split("\r\n")
    method, target, version = request_line.split(" ")
    headers = {}
    for line in lines:
        if line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    return method, urlsplit(target).path, version, headers


def _route(method: str, path: str, src: PeerHttpSource, close: bool) -> bytes:
    if path not in ("/members", "/version"):
        return _response(404, b"404 page not found\n", _TEXT, (), close)
    if method != "GET":
        return _response(405, b"Method Not Allowed\n", _TEXT, (("Allow", "GET"),), close)
    if path == "/members":
        cid = (("X-Etcd-Cluster-Id", f"{src.cluster_id:x}"),)
        return _response(200, members_json(src.members()), _JSON, cid, close)
    version = {"etcdserver": SERVER_VERSION, "etcdcluster": src.cluster_version() or _NOT_DECIDED}
    return _response(200, json.dumps(version, separators=(",", ":")).encode(), _JSON, (), close)


def _response(
    status: int, body: bytes, content_type: str, extra: Sequence[tuple[str, str]], close: bool
) -> bytes:
    lines = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}", f"Content-Type: {content_type}"]
    if content_type == _TEXT:
        lines.append("X-Content-Type-Options: nosniff")
    lines += [f"{k}: {v}" for k, v in extra]
    lines += [f"Date: {email.utils.formatdate(usegmt=True)}", f"Content-Length: {len(body)}"]
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def fetch_cluster(peer_urls: Sequence[str], timeout: float, tls: TLSInfo | None = None) -> RemoteCluster:
    """GET /members from the first of `peer_urls` that answers (blocking; run it in a thread from a loop);
    https:// URLs are asked over TLS with the member's peer TLS settings `tls`.

    Raises OSError when none answers, ValueError when an answer is malformed."""
    errors = []
    client_ssl = tls.client_context() if tls is not None and not tls.empty() else None
    for url in peer_urls:
        addr = parse_peer_url(url)
        conn: http.client.HTTPConnection
        if addr.secure:
            context = addr.dial_options(client_ssl)["ssl"]
            conn = http.client.HTTPSConnection(addr.host, addr.port, timeout=timeout, context=context)
        else:
            conn = http.client.HTTPConnection(addr.host, addr.port, timeout=timeout)
        try:
            conn.request("GET", "/members")
            resp = conn.getresponse()
            body = resp.read()
            if resp.status != 200:
                errors.append(f"{url}: HTTP {resp.status}")
                continue
            return RemoteCluster(int(resp.headers["X-Etcd-Cluster-Id"], 16), _parse_members(body))
        except OSError as exc:
            errors.append(f"{url}: {exc}")
        finally:
            conn.close()
    raise OSError(f"could not retrieve cluster information from the given URLs: {'; '.join(errors)}")


def _parse_members(body: bytes) -> list[Member]:
    return [Member.from_dict(m) for m in json.loads(body)]
