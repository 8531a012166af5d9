"""Bad input over HTTP/1.x, differential: the same bytes to reference etcd 3.5.1's client port
and to etcd-py's.

JSON gateway requests must get the same status, meaningful headers and JSON body. Requests
broken at the HTTP/1.1 level are compared on the behaviour that matters to a client (the
final responses and whether the connection ends); Go's own plain-text error texts are
compared only where a case says so. After every test both servers must still serve, hold
the same data and the sentinel. Known differences are strict xfails naming the difference;
inputs where etcd's own behaviour is not sensible are checked on etcd-py alone.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.badinput import _known as known
from tests.badinput._http import exchange, request
from tests.badinput._servers import Pair, pair

pytestmark = [
    pytest.mark.reference,
]

MAX_REQUEST_BYTES = 1572864
FOO = base64.b64encode(b"foo").decode()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def jcase(
    path: str,
    body: Any,
    id: str,
    method: str = "POST",
    headers: dict[str, str] | None = None,
    xfail: str | None = None,
) -> Any:
    data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
    marks = [pytest.mark.xfail(strict=True, reason=xfail)] if xfail else []
    return pytest.param(method, path, data, headers or {}, id=id, marks=marks)


TXN_PUT = {"request_put": {"key": FOO, "value": b64(b"1")}}
GETS = [{"request_range": {"key": b64(b"k%d" % i)}} for i in range(129)]

JSON_CASES = [
    # Requests etcd's server refuses.
    jcase("/v3/kv/range", {"key": ""}, "range-empty-key"),
    jcase("/v3/kv/range", {}, "range-no-key"),
    jcase("/v3/kv/range", None, "range-no-body"),
    jcase("/v3/kv/put", {"value": b64(b"v")}, "put-empty-key"),
    jcase("/v3/kv/deleterange", {"range_end": "AA=="}, "delete-empty-key"),
    jcase("/v3/kv/put", {"key": FOO, "value": "YQ==", "ignore_value": True}, "put-value-provided"),
    jcase("/v3/kv/put", {"key": FOO, "lease": "7", "ignore_lease": True}, "put-lease-provided"),
    jcase("/v3/kv/put", {"key": FOO, "lease": "7"}, "put-lease-not-found"),
    jcase("/v3/kv/put", {"key": b64(b"nope"), "ignore_value": True}, "put-ignore-value-missing"),
    jcase("/v3/kv/txn", {"success": GETS}, "txn-129-ops"),
    jcase("/v3/kv/txn", {"compare": [{"key": FOO}] * 129}, "txn-129-compares"),
    jcase("/v3/kv/txn", {"success": [TXN_PUT, TXN_PUT]}, "txn-dup-key"),
    jcase("/v3/kv/txn", {"success": [TXN_PUT, {"request_txn": {"success": [TXN_PUT]}}]}, "txn-dup-nested"),
    jcase(
        "/v3/kv/txn",
        {"success": [{"request_delete_range": {"key": "AA==", "range_end": b64(b"z")}}, TXN_PUT]},
        "txn-put-in-deleted-range",
    ),
    jcase("/v3/kv/txn", {"success": [{}]}, "txn-empty-op"),
    jcase("/v3/kv/txn", {"compare": [{"target": "VALUE", "value": "YQ=="}]}, "txn-compare-empty-key"),
    jcase("/v3/kv/range", {"key": FOO, "revision": "1000000"}, "range-future-revision"),
    jcase("/v3/kv/range", {"key": FOO, "revision": "-1"}, "range-negative-revision"),
    jcase("/v3/kv/compaction", {"revision": "1000000"}, "compact-future"),
    jcase("/v3/lease/grant", {"TTL": "9000000001"}, "lease-ttl-too-large"),
    jcase("/v3/lease/revoke", {"ID": "999"}, "lease-revoke-missing"),
    # Malformed JSON.
    *[
        jcase("/v3/kv/range", raw, f"syntax-{i}")
        for i, raw in enumerate(
            [
                b'{"key":',
                b"{",
                b"}",
                b"nul",
                b"tru",
                b"[",
                b'{"key":"Zm9v",}',
                b"{'key':'Zm9v'}",
                b'{"key":"Zm9v"}}',
                b'{"key":"Zm9v"} {"key":"YQ=="}',
                b'{"key":"\\u00"}',
                b'{"key":"Zm9v\x01"}',
                b'\xef\xbb\xbf{"key":"Zm9v"}',
                b'{"key":"Zm9v","limit":NaN}',
                b'{"key":"Zm9v","limit":01}',
                b'{"key":"Zm9v","limit":-0}',
                b'{"key":"Zm9v","limit":1e999}',
                b"[" * 20000,
                b'{"key":"\xff\xfe"}',
                b'{"key":"\\ud800"}',
                b"\x00",
                b"\xff\xfe{}",
                b'{"key" "Zm9v"}',
                b'{"key":"Zm9v"',
                b" ",
            ]
        )
    ],
    # Well-formed JSON of the wrong types.
    *[
        jcase("/v3/kv/range", body, f"type-{i}")
        for i, body in enumerate(
            [
                {"key": 5},
                {"key": True},
                {"key": None},
                {"key": {}},
                {"key": []},
                {"key": [1, 2, 300]},
                {"key": "Zm9v!"},
                {"key": "Zm9"},
                {"key": "-_-_"},
                {"key": "Zm9v\n"},
                {"key": "Zm 9v"},
                {"key": FOO, "limit": "x"},
                {"key": FOO, "limit": 1.5},
                {"key": FOO, "limit": "1.5"},
                {"key": FOO, "limit": True},
                {"key": FOO, "limit": "9223372036854775808"},
                {"key": FOO, "limit": 9223372036854775808},
                {"key": FOO, "limit": -1},
                {"key": FOO, "limit": []},
                {"key": FOO, "revision": {}},
                {"key": FOO, "keys_only": "true"},
                {"key": FOO, "keys_only": 1},
                {"key": FOO, "sort_order": True},
                {"key": FOO, "sort_order": "NOPE"},
                {"key": FOO, "sort_order": 1.0},
                {"key": FOO, "sort_target": "ASCEND"},
                {"key": FOO, "serializable": None},
                {"key": FOO, "x": {"y": [1]}},
                {"Key": FOO},
                {"KEY": FOO},
                {"rangeEnd": "AA==", "key": "AA==", "countOnly": True},
            ]
        )
    ],
    *[
        jcase("/v3/kv/txn", body, f"txn-type-{i}")
        for i, body in enumerate(
            [
                {"success": {}},
                {"success": [5]},
                {"success": [None]},
                {"success": [{"request_put": []}]},
                {"success": [{"request_put": {"key": 1}}]},
                {"compare": [{"key": FOO, "target": "NOPE"}]},
                {"compare": [{"key": FOO, "result": 99}]},
                {"compare": [{"key": FOO, "target": 99}]},
                {"compare": [{"key": FOO, "version": "x"}]},
                {"compare": "x"},
                {"success": [{"request_put": {"key": FOO}, "request_range": {"key": FOO}}]},
            ]
        )
    ],
    jcase("/v3/lease/grant", {"TTL": "abc"}, "lease-ttl-string"),
    jcase("/v3/lease/grant", {"TTL": 60, "ID": {}}, "lease-id-object"),
    jcase("/v3/maintenance/status", [], "status-array"),
    jcase("/v3/cluster/member/list", {"linearizable": "yes"}, "member-list-bad-bool"),
    # Headers the gateway turns into gRPC metadata and deadlines.
    *[
        jcase("/v3/kv/range", {"key": FOO}, f"header-{i}", headers=h)
        for i, h in enumerate(
            [
                {"Grpc-Timeout": "abc"},
                {"Grpc-Timeout": "1n"},
                {"Grpc-Timeout": "99999999999999999999S"},
                {"Grpc-Timeout": "-5S"},
                {"Grpc-Metadata-Foo-Bin": "!!!"},
                {"Grpc-Metadata-Client-Api-Version": "zz"},
                {"Grpc-Metadata-Hasleader": "true"},
            ]
        )
    ],
    jcase(
        "/v3/kv/range",
        {"key": FOO},
        "header-authorization",
        headers={"Authorization": "garbage"},
    ),
    # Content types are not looked at.
    jcase(
        "/v3/kv/range",
        {"key": FOO},
        "content-type-form",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    ),
    jcase("/v3/kv/range", {"key": FOO}, "content-type-grpc", headers={"Content-Type": "application/grpc"}),
    jcase(
        "/v3/kv/range",
        b'{"key":"Zm9v"}',
        "content-type-protobuf",
        headers={"Content-Type": "application/x-protobuf"},
    ),
    # Unknown paths (404) and wrong methods (405).
    *[
        jcase(path, {"key": FOO}, f"path-{i}")
        for i, path in enumerate(
            [
                "/v3/kv/nope",
                "/v3/nope",
                "/v3/kv",
                "/v3",
                "/v3/",
                "/nope",
                "/v3/kv/range/",
                "/v3/kv/range:watch",
                "/V3/kv/range",
                "/v3//kv/range",
                "/v3/kv/./range",
                "/v3/kv/../kv/range",
                "/v3/kv/range?x=1",
                "/v3beta/kv/range",
                "/v3alpha/kv/range",
                "/v3/kv/range%00",
                "/v3/kv/%72ange",
                "/%zz",
                "/v3/watch/",
                "/health/",
                "/version/x",
            ]
        )
    ],
    *[
        jcase(path, None, f"method-{m.lower()}-{path.strip('/').replace('/', '-')}", method=m)
        for m, path in [
            ("GET", "/v3/kv/range"),
            ("DELETE", "/v3/kv/range"),
            ("PATCH", "/v3/kv/put"),
            ("HEAD", "/v3/kv/txn"),
            ("TRACE", "/v3/kv/range"),
            ("FOO", "/v3/kv/range"),
            ("OPTIONS", "/v3/kv/range"),
            ("POST", "/health"),
            ("DELETE", "/version"),
            ("PUT", "/health"),
            ("GET", "/v3/nope"),
        ]
    ],
    jcase("/v3/kv/range", {"key": FOO}, "method-put", method="PUT", xfail=known.PUT_AS_POST),
    jcase("/v3/kv/range#frag", {"key": FOO}, "path-with-fragment", xfail=known.FRAGMENT),
    # Oversize requests.
    jcase("/v3/kv/put", {"key": FOO, "value": b64(b"v" * (MAX_REQUEST_BYTES - 1000))}, "put-under-limit"),
    jcase("/v3/kv/put", {"key": FOO, "value": b64(b"v" * (MAX_REQUEST_BYTES + 100))}, "put-over-limit"),
    jcase(
        "/v3/kv/put",
        {"key": FOO, "value": b64(b"v" * 2_200_000)},
        "put-over-transport-limit",
        xfail=known.TRANSPORT,
    ),
    jcase(
        "/v3/kv/put",
        {"key": FOO, "value": b64(b"v" * 3_500_000)},
        "put-over-body-limit",
        xfail=known.BIG_BODY,
    ),
    jcase("/v3/kv/range", {"key": b64(b"R" * (MAX_REQUEST_BYTES + 1000))}, "range-big-key"),
    # Binary data round trips.
    jcase("/v3/kv/put", {"key": b64(b"\x00\xff\xc3\x28"), "value": b64(b"\x00\x80\xfe")}, "put-binary"),
    jcase("/v3/kv/range", {"key": b64(b"\x00\xff\xc3\x28")}, "range-binary"),
    jcase("/v3/kv/put", {"key": b64("<html&>\u2028".encode()), "value": ""}, "put-empty-value-html-key"),
    jcase("/v3/kv/range", {"key": b64("<html&>\u2028".encode())}, "range-html-key"),
]


@pytest.fixture(scope="module")
def servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    with pair(tmp_path_factory.mktemp("badinput-http")) as p:
        yield p


@pytest.fixture(autouse=True)
def _still_intact(servers: Pair) -> Iterator[None]:
    yield
    servers.assert_intact()


@pytest.mark.parametrize(("method", "path", "body", "headers"), JSON_CASES)
def test_gateway_same_answer_as_etcd(
    servers: Pair, method: str, path: str, body: bytes | None, headers: dict[str, str]
) -> None:
    before = (servers.ref.revision(), servers.ours.revision())
    want = request(servers.ref.port, method, path, body, headers)
    got = request(servers.ours.port, method, path, body, headers)
    assert got.comparable() == want.comparable()
    if want.responses and want.responses[-1].status >= 400:
        assert (servers.ref.revision(), servers.ours.revision()) == before, (
            "a rejected request changed the store"
        )


def test_put_method_deviation(servers: Pair) -> None:
    """Documented: etcd-py's gateway serves PUT as POST, etcd answers 405."""
    body = json.dumps({"key": FOO}).encode()
    assert request(servers.ref.port, "PUT", "/v3/kv/range", body).responses[0].status == 405
    assert request(servers.ours.port, "PUT", "/v3/kv/range", body).responses[0].status == 200


RB = b'{"key":"Zm9v"}'
POST = b"POST /v3/kv/range HTTP/1.1\r\nHost: x\r\n"
GET_VERSION = b"GET /version HTTP/1.1\r\nHost: x\r\n"
CLOSE = b"Connection: close\r\n"


def with_length(head: bytes, body: bytes) -> bytes:
    return head + b"Content-Length: %d\r\n\r\n" % len(body) + body


def chunked(head: bytes, chunks: bytes) -> bytes:
    return head + b"Transfer-Encoding: chunked\r\n\r\n" + chunks


def rcase(
    data: bytes,
    id: str,
    *,
    bodies: bool = True,
    half_close: bool = False,
    idle: float = 0.5,
    xfail: str | None = None,
) -> Any:
    """`idle`: how long a silent server may still be about to answer or close."""
    marks = [pytest.mark.xfail(strict=True, reason=xfail)] if xfail else []
    return pytest.param(data, bodies, half_close, idle, id=id, marks=marks)


RAW_CASES = [
    # Framing errors answered by the HTTP server itself (Go's texts compared only where noted).
    rcase(POST + b"Content-Length: abc\r\n\r\n" + RB, "content-length-not-a-number", bodies=False),
    rcase(POST + b"Content-Length: -5\r\n\r\n" + RB, "content-length-negative", bodies=False),
    rcase(
        POST + b"Content-Length: 14\r\nContent-Length: 15\r\n\r\n" + RB,
        "content-length-conflicting",
        bodies=False,
    ),
    rcase(POST + b"Content-Length: 99999999999999999999\r\n\r\n", "content-length-huge", bodies=False),
    rcase(POST + b"Transfer-Encoding: gzip\r\n\r\n", "transfer-encoding-unknown", bodies=False),
    rcase(GET_VERSION + b"BadHeader\r\n\r\n", "header-without-colon", bodies=False),
    rcase(GET_VERSION + b"Bad Header: v\r\n\r\n", "header-name-with-space", bodies=False),
    rcase(GET_VERSION + b"X-A : v\r\n\r\n", "space-before-colon", bodies=False),
    rcase(GET_VERSION + b"X-A: b\x00c\r\n\r\n", "nul-in-header-value", bodies=False),
    rcase(GET_VERSION + b"X-Big: " + b"a" * (1 << 20) + b"\r\n" + CLOSE + b"\r\n", "header-1mib"),
    # Go closes 0.5 s after answering this one.
    rcase(GET_VERSION + b"X-Big: " + b"a" * ((1 << 20) + 8192) + b"\r\n\r\n", "header-over-limit", idle=2.0),
    rcase(GET_VERSION + b"X-A: b\r\n" * 20000 + CLOSE + b"\r\n", "many-headers"),
    rcase(b"GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n", "bad-percent-escape", bodies=False),
    rcase(b"GET /version HTTP/1.1\r\n\r\n", "missing-host", bodies=False, xfail=known.GO_HOST),
    rcase(GET_VERSION + b"Host: y\r\n\r\n", "two-hosts", bodies=False, xfail=known.GO_HOST),
    rcase(
        b"CONNECT x:1 HTTP/1.1\r\nHost: x\r\n" + CLOSE + b"\r\n", "connect", bodies=False, xfail=known.CONNECT
    ),
    rcase(GET_VERSION + b"Expect: teapot\r\n\r\n", "expect-unknown", bodies=False),
    # Bodies: chunked, short, cut off.
    rcase(chunked(POST + CLOSE, b"%x\r\n%s\r\n0\r\n\r\n" % (len(RB), RB)), "chunked"),
    rcase(
        chunked(
            POST + CLOSE, b"3;ext=1\r\n%s\r\n%x\r\n%s\r\n0\r\nX-T: 1\r\n\r\n" % (RB[:3], len(RB) - 3, RB[3:])
        ),
        "chunked-extension-trailer",
    ),
    rcase(chunked(POST, b"zz\r\nabc\r\n0\r\n\r\n"), "chunked-bad-size", xfail=known.GO_CHUNKED),
    rcase(chunked(POST, b"ffffffffffffffffff\r\n"), "chunked-size-too-large", xfail=known.GO_CHUNKED),
    rcase(
        chunked(POST, b"%x\r\n%sXX0\r\n\r\n" % (len(RB), RB)), "chunked-missing-crlf", xfail=known.GO_CHUNKED
    ),
    rcase(POST + b"Content-Length: 5\r\n\r\n" + RB, "content-length-short"),
    rcase(with_length(POST + CLOSE, b'{"key":"Zm9v"}   '), "content-length-with-trailing-space"),
    rcase(
        POST + b"Content-Length: 100\r\n\r\n" + RB, "body-cut-by-eof", half_close=True
    ),
    rcase(chunked(POST, b"10\r\nabc"), "chunked-cut-by-eof", half_close=True, xfail=known.EARLY_EOF_CHUNKED),
    rcase(b"GET /version HTTP/1.1\r\nHost:", "head-cut-by-eof", half_close=True, xfail=known.HEAD_EOF),
    rcase(b"", "nothing-then-eof", half_close=True),
    # Versions, keep-alive and pipelining.
    rcase(b"GET /version HTTP/1.0\r\n\r\n", "http10"),
    rcase(with_length(b"POST /v3/kv/range HTTP/1.0\r\n", RB), "http10-post"),
    rcase(b"GET /version HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", "http10-keep-alive"),
    rcase(with_length(POST, RB) * 3 + GET_VERSION + CLOSE + b"\r\n", "pipelined"),
    rcase(
        with_length(POST, b"{")
        + with_length(POST, RB)
        + b"GET /nope HTTP/1.1\r\nHost: x\r\n"
        + CLOSE
        + b"\r\n",
        "pipelined-after-error",
    ),
    rcase(b"GET /version HTTP/1.1\nHost: x\nConnection: close\n\n", "lf-line-endings"),
    rcase(with_length(b"POST http://x/v3/kv/range HTTP/1.1\r\nHost: x\r\n" + CLOSE, RB), "absolute-form"),
    rcase(b"get /version HTTP/1.1\r\nHost: x\r\n" + CLOSE + b"\r\n", "lower-case-method"),
    rcase(with_length(POST + b"Expect: 100-continue\r\n" + CLOSE, RB), "expect-continue"),
]


@pytest.mark.parametrize(("data", "bodies", "half_close", "idle"), RAW_CASES)
def test_raw_http_same_behaviour_as_etcd(
    servers: Pair, data: bytes, bodies: bool, half_close: bool, idle: float
) -> None:
    want = exchange(servers.ref.port, data, half_close=half_close, idle=idle)
    got = exchange(servers.ours.port, data, half_close=half_close, idle=idle)
    assert got.comparable(bodies=bodies) == want.comparable(bodies=bodies)


# etcd routes a connection by its first bytes (cmux); whatever does not look like HTTP/1 or
# HTTP/2 is closed without a word, which is no behaviour to copy: here etcd-py must answer
# with a well-formed 4xx/5xx (or close) and keep serving.
NOT_HTTP = [
    pytest.param(b"HELLO\r\n\r\n", id="garbage-line"),
    pytest.param(b"POST /v3/kv/range HTTP/9.9\r\n\r\n", id="http-9.9"),
    pytest.param(b"POST /v3/kv/range HTTP/2.0\r\n\r\n", id="http-2.0-text"),
    pytest.param(b"GET /version\r\n\r\n", id="no-version"),
    pytest.param(b"\x00" * 64 + b"\r\n\r\n", id="nul-bytes"),
    pytest.param(bytes(range(256)) * 4 + b"\r\n\r\n", id="binary"),
    pytest.param(b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n", id="long-uri"),
    pytest.param(b"\r\n" * 1000 + b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n", id="leading-blank-lines"),
    pytest.param(
        POST + b"Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", id="length-and-chunked"
    ),
    pytest.param(GET_VERSION + b"X-A: b\r\n  folded\r\n\r\n", id="obsolete-line-folding"),
    pytest.param(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\xff" * 64, id="http2-preface-then-junk"),
    pytest.param(
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x04\x04\x00\x00\x00\x00", id="http2-truncated-frame"
    ),
]


@pytest.mark.parametrize("data", NOT_HTTP)
def test_not_http_answered_or_closed(servers: Pair, data: bytes) -> None:
    got = exchange(servers.ours.port, data, half_close=True)
    if data.startswith(b"PRI * HTTP/2.0"):
        assert got.closed  # grpc's HTTP/2 server ends the connection (after its SETTINGS / GOAWAY)
        return
    assert all(r.status >= 200 for r in got.responses)
    assert got.closed
    if got.responses:
        assert 400 <= got.responses[-1].status < 600 or got.responses[-1].status == 200
    assert not got.rest, f"unparsable answer: {got.rest[:200]!r}"


def test_many_connections_closed_early(servers: Pair) -> None:
    """Connections dropped at every point of a request leave the server serving."""
    request_bytes = with_length(POST, RB)
    for cut in range(0, len(request_bytes), 7):
        exchange(servers.ours.port, request_bytes[:cut], half_close=True, idle=0.2)
    got = request(servers.ours.port, "POST", "/v3/kv/range", RB)
    assert [r.status for r in got.responses] == [200]
