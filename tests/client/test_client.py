"""etcdpy.client against a real server (reference etcd 3.5.1 unless ETCDPY_TEST_SERVER=etcdpy)."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from etcdpy.api import errors
from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.client import AsyncClient, Client, EtcdError, SortOrder, SortTarget, txn
from tests.servers import EtcdProcess, free_port, running

pytestmark = pytest.mark.reference

SERVER_KIND = os.environ.get("ETCDPY_TEST_SERVER", "reference")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdProcess]:
    with running(SERVER_KIND, tmp_path_factory.mktemp("client")) as p:
        yield p


@pytest.fixture
def client(server: EtcdProcess) -> Iterator[Client]:
    with Client(server.endpoint, timeout=5) as c:
        c.delete("", prefix=True)
        yield c


def dead_endpoint() -> str:
    return f"127.0.0.1:{free_port()}"


def test_put_get_delete(client: Client) -> None:
    put = client.put("a", "1")
    assert put.header.revision > 1
    got = client.get("a")
    assert [(kv.key, kv.value) for kv in got.kvs] == [(b"a", b"1")]
    assert got.count == 1
    prev = client.put(b"a", b"2", prev_kv=True)
    assert prev.prev_kv.value == b"1"
    deleted = client.delete("a", prev_kv=True)
    assert deleted.deleted == 1 and deleted.prev_kvs[0].value == b"2"
    assert client.get("a").count == 0


def test_range_options(client: Client) -> None:
    for key, value in (("p/a", "3"), ("p/b", "1"), ("p/c", "2"), ("q", "0")):
        client.put(key, value)
    assert [kv.key for kv in client.get("p/", prefix=True).kvs] == [b"p/a", b"p/b", b"p/c"]
    assert [kv.key for kv in client.get("p/b", from_key=True).kvs] == [b"p/b", b"p/c", b"q"]
    assert [kv.key for kv in client.get("p/a", "p/c").kvs] == [b"p/a", b"p/b"]
    limited = client.get("p/", prefix=True, limit=1)
    assert len(limited.kvs) == 1 and limited.more and limited.count == 3
    by_value = client.get("p/", prefix=True, sort_target=SortTarget.VALUE, sort_order=SortOrder.DESCEND)
    assert [kv.value for kv in by_value.kvs] == [b"3", b"2", b"1"]
    keys_only = client.get("p/", prefix=True, keys_only=True)
    assert all(kv.value == b"" for kv in keys_only.kvs)
    counted = client.get("", prefix=True, count_only=True)
    assert counted.count == 4 and not counted.kvs
    assert client.get("p/a", serializable=True).kvs[0].value == b"3"
    first = client.get("p/a").kvs[0]
    rewritten = client.put("p/a", "30").header.revision
    assert client.get("p/a", revision=first.mod_revision).kvs[0].value == b"3"
    newer = client.get("p/", prefix=True, min_mod_revision=rewritten)
    assert [kv.key for kv in newer.kvs] == [b"p/a"]


def test_errors_are_etcd_errors(client: Client) -> None:
    with pytest.raises(EtcdError) as empty:
        client.get("")
    assert empty.value == errors.EMPTY_KEY
    with pytest.raises(EtcdError) as future:
        client.get("a", revision=10**9)
    assert future.value == errors.FUTURE_REV
    assert future.value.code is grpc.StatusCode.OUT_OF_RANGE
    with pytest.raises(EtcdError) as missing:
        client.put("absent", ignore_value=True)
    assert missing.value == errors.KEY_NOT_FOUND


def test_txn_builder(client: Client) -> None:
    client.put("t", "v1")
    ok = client.txn(
        compare=[txn.Value("t").eq("v1"), txn.Version("t").gt(0), txn.CreateRevision("t").ne(0)],
        success=[txn.put("t", "v2"), txn.get("t"), txn.delete("none")],
        failure=[txn.get("t")],
    )
    assert ok.succeeded
    kinds = [r.WhichOneof("response") for r in ok.responses]
    assert kinds == ["response_put", "response_range", "response_delete_range"]
    assert ok.responses[1].response_range.kvs[0].value == b"v2"
    failed = client.txn([txn.ModRevision("t").lt(1)], [txn.put("t", "x")], [txn.get("t", prefix=True)])
    assert not failed.succeeded
    assert failed.responses[0].response_range.kvs[0].value == b"v2"
    nested = client.txn(success=[txn.txn([txn.Lease("t").eq(0)], [txn.put("n", "1")])])
    assert nested.responses[0].response_txn.succeeded
    with pytest.raises(ValueError, match="unknown compare operator"):
        txn.Value("t").compare("~", "x")


def test_compaction(client: Client) -> None:
    first = client.put("c", "1").header.revision
    client.put("c", "2")
    client.compact(first, physical=True)
    with pytest.raises(EtcdError) as compacted:
        client.get("c", revision=first - 1)
    assert compacted.value == errors.COMPACTED


def test_maintenance(client: Client, server: EtcdProcess) -> None:
    status = client.status()
    assert status.version and status.leader == status.header.member_id
    assert client.status(server.endpoint).header.member_id == status.header.member_id
    assert client.hash_kv().hash == client.hash_kv(endpoint=server.endpoint).hash
    client.defragment(server.endpoint)
    assert not client.alarm_list().alarms
    assert not client.alarm_disarm().alarms
    members = client.member_list().members
    assert [m.ID for m in members] == [status.header.member_id]
    assert members[0].clientURLs == [server.url]


def test_snapshot_stream_ends_with_its_sha256(client: Client) -> None:
    client.put("snap", "shot")
    blob = b"".join(chunk.blob for chunk in client.snapshot())
    assert len(blob) % 512 == 32
    assert hashlib.sha256(blob[:-32]).digest() == blob[-32:]


def test_failover_skips_an_unreachable_endpoint(server: EtcdProcess) -> None:
    with Client([dead_endpoint(), server.endpoint], timeout=5, dial_timeout=1) as c:
        started = time.monotonic()
        assert c.put("fo", "1").header.revision > 0
        assert c.get("fo").kvs[0].value == b"1"
        assert time.monotonic() - started < 3


def test_unreachable_endpoint_times_out(tmp_path: Path) -> None:
    with Client(f"http://{dead_endpoint()}", timeout=0.5, dial_timeout=0.2) as c:
        started = time.monotonic()
        with pytest.raises(EtcdError) as err:
            c.get("x")
        assert err.value.message == "context deadline exceeded"
        assert err.value.code is grpc.StatusCode.DEADLINE_EXCEEDED
        assert 0.4 < time.monotonic() - started < 3


def test_no_deadline_gives_up_after_one_round() -> None:
    with Client([dead_endpoint(), dead_endpoint()], dial_timeout=0.2) as c, pytest.raises(EtcdError) as err:
        c.status()
    assert err.value.code is grpc.StatusCode.UNAVAILABLE


def test_async_client(server: EtcdProcess) -> None:
    async def scenario() -> None:
        async with AsyncClient([dead_endpoint(), server.endpoint], timeout=5, dial_timeout=1) as c:
            await c.put("as/1", "one")
            await c.put("as/2", "two")
            got = await c.get("as/", prefix=True)
            assert [kv.value for kv in got.kvs] == [b"one", b"two"]
            resp = await c.txn([txn.Value("as/1").eq("one")], [txn.delete("as/", prefix=True)])
            assert resp.succeeded and resp.responses[0].response_delete_range.deleted == 2
            with pytest.raises(EtcdError) as err:
                await c.get("")
            assert err.value == errors.EMPTY_KEY
            assert (await c.status()).version
            assert (await c.hash_kv()).header.revision > 0
            assert not (await c.alarm_list()).alarms
            assert (await c.member_list()).members
            await c.defragment(server.endpoint)
            await c.compact((await c.get("x")).header.revision)
            blob = b"".join([chunk.blob async for chunk in c.snapshot()])
            assert hashlib.sha256(blob[:-32]).digest() == blob[-32:]

    asyncio.run(scenario())


def test_async_unreachable_times_out() -> None:
    async def scenario() -> None:
        c = AsyncClient(dead_endpoint(), timeout=0.5, dial_timeout=0.2)
        try:
            with pytest.raises(EtcdError) as err:
                await c.put("x", "y")
            assert err.value.message == "context deadline exceeded"
        finally:
            await c.close()

    asyncio.run(scenario())


def test_request_builders_need_no_server() -> None:
    from etcdpy.client._requests import delete_request, prefix_end, range_request

    assert prefix_end(b"a") == b"b"
    assert prefix_end(b"a\xff") == b"b"
    assert prefix_end(b"\xff\xff") == b"\0"
    req = range_request("", prefix=True)
    assert (req.key, req.range_end) == (b"\0", b"\0")
    assert range_request("k", sort_order=pb.RangeRequest.ASCEND).sort_order == pb.RangeRequest.NONE
    assert delete_request("k", from_key=True).range_end == b"\0"
    with pytest.raises(ValueError):
        range_request("k", prefix=True, from_key=True)
