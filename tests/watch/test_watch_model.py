"""Randomised: whatever the interleaving of writes, compactions, watch creation and cancelation, and
however slowly each stream is read, every watcher gets exactly its events, in order, each revision's
events in one response, nothing twice, nothing skipped."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from etcdpy.api.pb.mvccpb.kv_pb2 import Event
from etcdpy.mvcc.kvstore import KVStore
from etcdpy.mvcc.watch_stream import AUTO_WATCH_ID, WatchStream
from etcdpy.mvcc.watcher import WatchResponse
from etcdpy.mvcc.watcher_group import prefix_end
from tests.watch._store import queued, until, watchable

KEYS = [b"\0", b"a", b"a/1", b"a/2", b"a\xff", b"b", b"b/x", b"c", b"\xff"]
PUT, DELETE = Event.PUT, Event.DELETE

# (type, key, value, revision, previous value or None)
ModelEvent = tuple[int, bytes, bytes, int, bytes | None]


@dataclass
class Model:
    """The key space and every revision's events, kept independently of the store."""

    state: dict[bytes, bytes] = field(default_factory=dict)
    events: list[ModelEvent] = field(default_factory=list)
    compactions: list[int] = field(default_factory=list)

    def write(self, kv: KVStore, rng: random.Random) -> None:
        rev = kv.rev + 1
        with kv.write() as w:
            if rng.random() < 0.25:
                lo, hi = sorted(rng.sample(KEYS, 2))
                for key in sorted(k for k in self.state if lo <= k < hi):
                    self.events.append((DELETE, key, b"", rev, self.state.pop(key)))
                w.delete_range(lo, hi)
            else:
                for key in rng.sample(KEYS, rng.randint(1, 3)):
                    value = b"%d" % rng.randrange(1000)
                    self.events.append((PUT, key, value, rev, self.state.get(key)))
                    self.state[key] = value
                    w.put(key, value)
            w.end()


@dataclass
class Watch:
    id: int
    stream: int
    key: bytes
    end: bytes
    start: int  # the effective start revision
    prev_kv: bool
    no_put: bool
    no_delete: bool
    canceled: bool = False

    def holds(self, key: bytes) -> bool:
        if not self.end:
            return key == self.key
        return self.key <= key and (self.end == b"\0" or key < self.end)

    def expected(self, model: Model) -> list[ModelEvent]:
        return [
            e
            for e in model.events
            if e[3] >= self.start
            and self.holds(e[1])
            and not (self.no_put and e[0] == PUT)
            and not (self.no_delete and e[0] == DELETE)
        ]


def random_range(rng: random.Random) -> tuple[bytes, bytes]:
    key = rng.choice(KEYS)
    shape = rng.randrange(4)
    if shape == 0:
        return key, b""
    if shape == 1:
        return key, prefix_end(key)
    if shape == 2:
        return key, b"\0"
    lo, hi = sorted(rng.sample(KEYS, 2))
    return lo, hi


async def run(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    async with watchable(tmp_path) as store:
        kv = store.kv
        model = Model()
        streams = [WatchStream(store) for _ in range(4)]
        slow = {0, 1}  # read only now and then
        got: dict[tuple[int, int], list[WatchResponse]] = {}
        watches: list[Watch] = []

        async def read(i: int, settle: float = 0.0) -> None:
            for resp in await queued(streams[i], settle=settle or 0.001):
                got.setdefault((i, resp.watch_id), []).append(resp)

        for _ in range(600):
            r = rng.random()
            if r < 0.6:
                model.write(kv, rng)
            elif r < 0.72:
                i = rng.randrange(len(streams))
                key, end = random_range(rng)
                start = rng.choice([0, 0, rng.randint(1, kv.rev + 3)])
                opts = {
                    "prev_kv": rng.random() < 0.5,
                    "no_put": rng.random() < 0.1,
                    "no_delete": rng.random() < 0.1,
                }
                wid = streams[i].watch(AUTO_WATCH_ID, key, end, start, **opts)
                watches.append(Watch(wid, i, key, end, start or kv.rev + 1, **opts))
            elif r < 0.75 and watches:
                w = rng.choice(watches)
                streams[w.stream].cancel(w.id)
                w.canceled = True
            elif r < 0.77 and kv.rev > 2:
                rev = rng.randint(max(kv.compact_rev + 1, 1), kv.rev)
                kv.compact(rev)
                model.compactions.append(rev)
            elif r < 0.9:
                i = rng.randrange(len(streams))
                if i not in slow or rng.random() < 0.1:
                    await read(i)
            else:
                await asyncio.sleep(0)

        async def settled() -> bool:
            for i in range(len(streams)):
                await read(i, settle=0.01)
            return store.slow_watcher_count == 0 and all(s.has_room() for s in streams)

        for _ in range(200):
            if await settled():
                break
        else:
            pytest.fail("the watchers never caught up")
        await until(lambda: store.slow_watcher_count == 0)
        for i in range(len(streams)):
            await read(i, settle=0.05)
        for w in watches:
            check(w, got.get((w.stream, w.id), []), model)


def check(w: Watch, responses: list[WatchResponse], model: Model) -> None:
    expected = w.expected(model)
    received: list[ModelEvent] = []
    last_rev = 0
    compacted = False
    for resp in responses:
        assert not compacted, "a response after the compaction cancel"
        if resp.canceled:
            assert resp.compact_revision > received[-1][3] if received else True
            compacted = True
            continue
        revs = [e.kv.mod_revision for e in resp.events]
        assert revs == sorted(revs) and revs[0] > last_rev, "revisions out of order or split"
        last_rev = revs[-1]
        for e in resp.events:
            prev = e.prev_kv.value if e.HasField("prev_kv") else None
            received.append((e.type, e.kv.key, e.kv.value, e.kv.mod_revision, prev))
    n = len(received)
    assert [e[:4] for e in received] == [e[:4] for e in expected[:n]], f"watch {w}"
    for got_event, want in zip(received, expected[:n], strict=True):
        if not w.prev_kv:
            assert got_event[4] is None
        elif got_event[4] != want[4]:
            # Only history whose previous revision was compacted away may lack its previous value.
            assert got_event[4] is None and any(c >= want[3] for c in model.compactions), (got_event, want)
    if not (w.canceled or compacted):
        assert n == len(expected), f"watch {w} missed events"


@pytest.mark.parametrize("seed", range(6))
def test_every_watcher_gets_exactly_its_events(tmp_path: Path, seed: int) -> None:
    asyncio.run(run(tmp_path, seed))
