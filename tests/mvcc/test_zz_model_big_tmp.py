"""KVStore against a plain model: per key, the list of (revision, KeyValue or None when deleted)."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from etcdpy.api import errors
from etcdpy.api.pb.mvccpb.kv_pb2 import Event, KeyValue
from etcdpy.mvcc import revision
from etcdpy.mvcc.kvstore import KVStore
from etcdpy.mvcc.txn_write import TxnWrite
from etcdpy.storage import schema
from etcdpy.storage.backend import Backend

KEYS = [b"a", b"ab", b"b", b"c", b"d"]
keys = st.sampled_from(KEYS)
ends = st.sampled_from([None, b"\0", b"b", b"c", b"e", b"a"])
values = st.binary(max_size=3)
leases = st.sampled_from([0, 0, 5, 7])

Op = tuple[str, bytes, bytes | None, bytes, int]  # (put|delete, key, end, value, lease)
ops = st.one_of(
    st.tuples(st.just("put"), keys, st.none(), values, leases),
    st.tuples(st.just("delete"), keys, ends, st.just(b""), st.just(0)),
)


def in_range(k: bytes, key: bytes, end: bytes | None) -> bool:
    if not end:
        return k == key
    return k >= key and (end == b"\0" or k < end)


@dataclass
class Model:
    rev: int = 1
    compact_rev: int = -1
    history: dict[bytes, list[tuple[int, KeyValue | None]]] = field(default_factory=dict)

    def at(self, key: bytes, rev: int) -> KeyValue | None:
        found = None
        for main, kv in self.history.get(key, []):
            if main <= rev:
                found = kv
        return found

    def apply(self, batch: list[Op]) -> list[Event]:
        """Apply ops as one revision; the expected events."""
        new = self.rev + 1
        current = {k: self.at(k, self.rev) for k in KEYS}
        events = []
        for kind, key, end, value, lease in batch:
            if kind == "put":
                prev = current[key]
                kv = KeyValue(
                    key=key,
                    value=value,
                    lease=lease,
                    mod_revision=new,
                    create_revision=prev.create_revision if prev else new,
                    version=prev.version + 1 if prev else 1,
                )
                events.append(Event(type=Event.PUT, kv=kv, prev_kv=prev))
                current[key] = kv
            else:
                for k in KEYS:
                    prev = current[k]
                    if prev is not None and in_range(k, key, end):
                        events.append(
                            Event(type=Event.DELETE, kv=KeyValue(key=k, mod_revision=new), prev_kv=prev)
                        )
                        current[k] = None
        if events:
            self.rev = new
            for k in {e.kv.key for e in events}:
                self.history.setdefault(k, []).append((new, current[k]))
        return events


class KVStoreMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="mvcc-model-"))
        self.backend = Backend(str(self.dir / "db"))
        self.kv = KVStore(self.backend)
        self.model = Model()
        self.ci = 0

    def teardown(self) -> None:
        self.backend.close()
        shutil.rmtree(self.dir)

    def _run(self, tw: TxnWrite, batch: list[Op]) -> None:
        for kind, key, end, value, lease in batch:
            if kind == "put":
                tw.put(key, value, lease)
            else:
                tw.delete_range(key, end)

    @rule(batch=st.lists(ops, min_size=1, max_size=4))
    def write(self, batch: list[Op]) -> None:
        self.ci += 1
        with self.kv.write() as tw:
            self._run(tw, batch)
            expected_rev = self.model.rev + 1 if tw.changes else self.model.rev
            assert tw.rev == expected_rev
            tw.end(self.ci)
        assert tw.changes == self.model.apply(batch)
        assert self.kv.consistent_index == self.ci

    @rule(batch=st.lists(ops, min_size=1, max_size=4), key=keys, end=ends)
    def txn_reads_own_writes(self, batch: list[Op], key: bytes, end: bytes | None) -> None:
        scratch = Model(
            self.model.rev, self.model.compact_rev, {k: list(v) for k, v in self.model.history.items()}
        )
        scratch.apply(batch)
        with self.kv.write() as tw:
            self._run(tw, batch)
            got = tw.range(key, end)
            want = [kv for k in KEYS if in_range(k, key, end) and (kv := scratch.at(k, scratch.rev))]
            assert got.kvs == want
            assert got.rev == scratch.rev
            tw.abort()

    @rule(key=keys, end=ends, back=st.integers(0, 12), limit=st.integers(0, 3), count_only=st.booleans())
    def range(self, key: bytes, end: bytes | None, back: int, limit: int, count_only: bool) -> None:
        rev = self.model.rev - back
        read_at = rev if rev > 0 else self.model.rev
        want = [kv for k in KEYS if in_range(k, key, end) and (kv := self.model.at(k, read_at))]
        try:
            got = self.kv.range(key, end, rev=rev, limit=limit, count_only=count_only)
        except errors.EtcdError as e:
            assert e == errors.COMPACTED
            assert 0 < rev < self.model.compact_rev
            return
        assert not (0 < rev < self.model.compact_rev)
        assert got.count == len(want)
        assert got.rev == self.model.rev
        if count_only:
            assert got.kvs == []
        else:
            assert got.kvs == (want[:limit] if limit else want)

    @rule(ahead=st.integers(1, 3))
    def future_range(self, ahead: int) -> None:
        try:
            self.kv.range(b"a", rev=self.model.rev + ahead)
        except errors.EtcdError as e:
            assert e == errors.FUTURE_REV
        else:
            raise AssertionError("expected FUTURE_REV")

    @precondition(lambda self: self.model.rev > self.model.compact_rev)
    @rule(data=st.data())
    def compact(self, data: st.DataObject) -> None:
        rev = data.draw(st.integers(max(self.model.compact_rev + 1, 0), self.model.rev))
        self.kv.compact(rev)
        self.model.compact_rev = rev
        # What stays at or below rev is exactly the value each live key had at rev.
        with self.backend.read() as txn:
            kept = [KeyValue.FromString(v) for k, v in txn.items(schema.KEY, b"", revision.bound(rev + 1))]
        alive = [kv for k in KEYS if (kv := self.model.at(k, rev))]
        assert sorted(kept, key=lambda kv: kv.key) == alive

    @rule(rev=st.integers(-2, 40))
    def compact_invalid(self, rev: int) -> None:
        if self.model.compact_rev < rev <= self.model.rev:
            return
        try:
            self.kv.compact(rev)
        except errors.EtcdError as e:
            assert e == (errors.COMPACTED if rev <= self.model.compact_rev else errors.FUTURE_REV)
        else:
            raise AssertionError("expected an error")

    @rule()
    def reopen(self) -> None:
        before = self.kv.hash_kv()
        self.backend.close()
        self.backend = Backend(str(self.dir / "db"))
        self.kv = KVStore(self.backend)
        assert self.kv.hash_kv() == before

    @invariant()
    def revisions_agree(self) -> None:
        assert (self.kv.rev, self.kv.compact_rev) == (self.model.rev, self.model.compact_rev)


TestKVStoreModel = KVStoreMachine.TestCase
TestKVStoreModel.settings = settings(max_examples=1500, stateful_step_count=80, deadline=None)
