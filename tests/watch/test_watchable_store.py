"""The watchable store and a watch stream, without a network: live events, history, compaction,
slow streams, progress, IDs."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from etcdpy.api.pb.mvccpb.kv_pb2 import Event
from etcdpy.mvcc import watch_stream, watchable_store
from etcdpy.mvcc.watch_stream import AUTO_WATCH_ID, INVALID_WATCH_ID, WatchError, WatchStream
from etcdpy.mvcc.watchable_store import MAX_REVISIONS_PER_SYNC
from tests.watch._store import delete, put, queued, take, until, watchable

PUT, DELETE = Event.PUT, Event.DELETE


def summary(events: list[Event]) -> list[tuple[int, bytes, bytes, int]]:
    return [(e.type, e.kv.key, e.kv.value, e.kv.mod_revision) for e in events]


def test_live_events_of_one_revision_come_in_one_response(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with watchable(tmp_path) as store:
            s = WatchStream(store)
            wid = s.watch(AUTO_WATCH_ID, b"a", b"b", 0)
            rev = put(store.kv, (b"a1", b"x"), (b"zz", b"y"), (b"a2", b"z"))
            resp = await take(s)
            assert (resp.watch_id, resp.revision) == (wid, rev)
            assert summary(resp.events) == [(PUT, b"a1", b"x", rev), (PUT, b"a2", b"z", rev)]
            rev = delete(store.kv, b"a", b"b")
            resp = await take(s)
            assert summary(resp.events) == [(DELETE, b"a1", b"", rev), (DELETE, b"a2", b"", rev)]
            assert not resp.events[0].HasField("prev_kv")
            assert await queued(s) == []

    asyncio.run(scenario())


def test_prev_kv_and_filters(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with watchable(tmp_path) as store:
            s = WatchStream(store)
            prev = s.watch(AUTO_WATCH_ID, b"k", b"", 0, prev_kv=True)
            no_put = s.watch(AUTO_WATCH_ID, b"k", b"", 0, no_put=True)
            no_delete = s.watch(AUTO_WATCH_ID, b"k", b"", 0, no_delete=True)
            put(store.kv, (b"k", b"1"))
            put(store.kv, (b"k", b"2"))
            delete(store.kv, b"k")
            got: dict[int, list[Event]] = {}
            for resp in await queued(s):
                got.setdefault(resp.watch_id, []).extend(resp.events)
            assert [e.type for e in got[prev]] == [PUT, PUT, DELETE]
            assert [e.HasField("prev_kv") for e in got[prev]] == [False, True, True]
            assert [e.prev_kv.value for e in got[prev][1:]] == [b"1", b"2"]
            assert [e.type for e in got[no_put]] == [DELETE]
            assert [e.type for e in got[no_delete]] == [PUT, PUT]
            assert not any(e.HasField("prev_kv") for e in got[no_delete])

    asyncio.run(scenario())


def test_history_from_a_start_revision_then_live(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with watchable(tmp_path) as store:
            kv = store.kv
            revs = [put(kv, (b"h%d" % i, b"v")) for i in range(5)]
            put(kv, (b"h1", b"w"))
            delete(kv, b"h2")
            s = WatchStream(store)
            wid = s.watch(AUTO_WATCH_ID, b"h", b"i", revs[1], prev_kv=True)
            resp = await take(s)
            assert resp.revision == kv.rev  # a catch-up batch reports the store's revision
            assert [(e.kv.key, e.kv.mod_revision) for e in resp.events] == [
                (b"h1", revs[1]),
                (b"h2", revs[2]),
                (b"h3", revs[3]),
                (b"h4", revs[4]),
                (b"h1", kv.rev - 1),
                (b"h2", kv.rev),
            ]
            assert [e.prev_kv.value for e in resp.events] == [b"", b"", b"", b"", b"v", b"v"]
            assert store.is_synced(s._watchers[wid])
            rev = put(kv, (b"h9", b"v"))
            resp = await take(s)
            assert (resp.revision, [e.kv.key for e in resp.events]) == (rev, [b"h9"])

    asyncio.run(scenario())


def test_future_start_revision_skips_earlier_events(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with watchable(tmp_path) as store:
            s = WatchStream(store)
            s.watch(AUTO_WATCH_ID, b"f", b"", store.rev + 3)
            revs = [put(store.kv, (b"f", b"%d" % i)) for i in range(4)]
            got = await queued(s)
            assert [r.revision for r in got] == revs[2:]

    asyncio.run(scenario())


def test_compacted_start_revision_is_canceled(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with watchable(tmp_path) as store:
            kv = store.kv
            first = put(kv, (b"c", b"1"))
            second = put(kv, (b"c", b"2"))
            kv.compact(second)
            s = WatchStream(store)
            gone = s.watch(AUTO_WATCH_ID, b"c", b"", first)
            resp = await take(s)
            assert (resp.watch_id, resp.revision, resp.canceled, resp.compact_revision) == (
                gone,
                0,
                True,
                second,
            )
            assert store.watcher_count == 0
            # At the compaction revision itself history is still there, without the value before it.
            s.watch(AUTO_WATCH_ID, b"c", b"", second, prev_kv=True)
            resp = await take(s)
            assert summary(resp.events) == [(PUT, b"c", b"2", second)]
            assert not resp.events[0].HasField("prev_kv")
            # As etcd 3.5: a negative start revision counts as below any compaction...
            neg = s.watch(AUTO_WATCH_ID, b"c", b"", -1)
            resp = await take(s)
            assert (resp.watch_id, resp.compact_revision) == (neg, second)
            assert s.cancel(neg)  # a compacted watcher can still be canceled

    asyncio.run(scenario())


def test_negative_start_revision_without_compaction(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with watchable(tmp_path) as store:
            put(store.kv, (b"n", b"1"))
            s = WatchStream(store)
            # ...and with no compaction yet, -1 watches from now on while lower ones are canceled (-1).
            later = s.watch(AUTO_WATCH_ID, b"n", b"", -1)
            gone = s.watch(AUTO_WATCH_ID, b"n", b"", -5)
            resp = await take(s)
            assert (resp.watch_id, resp.canceled, resp.compact_revision) == (gone, True, -1)
            await until(lambda: store.slow_watcher_count == 0)
            rev = put(store.kv, (b"n", b"2"))
            resp = await take(s)
            assert (resp.watch_id, resp.revision) == (later, rev)

    asyncio.run(scenario())


def test_long_history_comes_in_bounded_batches_in_order(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with watchable(tmp_path) as store:
            kv = store.kv
            start = kv.rev + 1
            n = 2 * MAX_REVISIONS_PER_SYNC + 300
            for i in range(n):
                put(kv, (b"b%d" % (i % 7), b"%d" % i))
            s = WatchStream(store)
            s.watch(AUTO_WATCH_ID, b"b", b"c", start)
            got = await queued(s, settle=0.3)
            assert len(got) >= 3
            assert all(len({e.kv.mod_revision for e in r.events}) <= MAX_REVISIONS_PER_SYNC for r in got)
            revs = [e.kv.mod_revision for r in got for e in r.events]
            assert revs == list(range(start, start + n))

    asyncio.run(scenario())


def test_slow_stream_does_not_hold_up_writes_or_others(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with watchable(tmp_path) as store:
            kv = store.kv
            slow, fast = WatchStream(store), WatchStream(store)
            slow.watch(AUTO_WATCH_ID, b"s", b"", 0, prev_kv=True)
            fast.watch(AUTO_WATCH_ID, b"s", b"", 0)
            first = kv.rev + 1
            n = watch_stream.CAPACITY * 3
            fast_got = []
            for i in range(n):
                put(kv, (b"s", b"%d" % i))  # never waits for the slow stream
                fast_got.append(await take(fast))
            assert [r.revision for r in fast_got] == list(range(first, first + n))
            assert not slow.has_room()
            assert store.slow_watcher_count == 1
            got = await queued(slow, settle=0.3)
            events = [e for r in got for e in r.events]
            assert [e.kv.mod_revision for e in events] == list(range(first, first + n))
            assert [e.prev_kv.value for e in events[1:]] == [b"%d" % i for i in range(n - 1)]
            assert store.slow_watcher_count == 0
            rev = put(kv, (b"s", b"live"))
            assert (await take(slow)).revision == rev

    asyncio.run(scenario())


def test_progress_report_waits_until_every_watcher_caught_up(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with watchable(tmp_path) as store:
            kv = store.kv
            for i in range(3):
                put(kv, (b"p", b"%d" % i))
            s = WatchStream(store)
            live = s.watch(AUTO_WATCH_ID, b"q", b"", 0)
            s.request_progress_all()
            resp = await take(s)
            assert (resp.watch_id, resp.revision, resp.events) == (INVALID_WATCH_ID, kv.rev, [])
            s.watch(AUTO_WATCH_ID, b"p", b"", 2)
            s.request_progress_all()
            history, progress = await take(s), await take(s)
            assert [e.kv.mod_revision for e in history.events] == [2, 3, 4]
            assert (progress.watch_id, progress.revision) == (INVALID_WATCH_ID, kv.rev)
            # A periodic report goes to one synced watcher, with its ID.
            s.request_progress(live)
            resp = await take(s)
            assert (resp.watch_id, resp.revision, resp.events) == (live, kv.rev, [])

    asyncio.run(scenario())


def test_watch_ids_and_errors(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with watchable(tmp_path) as store:
            s = WatchStream(store)
            assert s.watch(AUTO_WATCH_ID, b"a", b"", 0) == 0
            assert s.watch(2, b"a", b"", 0) == 2
            assert s.watch(AUTO_WATCH_ID, b"a", b"", 0) == 1
            assert s.watch(AUTO_WATCH_ID, b"a", b"", 0) == 3
            assert s.watch(-7, b"a", b"", 0) == -7
            with pytest.raises(WatchError, match="mvcc: duplicate watch ID provided on the WatchStream"):
                s.watch(2, b"a", b"", 0)
            with pytest.raises(WatchError, match="mvcc: watcher range is empty"):
                s.watch(AUTO_WATCH_ID, b"b", b"a", 0)
            with pytest.raises(WatchError, match="mvcc: watcher range is empty"):
                s.watch(AUTO_WATCH_ID, b"b", b"b", 0)
            assert s.watch(AUTO_WATCH_ID, b"b", b"\0", 0) == 4  # from-key
            assert s.cancel(2)
            assert not s.cancel(2)
            assert s.watch(2, b"a", b"", 0) == 2  # a canceled ID is free again
            assert store.watcher_count == 6
            s.close()
            assert store.watcher_count == 0
            with pytest.raises(WatchError):
                s.watch(AUTO_WATCH_ID, b"a", b"", 0)

    asyncio.run(scenario())


def test_catch_up_reads_fewer_revisions_when_values_are_big(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watchable_store, "SYNC_READ_BYTES", 64 * 1024)

    async def scenario() -> None:
        async with watchable(tmp_path) as store:
            kv = store.kv
            start = kv.rev + 1
            n = 2000
            for i in range(n):
                put(kv, (b"v", b"%04d" % i + b"x" * 1020))
            s = WatchStream(store)
            s.watch(AUTO_WATCH_ID, b"v", b"", start)
            got = await queued(s, settle=0.3)
            assert [e.kv.mod_revision for r in got for e in r.events] == list(range(start, start + n))
            sizes = [sum(len(e.kv.value) for e in r.events) for r in got]
            assert sizes[0] > 64 * 1024 * 4  # the first round reads the full window...
            assert max(sizes[-3:]) <= 64 * 1024  # ...later ones stay near the byte target

    asyncio.run(scenario())
