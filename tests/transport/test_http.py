"""GET /members and GET /version on the peer port, beside the framed protocol."""

from __future__ import annotations

import asyncio
import http.client
import json
from pathlib import Path

import pytest

from etcdpy.server.membership import Member
from etcdpy.server.transport import fetch_cluster
from etcdpy.server.transport.peer_http import members_json
from tests.servers import running
from tests.transport._harness import (
    LOOPS,
    Node,
    dead_url,
    heartbeat,
    run,
    start_cluster,
    stop_all,
    wait_until,
)


def _get(node: Node, method: str, path: str) -> tuple[int, dict[str, str], bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", node.port, timeout=5)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        return resp.status, dict(resp.headers), resp.read()
    finally:
        conn.close()


@pytest.mark.parametrize("loop", LOOPS)
def test_members_and_version_are_served_beside_the_streams(tmp_path: Path, loop: str) -> None:
    async def scenario() -> None:
        n1, n2 = nodes = await start_cluster(tmp_path, [0x8E9E05C52164694D, 2])
        n1.handler.members_list[1] = Member(2, "", ["http://127.0.0.1:1"], is_learner=True)
        n1.handler.members_list[0].client_urls = ["http://127.0.0.1:2379"]
        try:
            status, headers, body = await asyncio.to_thread(_get, n1, "GET", "/members")
            assert status == 200
            assert headers["Content-Type"] == "application/json"
            assert headers["X-Etcd-Cluster-Id"] == "1c0ffee"
            assert body == (
                b'[{"id":10276657743932975437,"peerURLs":["'
                + n1.url.encode()
                + b'"],"name":"m10276657743932975437",'
                b'"clientURLs":["http://127.0.0.1:2379"]},{"id":2,"peerURLs":["http://127.0.0.1:1"],"isLearner":true}]\n'
            )
            status, headers, body = await asyncio.to_thread(_get, n1, "GET", "/version?x=1")
            assert (status, body) == (200, b'{"etcdserver":"3.5.1","etcdcluster":"3.5.0"}')
            n1.handler.version = None
            status, headers, body = await asyncio.to_thread(_get, n1, "GET", "/version")
            assert json.loads(body)["etcdcluster"] == "not_decided"
            status, headers, body = await asyncio.to_thread(_get, n1, "POST", "/members")
            assert (status, headers["Allow"], body) == (405, "GET", b"Method Not Allowed\n")
            status, headers, body = await asyncio.to_thread(_get, n1, "GET", "/raft")
            assert (status, body) == (404, b"404 page not found\n")
            # The framed streams were not disturbed.
            n2.transport.send([heartbeat(2, n1.id)])
            await wait_until(lambda: n1.handler.messages, "a message")
        finally:
            await stop_all(nodes)

    run(scenario(), loop)


def test_keep_alive_serves_several_requests_on_one_connection(tmp_path: Path) -> None:
    def three_requests(port: int) -> list[int]:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            statuses = []
            for path in ("/version", "/members", "/nope"):
                conn.request("GET", path)
                resp = conn.getresponse()
                resp.read()
                statuses.append(resp.status)
            return statuses
        finally:
            conn.close()

    async def scenario() -> None:
        nodes = await start_cluster(tmp_path, [1, 2])
        try:
            assert await asyncio.to_thread(three_requests, nodes[0].port) == [200, 200, 404]
        finally:
            await stop_all(nodes)

    asyncio.run(scenario())


def test_fetch_cluster_skips_urls_that_do_not_answer(tmp_path: Path) -> None:
    async def scenario() -> None:
        nodes = await start_cluster(tmp_path, [1, 2])
        n2 = nodes[1]
        try:
            remote = await asyncio.to_thread(fetch_cluster, [dead_url(), n2.url], 2.0)
            assert remote.cluster_id == 0x1C0FFEE
            assert remote.members == n2.handler.members_list
            with pytest.raises(OSError, match="could not retrieve cluster information"):
                await asyncio.to_thread(fetch_cluster, [dead_url()], 2.0)
        finally:
            await stop_all(nodes)

    asyncio.run(scenario())


@pytest.mark.reference
def test_peer_http_matches_reference_etcd(tmp_path: Path) -> None:
    with running("reference", tmp_path) as ref:
        peer_url = f"http://127.0.0.1:{ref.peer_port}"
        remote = fetch_cluster([peer_url], 5.0)
        conn = http.client.HTTPConnection("127.0.0.1", ref.peer_port, timeout=5)
        answers = {}
        for method, path in (("GET", "/members"), ("GET", "/version"), ("POST", "/version"), ("GET", "/x")):
            conn.request(method, path)
            resp = conn.getresponse()
            answers[method, path] = (resp.status, resp.headers["Content-Type"], resp.read())
        conn.close()
    [member] = remote.members
    assert (member.name, member.peer_urls, member.client_urls) == ("default", [peer_url], [ref.url])
    # Our encoding of the members etcd described is byte for byte etcd's body.
    assert answers["GET", "/members"] == (200, "application/json", members_json(remote.members))

    async def ours() -> dict[tuple[str, str], tuple[int, str, bytes]]:
        [node, other] = await start_cluster(tmp_path / "ours", [1, 2])
        try:
            out = {}
            for method, path in answers:
                status, headers, body = await asyncio.to_thread(_get, node, method, path)
                out[method, path] = (status, headers["Content-Type"], body)
            return out
        finally:
            await stop_all([node, other])

    (tmp_path / "ours").mkdir()
    mine = asyncio.run(ours())
    for key in (("GET", "/version"), ("POST", "/version"), ("GET", "/x")):
        assert mine[key] == answers[key]
