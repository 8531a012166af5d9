"""The client's leases, watches and concurrency recipes (Session, Mutex, Election), on both servers."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from etcdpy.api import errors
from etcdpy.api.pb.mvccpb import kv_pb2
from etcdpy.client import AsyncClient, Client, EtcdError, is_progress_notify
from etcdpy.client.concurrency import (
    AsyncElection,
    AsyncMutex,
    AsyncSession,
    Election,
    LockedError,
    Mutex,
    NoLeaderError,
    Session,
)
from tests.servers import EtcdProcess, wait_until


def test_lease_calls(any_server: EtcdProcess) -> None:
    with Client(any_server.endpoint, timeout=5) as client:
        lease = client.grant(30)
        client.put("/lease/k", "v", lease=lease.ID)
        ttl = client.time_to_live(lease.ID, keys=True)
        assert (ttl.grantedTTL, list(ttl.keys)) == (30, [b"/lease/k"])
        assert lease.ID in {item.ID for item in client.leases().leases}
        assert client.keep_alive_once(lease.ID).TTL == 30
        renewals = client.keep_alive(lease.ID)
        assert next(renewals).TTL == 30
        client.revoke(lease.ID)
        assert list(renewals) == []  # the next renewal finds the lease gone
        assert client.get("/lease/k").count == 0
        assert client.time_to_live(lease.ID).TTL == -1
        with pytest.raises(EtcdError) as exc:
            client.keep_alive_once(lease.ID)
        assert exc.value == errors.LEASE_NOT_FOUND


def test_watch_delivers_events_progress_and_cancel(any_server: EtcdProcess) -> None:
    with Client(any_server.endpoint, timeout=5) as client:
        start = client.put("/w/a", "0").header.revision
        watch = client.watch("/w/", prefix=True, prev_kv=True)
        client.put("/w/a", "1")
        client.delete("/w/a")
        events = []
        for resp in watch:
            events += [(ev.type, ev.kv.key, ev.prev_kv.value) for ev in resp.events]
            if len(events) == 2:
                break
        assert events == [(kv_pb2.Event.PUT, b"/w/a", b"0"), (kv_pb2.Event.DELETE, b"/w/a", b"1")]
        watch.request_progress()
        progress = next(watch)
        assert is_progress_notify(progress) and progress.header.revision == start + 2
        threading.Timer(0.2, watch.cancel).start()
        assert list(watch) == []

        replay = client.watch("/w/a", start_revision=start, no_delete=True)
        first = next(replay)
        assert [ev.kv.value for ev in first.events] == [b"0", b"1"]
        replay.cancel()


def test_watch_from_a_compacted_revision_ends_canceled(any_server: EtcdProcess) -> None:
    with Client(any_server.endpoint, timeout=5) as client:
        rev = client.put("/c/k", "1").header.revision
        client.put("/c/k", "2")
        client.compact(rev + 1)
        responses = list(client.watch("/c/k", start_revision=rev))
        assert len(responses) == 1 and responses[0].canceled and responses[0].compact_revision == rev + 1


def test_session_close_revokes_its_lease(any_server: EtcdProcess) -> None:
    with Client(any_server.endpoint, timeout=5) as client:
        session = Session(client, ttl=5)
        client.put("/s/owned", "x", lease=session.lease_id)
        assert not session.done()
        session.close()
        assert session.done()
        assert client.time_to_live(session.lease_id).TTL == -1
        assert client.get("/s/owned").count == 0


def test_session_notices_a_revoked_lease(any_server: EtcdProcess) -> None:
    with Client(any_server.endpoint, timeout=5) as client:
        session = Session(client, ttl=3)
        client.revoke(session.lease_id)
        assert session.wait(5), "the session outlived its lease"


def test_mutex_contenders_never_overlap(any_server: EtcdProcess) -> None:
    holders: list[int] = []
    overlaps: list[tuple[int, ...]] = []
    failures: list[BaseException] = []

    def contender(n: int) -> None:
        try:
            with Client(any_server.endpoint, timeout=5) as client, Session(client, ttl=10) as session:
                mutex = Mutex(session, "/m/lock")
                for _ in range(3):
                    mutex.lock()
                    holders.append(n)
                    if len(holders) > 1:
                        overlaps.append(tuple(holders))
                    time.sleep(0.01)  # hold the lock a moment so that contenders queue up
                    holders.remove(n)
                    mutex.unlock()
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=contender, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not failures and not overlaps
    assert not any(t.is_alive() for t in threads)


def test_try_lock_fails_while_held(any_server: EtcdProcess) -> None:
    with Client(any_server.endpoint, timeout=5) as client, Session(client) as s1, Session(client) as s2:
        first, second = Mutex(s1, "/t/lock"), Mutex(s2, "/t/lock")
        first.lock()
        with pytest.raises(LockedError, match=r"^mutex: Locked by another session$"):
            second.try_lock()
        assert client.get("/t/lock/", prefix=True).count == 1  # the refused key is gone again
        first.unlock()
        second.try_lock()
        assert second.key.startswith(b"/t/lock/")


def test_election_observe_sees_leaders_and_proclaims(any_server: EtcdProcess) -> None:
    with Client(any_server.endpoint, timeout=5) as client, Session(client) as s1, Session(client) as s2:
        first, second = Election(s1, "/e"), Election(s2, "/e")
        with pytest.raises(NoLeaderError):
            first.leader()
        observed = first.observe()
        first.campaign("a")
        assert next(observed).kvs[0].value == b"a"
        first.proclaim("b")
        assert next(observed).kvs[0].value == b"b"
        assert first.leader().kvs[0].value == b"b"
        threading.Timer(0.3, first.resign).start()
        second.campaign("c")  # waits for the first to resign
        latest = next(observed)
        assert (latest.kvs[0].key, latest.kvs[0].value) == (second.key, b"c")
        observed.close()  # type: ignore[attr-defined]


def test_async_recipes(any_server: EtcdProcess) -> None:
    async def scenario() -> None:
        async with AsyncClient(any_server.endpoint, timeout=5) as client:
            lease = await client.grant(10)
            assert (await client.keep_alive_once(lease.ID)).TTL == 10
            renewals = await client.keep_alive(lease.ID)
            assert (await anext(renewals)).TTL == 10
            renewals.close()
            await client.revoke(lease.ID)

            watch = await client.watch("/aw/k")
            await client.put("/aw/k", "v")
            resp = await anext(watch)
            assert resp.events[0].kv.value == b"v"
            await watch.cancel()

            s1 = await AsyncSession.create(client, ttl=10)
            s2 = await AsyncSession.create(client, ttl=10)
            m1, m2 = AsyncMutex(s1, "/am"), AsyncMutex(s2, "/am")
            await m1.lock()
            waiter = asyncio.create_task(m2.lock())
            await asyncio.sleep(0.2)
            assert not waiter.done()
            await m1.unlock()
            await waiter
            await m2.unlock()

            election = AsyncElection(s1, "/ae")
            observed = election.observe()
            await election.campaign("x")
            assert (await anext(observed)).kvs[0].value == b"x"
            await election.proclaim("y")
            assert (await anext(observed)).kvs[0].value == b"y"
            await observed.aclose()  # type: ignore[attr-defined]
            await election.resign()
            await s1.close()
            await s2.close()
            assert (await client.time_to_live(s1.lease_id)).TTL == -1

    asyncio.run(scenario())


def test_watch_resumes_after_the_server_restarts(etcdpy_server: EtcdProcess) -> None:
    with Client(etcdpy_server.endpoint, timeout=5) as client:
        watch = client.watch("/r/k")
        client.put("/r/k", "1")
        assert next(watch).events[0].kv.value == b"1"
        etcdpy_server.stop()
        etcdpy_server.start()
        wait_until(etcdpy_server.is_ready, 30, "the restarted server")
        client.put("/r/k", "2")
        assert next(watch).events[0].kv.value == b"2"
        watch.cancel()
