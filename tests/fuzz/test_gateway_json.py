"""Fuzzing the JSON gateway of one etcd-py member: request-shaped bodies with wrong types, huge
numbers, bad base64, deep nesting, invalid UTF-8 and truncation, POSTed to every /v3 path.

Every request gets one complete HTTP response (a stream's head at least) within the timeout:
200 with JSON, or an etcd error status with etcd's JSON error body; never a 5xx that reports a
crash. Paths that would take the member out of its state get only bodies no request decodes
from, which must be refused with 400 and change nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import cast

import pytest
from google.protobuf.descriptor import Descriptor
from hypothesis import given, settings
from hypothesis import strategies as st

from etcdpy.api.gateway.routes import ROUTES
from tests.badinput._http import Exchange, request
from tests.fuzz._json import any_json, bodies, never_a_request
from tests.fuzz._settings import fuzz_settings
from tests.fuzz._target import Target, target

STATEFUL = frozenset(
    {
        "/v3/kv/compaction",
        "/v3/cluster/member/add",
        "/v3/cluster/member/remove",
        "/v3/cluster/member/update",
        "/v3/cluster/member/promote",
        "/v3/maintenance/alarm",
        "/v3/maintenance/transfer-leadership",
        "/v3/maintenance/downgrade",
        "/v3/auth/enable",
    }
)
PATHS = sorted(set(ROUTES) - STATEFUL)
STREAMS = frozenset(p for p, r in ROUTES.items() if r.server_streaming or r.client_streaming)
# The statuses etcd's gateway answers bad requests with (grpc-gateway's code mapping; 501 is
# UNIMPLEMENTED, etcd-py's answer for what it does not serve yet), and Go's mux's redirect of
# unclean paths ("/v3//" to "/v3/").
ERROR_STATUSES = frozenset({301, 400, 401, 403, 404, 405, 409, 412, 413, 429, 501})
# Requests that wait for others by design (a held lock, an election): no answer yet is no hang.
WAITING = frozenset({"/v3/lock/lock", "/v3/election/campaign"})

FUZZ = fuzz_settings(300, 20)


@pytest.fixture(scope="module")
def member(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    with target(tmp_path_factory.mktemp("fuzz-gateway")) as t:
        yield t


@pytest.fixture(autouse=True)
def _intact_after_each_test(member: Target) -> Iterator[None]:
    yield
    member.assert_intact()


def check(path: str, got: Exchange) -> int:
    """The status of the one response `got` holds, checked for form; for a stream, of its head."""
    if (path in STREAMS or path in WAITING) and not got.responses:
        # A stream answers with its first message: none may come yet (a watch with no create request).
        assert not got.closed and (not got.rest or got.rest.startswith(b"HTTP/1.1 200 OK\r\n")), got
        return 200
    assert len(got.responses) == 1 and not got.rest, got
    response = got.responses[0]
    if response.header("content-type") == "application/json":
        lines = [json.loads(line) for line in response.body.split(b"\n") if line.strip()]
        if response.status != 200:
            (error,) = lines
            assert set(error) >= {"code", "message"}, error
            if response.status == 500:  # gRPC UNKNOWN: etcd's plain Go errors, never a handler's exception
                assert error["code"] == 2 and not error["message"].startswith("Unexpected"), error
                return 500
    assert response.status == 200 or response.status in ERROR_STATUSES, response
    return response.status


@FUZZ
@given(data=st.data())
def test_request_bodies(member: Target, data: st.DataObject) -> None:
    path = data.draw(st.sampled_from(PATHS), label="path")
    body = data.draw(bodies(cast(Descriptor, ROUTES[path].request.DESCRIPTOR)), label="body")
    check(path, request(member.port, "POST", path, body))
    member.assert_alive()


@settings(FUZZ, max_examples=100)
@given(path=st.sampled_from(sorted(STATEFUL)), body=never_a_request())
def test_stateful_paths_refuse_undecodable_bodies(member: Target, path: str, body: bytes) -> None:
    assert check(path, request(member.port, "POST", path, body)) == 400
    member.assert_alive()


@settings(FUZZ, max_examples=150)
@given(
    path=st.sampled_from([*PATHS, "/v3/", "/v3/kv", "/v3/nope", "/health", "/version", "/metrics", "/"])
    | st.from_regex(r"/v3/[a-z/%?=&.]{0,24}", fullmatch=True),
    method=st.sampled_from(["GET", "PUT", "DELETE", "OPTIONS", "PATCH", "HEAD", "TRACE", "POST"]),
    body=any_json.map(lambda v: json.dumps(v).encode()) | st.binary(max_size=80) | st.none(),
)
def test_any_method_any_path(member: Target, path: str, method: str, body: bytes | None) -> None:
    stateful = any(path.startswith(p) for p in STATEFUL)
    got = request(member.port, method, path, b"\x00" if stateful else body)
    if method != "HEAD":
        check(path, got)
    member.assert_alive()
