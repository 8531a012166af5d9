"""Watch, Lock and Election on a real etcd-py member: many streams, slow clients, progress, locks."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.api.pb.etcdserverpb import rpc_pb2_grpc
from etcdpy.api.pb.v3lockpb import v3lock_pb2 as lpb
from etcdpy.api.pb.v3lockpb import v3lock_pb2_grpc
from etcdpy.mvcc import watch_stream
from tests.servers import EtcdProcess, running, wait_until
from tests.watch._client import WatchClient
from tests.watch._inproc import in_process


@pytest.fixture(scope="module")
def member(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdProcess]:
    with running(
        "etcdpy",
        tmp_path_factory.mktemp("watch"),
        extra_args=["--experimental-watch-progress-notify-interval", "200ms"],
    ) as p:
        yield p


@pytest.fixture
def channel(member: EtcdProcess) -> Iterator[grpc.Channel]:
    with grpc.insecure_channel(member.endpoint) as ch:
        yield ch


def events_by_watch(responses: list[pb.WatchResponse]) -> dict[int, list[tuple[bytes, int]]]:
    out: dict[int, list[tuple[bytes, int]]] = {}
    for r in responses:
        out.setdefault(r.watch_id, []).extend((e.kv.key, e.kv.mod_revision) for e in r.events)
    return out


def test_many_streams_many_watchers(channel: grpc.Channel) -> None:
    kv = rpc_pb2_grpc.KVStub(channel)
    streams = [WatchClient(channel) for _ in range(8)]
    try:
        for s, w in enumerate(streams):
            for i in range(12):
                w.create(b"m%d/%d/" % (s, i), range_end=b"m%d/%d0" % (s, i))
        for w in streams:
            created = [w.recv() for _ in range(12)]
            assert sorted(r.watch_id for r in created) == list(range(12))
            assert all(r.created for r in created)
        puts: dict[tuple[int, int], list[tuple[bytes, int]]] = {}
        for n in range(60):
            s, i = n % 8, n % 12
            key = b"m%d/%d/%d" % (s, i, n)
            rev = kv.Put(pb.PutRequest(key=key, value=b"v")).header.revision
            puts.setdefault((s, i), []).append((key, rev))
        for s, w in enumerate(streams):
            got = events_by_watch(w.drain())
            assert got == {i: puts[(s, i)] for i in range(12) if (s, i) in puts}
    finally:
        for w in streams:
            w.close()


def test_progress_notify_only_to_idle_watchers_that_asked(channel: grpc.Channel) -> None:
    kv = rpc_pb2_grpc.KVStub(channel)
    w = WatchClient(channel)
    try:
        w.create(b"pn", progress_notify=True)
        w.create(b"quiet")
        assert [r.created for r in (w.recv(), w.recv())] == [True, True]
        got = w.collect(1.0)
        assert len(got) >= 2
        rev = kv.Range(pb.RangeRequest(key=b"x")).header.revision
        assert all((r.watch_id, list(r.events), r.header.revision) == (0, [], rev) for r in got)
    finally:
        w.close()


def test_progress_request_waits_for_history(channel: grpc.Channel) -> None:
    kv = rpc_pb2_grpc.KVStub(channel)
    first = kv.Put(pb.PutRequest(key=b"ph", value=b"0")).header.revision
    for i in range(1, 50):
        kv.Put(pb.PutRequest(key=b"ph", value=b"%d" % i))
    w = WatchClient(channel)
    try:
        w.create(b"ph", start_revision=first)
        w.progress()
        created, history, progress = w.recv(), w.recv(), w.recv()
        assert created.created
        assert [e.kv.mod_revision for e in history.events] == list(range(first, first + 50))
        assert (progress.watch_id, progress.header.revision) == (-1, first + 49)
    finally:
        w.close()


def test_locks_serialize_their_holders(channel: grpc.Channel) -> None:
    kv, locks = rpc_pb2_grpc.KVStub(channel), v3lock_pb2_grpc.LockStub(channel)
    leases = rpc_pb2_grpc.LeaseStub(channel)
    kv.Put(pb.PutRequest(key=b"counter", value=b"0"))
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            lease = leases.LeaseGrant(pb.LeaseGrantRequest(TTL=30)).ID
            for _ in range(3):
                held = locks.Lock(lpb.LockRequest(name=b"ctr", lease=lease), timeout=20)
                n = int(kv.Range(pb.RangeRequest(key=b"counter")).kvs[0].value)
                time.sleep(0.01)
                kv.Put(pb.PutRequest(key=b"counter", value=b"%d" % (n + 1)))
                locks.Unlock(lpb.UnlockRequest(key=held.key), timeout=5)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert kv.Range(pb.RangeRequest(key=b"counter")).kvs[0].value == b"12"


def test_lock_waiter_whose_lease_expired_gets_session_expired(channel: grpc.Channel) -> None:
    locks, leases = v3lock_pb2_grpc.LockStub(channel), rpc_pb2_grpc.LeaseStub(channel)
    kv = rpc_pb2_grpc.KVStub(channel)
    holder = locks.Lock(lpb.LockRequest(name=b"se", lease=leases.LeaseGrant(pb.LeaseGrantRequest(TTL=30)).ID))
    short = leases.LeaseGrant(pb.LeaseGrantRequest(TTL=2)).ID
    result: list[BaseException | lpb.LockResponse] = []

    def wait() -> None:
        try:
            result.append(locks.Lock(lpb.LockRequest(name=b"se", lease=short), timeout=20))
        except grpc.RpcError as e:
            result.append(e)

    t = threading.Thread(target=wait)
    t.start()
    mine = b"se/%x" % short
    wait_until(lambda: bool(kv.Range(pb.RangeRequest(key=mine)).kvs), 5, "the waiter's key")
    wait_until(lambda: not kv.Range(pb.RangeRequest(key=mine)).kvs, 10, "the waiter's lease to expire")
    locks.Unlock(lpb.UnlockRequest(key=holder.key))
    t.join(10)
    (err,) = result
    assert isinstance(err, grpc.RpcError)
    assert (err.code(), err.details()) == (grpc.StatusCode.UNKNOWN, "mutex: session is expired")


def test_slow_stream_catches_up_without_holding_up_writes(tmp_path: Path) -> None:
    value = b"x" * 32 * 1024
    # Catch-up batches can be large: etcd's clients accept any message size, so does this one.
    unlimited = [("grpc.max_receive_message_length", -1)]
    with in_process(tmp_path) as m, grpc.insecure_channel(m.endpoint, options=unlimited) as ch:
        kv = rpc_pb2_grpc.KVStub(ch)
        watchable = m.etcd.server.watchable
        slow, fast = WatchClient(ch), WatchClient(ch)
        try:
            slow.create(b"big", prev_kv=True)
            fast.create(b"big")
            assert slow.recv().created and fast.recv().created
            slow.reading.clear()
            revs: list[int] = []
            # Enough to fill the client's flow-control window and the stream's queue behind it.
            while not m.call(lambda: watchable.slow_watcher_count) and len(revs) < 2000:
                started = time.monotonic()
                revs.append(kv.Put(pb.PutRequest(key=b"big", value=value), timeout=5).header.revision)
                assert time.monotonic() - started < 2.0, "a write waited for the slow client"
            assert m.call(lambda: watchable.slow_watcher_count) == 1
            for _ in range(watch_stream.CAPACITY):
                revs.append(kv.Put(pb.PutRequest(key=b"big", value=value), timeout=5).header.revision)
            fast_events = [ev for r in fast.drain() for ev in r.events]
            assert [ev.kv.mod_revision for ev in fast_events] == revs
            slow.reading.set()
            slow_events = [ev for r in slow.drain(1.0) for ev in r.events]
            assert [ev.kv.mod_revision for ev in slow_events] == revs
            assert all(ev.prev_kv.mod_revision == ev.kv.mod_revision - 1 for ev in slow_events[1:])
            assert m.call(lambda: watchable.slow_watcher_count) == 0
        finally:
            slow.close()
            fast.close()


def test_stream_end_removes_its_watchers(tmp_path: Path) -> None:
    with in_process(tmp_path) as m, grpc.insecure_channel(m.endpoint) as ch:
        watchable = m.etcd.server.watchable
        w = WatchClient(ch)
        for i in range(5):
            w.create(b"gone%d" % i, start_revision=1)
        for _ in range(5):
            assert w.recv().created
        assert m.call(lambda: watchable.watcher_count) == 5
        w.close()
        wait_until(lambda: m.call(lambda: watchable.watcher_count) == 0, 5, "the watchers to go")
