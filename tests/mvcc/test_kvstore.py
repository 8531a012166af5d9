from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from etcdpy.api import errors
from etcdpy.api.pb.mvccpb.kv_pb2 import Event, KeyValue
from etcdpy.mvcc import kvstore as kvstore_module
from etcdpy.mvcc import revision
from etcdpy.mvcc.kvstore import KVStore
from etcdpy.storage import schema
from etcdpy.storage.backend import Backend

Open = Callable[[], KVStore]


@pytest.fixture
def open_store(tmp_path: Path) -> Iterator[Open]:
    """Opens (or reopens, closing the previous one) a KVStore on the same backend file."""
    opened: list[Backend] = []

    def reopen() -> KVStore:
        for b in opened:
            b.close()
        opened.clear()
        opened.append(Backend(str(tmp_path / "db")))
        return KVStore(opened[0])

    try:
        yield reopen
    finally:
        for b in opened:
            b.close()


@pytest.fixture
def kv(open_store: Open) -> KVStore:
    return open_store()


def put(kv: KVStore, key: bytes, value: bytes, lease: int = 0, ci: int | None = None) -> KeyValue | None:
    with kv.write() as tw:
        prev = tw.put(key, value, lease)
        tw.end(ci)
    return prev


def delete(kv: KVStore, key: bytes, end: bytes | None = None) -> list[KeyValue]:
    with kv.write() as tw:
        deleted = tw.delete_range(key, end)
        tw.end()
    return deleted


def keys(kv: KVStore, key: bytes = b"\0", end: bytes = b"\0", rev: int = 0) -> list[bytes]:
    return [item.key for item in kv.range(key, end, rev=rev).kvs]


def test_fresh_store(kv: KVStore) -> None:
    assert (kv.rev, kv.compact_rev, kv.consistent_index) == (1, -1, 0)
    assert kv.range(b"a").kvs == []
    assert kv.range(b"a", b"\0").count == 0


def test_put_versions_and_revisions(kv: KVStore) -> None:
    assert put(kv, b"a", b"1") is None
    prev = put(kv, b"a", b"2", lease=7)
    assert prev == KeyValue(key=b"a", value=b"1", create_revision=2, mod_revision=2, version=1)
    [now] = kv.range(b"a").kvs
    assert now == KeyValue(key=b"a", value=b"2", create_revision=2, mod_revision=3, version=2, lease=7)
    assert kv.rev == 3
    delete(kv, b"a")
    put(kv, b"a", b"3")
    [again] = kv.range(b"a").kvs
    assert (again.create_revision, again.mod_revision, again.version) == (5, 5, 1)


def test_stored_layout_is_etcds(kv: KVStore) -> None:
    with kv.write() as tw:
        tw.put(b"a", b"1")
        tw.put(b"b", b"2")
        tw.delete_range(b"a")
        tw.end(9)
    with kv.backend.read() as txn:
        stored = list(txn.items(schema.KEY))
        assert txn.get(schema.META, schema.META_CONSISTENT_INDEX) == (9).to_bytes(8, "big")
    assert [k for k, _ in stored] == [
        (2).to_bytes(8, "big") + b"_" + (0).to_bytes(8, "big"),
        (2).to_bytes(8, "big") + b"_" + (1).to_bytes(8, "big"),
        (2).to_bytes(8, "big") + b"_" + (2).to_bytes(8, "big") + b"t",
    ]
    assert KeyValue.FromString(stored[2][1]) == KeyValue(key=b"a")


def test_txn_without_changes_makes_no_revision(kv: KVStore) -> None:
    with kv.write() as tw:
        assert tw.delete_range(b"nothing", b"\0") == []
        assert tw.rev == 1
        tw.end(5)
    assert kv.rev == 1
    assert kv.consistent_index == 5
    assert delete(kv, b"x") == []
    assert kv.rev == 1


def test_reads_in_txn_see_own_writes_and_store_does_not(kv: KVStore) -> None:
    put(kv, b"a", b"old")
    with kv.write() as tw:
        assert tw.rev == 2
        tw.put(b"a", b"new")
        tw.put(b"b", b"x")
        assert tw.rev == 3
        assert [i.value for i in tw.range(b"a", b"c").kvs] == [b"new", b"x"]
        assert tw.range(b"a", rev=2).kvs[0].value == b"old"
        assert kv.range(b"a", b"c").count == 1
        assert kv.range(b"a").kvs[0].value == b"old"
        tw.delete_range(b"a")
        assert tw.range(b"a").kvs == []
        assert kv.range(b"a").kvs[0].value == b"old"
        prev = tw.put(b"a", b"again")
        assert prev is None
        [again] = tw.range(b"a").kvs
        assert (again.create_revision, again.version) == (3, 1)
        tw.end()
    assert [e.type for e in tw.changes] == [Event.PUT, Event.PUT, Event.DELETE, Event.PUT]
    assert [e.kv.mod_revision for e in tw.changes] == [3, 3, 3, 3]
    assert tw.changes[2].prev_kv.value == b"new"
    assert not tw.changes[3].HasField("prev_kv")
    assert kv.range(b"a").kvs[0].value == b"again"


def test_abort_restores_index(kv: KVStore) -> None:
    put(kv, b"a", b"1")
    put(kv, b"b", b"1")
    with kv.write() as tw:
        tw.put(b"a", b"2")
        tw.put(b"new", b"1")
        tw.delete_range(b"a", b"\0")
        tw.put(b"b", b"3")
        tw.abort()
    assert kv.rev == 3
    assert keys(kv) == [b"a", b"b"]
    assert kv.range(b"new").kvs == []
    put(kv, b"a", b"4")
    assert kv.range(b"a").kvs[0].version == 2


def test_with_block_aborts_unended_txn(kv: KVStore) -> None:
    with pytest.raises(KeyError), kv.write() as tw:
        tw.put(b"a", b"1")
        raise KeyError
    assert kv.range(b"a").kvs == []
    with kv.write() as tw:
        tw.put(b"a", b"1")
    assert kv.rev == 1
    assert kv.range(b"a").kvs == []


def test_failed_commit_rolls_back(kv: KVStore, monkeypatch: pytest.MonkeyPatch) -> None:
    put(kv, b"a", b"1")
    tw = kv.write()
    tw.put(b"a", b"2")
    tw.put(b"b", b"2")

    def broken_write() -> None:
        raise OSError("disk full")

    monkeypatch.setattr(kv.backend, "write", broken_write)
    with pytest.raises(OSError):
        tw.end(3)
    monkeypatch.undo()
    assert kv.rev == 2
    assert keys(kv) == [b"a"]
    put(kv, b"b", b"3")
    assert kv.rev == 3


def test_one_writer_at_a_time(kv: KVStore) -> None:
    tw = kv.write()
    with pytest.raises(RuntimeError):
        kv.write()
    with pytest.raises(RuntimeError):
        kv.compact(1)
    tw.end()
    with pytest.raises(RuntimeError):
        tw.end()
    kv.write().abort()


def test_range_bounds(kv: KVStore) -> None:
    for k in (b"a", b"ab", b"b", b"c"):
        put(kv, k, k)
    assert keys(kv, b"a", b"b") == [b"a", b"ab"]
    assert keys(kv, b"ab", b"\0") == [b"ab", b"b", b"c"]
    assert keys(kv, b"\0", b"\0") == [b"a", b"ab", b"b", b"c"]
    assert keys(kv, b"c", b"a") == []
    assert [i.key for i in kv.range(b"a", b"").kvs] == [b"a"]
    limited = kv.range(b"a", b"\0", limit=2)
    assert [i.key for i in limited.kvs] == [b"a", b"ab"]
    assert limited.count == 4
    counted = kv.range(b"a", b"\0", count_only=True)
    assert (counted.kvs, counted.count, counted.rev) == ([], 4, 5)
    assert kv.range(b"a", count_only=True).count == 1
    assert kv.range(b"zz", count_only=True).count == 0


def test_range_revision_errors(kv: KVStore) -> None:
    put(kv, b"a", b"1")
    with pytest.raises(errors.EtcdError) as e:
        kv.range(b"a", rev=3)
    assert e.value == errors.FUTURE_REV
    assert kv.range(b"a", rev=-5).kvs[0].value == b"1"
    put(kv, b"a", b"2")
    put(kv, b"a", b"3")
    kv.compact(3)
    with pytest.raises(errors.EtcdError) as e:
        kv.range(b"a", rev=2)
    assert e.value == errors.COMPACTED
    assert kv.range(b"a", rev=3).kvs[0].value == b"2"


def test_compact_errors_and_zero(kv: KVStore) -> None:
    with pytest.raises(errors.EtcdError) as e:
        kv.compact(2)
    assert e.value == errors.FUTURE_REV
    kv.compact(0)  # etcd accepts 0 on a fresh store: the compaction revision starts at -1
    assert kv.compact_rev == 0
    for rev in (0, -3):
        with pytest.raises(errors.EtcdError) as e:
            kv.compact(rev)
        assert e.value == errors.COMPACTED


def test_compaction_removes_history_and_survives_reopen(open_store: Open) -> None:
    kv = open_store()
    put(kv, b"a", b"1")  # 2
    put(kv, b"a", b"2")  # 3
    put(kv, b"b", b"1")  # 4
    delete(kv, b"b")  # 5
    put(kv, b"c", b"1")  # 6
    delete(kv, b"c")  # 7
    kv.compact(5, consistent_index=40)
    with kv.backend.read() as txn:
        stored = [revision.decode(k) for k, _ in txn.items(schema.KEY)]
        assert txn.get(schema.META, schema.META_FINISHED_COMPACT_REV) == revision.encode(5)
    assert stored == [(3, 0), (6, 0), (7, 0)]
    assert kv.consistent_index == 40
    assert keys(kv, rev=5) == [b"a"]
    assert keys(kv, rev=6) == [b"a", b"c"]
    kv = open_store()
    assert (kv.rev, kv.compact_rev, kv.consistent_index) == (7, 5, 40)
    assert keys(kv, rev=6) == [b"a", b"c"]
    assert keys(kv) == [b"a"]
    with pytest.raises(errors.EtcdError):
        kv.range(b"a", rev=4)


def test_revision_survives_compacting_everything(open_store: Open) -> None:
    kv = open_store()
    put(kv, b"a", b"1")
    delete(kv, b"a")
    kv.compact(3)
    with kv.backend.read() as txn:
        assert txn.count(schema.KEY) == 0
    kv = open_store()
    assert (kv.rev, kv.compact_rev) == (3, 3)
    put(kv, b"a", b"2")
    assert kv.range(b"a").kvs[0].mod_revision == 4


def test_interrupted_compaction_resumes_on_open(open_store: Open, monkeypatch: pytest.MonkeyPatch) -> None:
    kv = open_store()
    for i in range(30):
        put(kv, b"k%d" % (i % 3), b"v%d" % i)
    monkeypatch.setattr(kvstore_module, "COMPACTION_BATCH", 8)
    calls = 0
    real_write = kv.backend.write

    def crash_after_two_batches() -> object:
        nonlocal calls
        calls += 1
        if calls == 3:  # the scheduling write, then one deletion batch, then "crash"
            raise SystemExit("crash")
        return real_write()

    monkeypatch.setattr(kv.backend, "write", crash_after_two_batches)
    with pytest.raises(SystemExit):
        kv.compact(25)
    monkeypatch.undo()
    with kv.backend.read() as txn:
        assert txn.get(schema.META, schema.META_FINISHED_COMPACT_REV) is None
        assert txn.count(schema.KEY) > 3 + 6
    kv = open_store()
    assert kv.compact_rev == 25
    with kv.backend.read() as txn:
        assert txn.get(schema.META, schema.META_FINISHED_COMPACT_REV) == revision.encode(25)
        assert txn.count(schema.KEY) == 3 + 6  # newest <= 25 of each key, and revisions 26..31
    assert [i.value for i in kv.range(b"k0", b"k9", rev=25).kvs] == [b"v21", b"v22", b"v23"]


def test_hash_kv(kv: KVStore) -> None:
    empty_hash, compact_rev, hash_rev = kv.hash_kv()
    assert (empty_hash, compact_rev, hash_rev) == (1084519789, -1, 1)  # reference etcd 3.5.1, empty store
    put(kv, b"a", b"1")
    h2 = kv.hash_kv()
    put(kv, b"a", b"2")
    assert kv.hash_kv(2) == h2
    assert kv.hash_kv()[0] != h2[0]
    with pytest.raises(errors.EtcdError) as e:
        kv.hash_kv(4)
    assert e.value == errors.FUTURE_REV
    kv.compact(2)
    with pytest.raises(errors.EtcdError) as e:
        kv.hash_kv(2)
    assert e.value == errors.COMPACTED
    assert kv.hash_kv(3)[1:] == (2, 3)


def test_events(kv: KVStore) -> None:
    put(kv, b"a", b"1")
    with kv.write() as tw:
        tw.put(b"b", b"1")
        tw.delete_range(b"a")
        tw.end()
    events = kv.events(2)
    assert [(e.type, e.kv.key, e.kv.mod_revision) for e in events] == [
        (Event.PUT, b"a", 2),
        (Event.PUT, b"b", 3),
        (Event.DELETE, b"a", 3),
    ]
    assert [e.kv.key for e in kv.events(3, 4)] == [b"b", b"a"]
    assert kv.events(4) == []
    kv.compact(3)
    with pytest.raises(errors.EtcdError):
        kv.events(2)


def test_leased_keys(kv: KVStore) -> None:
    put(kv, b"a", b"1", lease=5)
    put(kv, b"b", b"1", lease=6)
    put(kv, b"c", b"1")
    put(kv, b"b", b"2")
    put(kv, b"d", b"1", lease=5)
    delete(kv, b"d")
    assert kv.leased_keys() == [(b"a", 5)]


def test_save_consistent_index(open_store: Open) -> None:
    kv = open_store()
    kv.save_consistent_index(12)
    assert open_store().consistent_index == 12


def test_defrag_after_delete_and_compaction_shrinks_file(open_store: Open) -> None:
    kv = open_store()
    for i in range(40):
        with kv.write() as tw:
            for j in range(50):
                tw.put(b"k%04d" % (i * 50 + j), b"x" * 500)
            tw.end(i + 1)
    delete(kv, b"k", b"l")
    put(kv, b"survivor", b"1")
    before = kv.backend.size
    kv.compact(kv.rev)
    kv.backend.defrag()
    assert kv.backend.size < before // 10
    assert keys(kv) == [b"survivor"]
    hash_before = kv.hash_kv()
    kv = open_store()
    assert kv.hash_kv() == hash_before
    assert keys(kv) == [b"survivor"]


def test_snapshot_opens_as_the_same_store(open_store: Open, tmp_path: Path) -> None:
    kv = open_store()
    put(kv, b"a", b"1", ci=3)
    put(kv, b"b", b"2", lease=9, ci=4)
    delete(kv, b"a")
    with kv.backend.snapshot() as snap:
        data = b"".join(snap)
    (tmp_path / "snap").mkdir()
    path = tmp_path / "snap" / "db"
    path.write_bytes(data)
    copy_backend = Backend(str(path))
    try:
        copy = KVStore(copy_backend)
        assert (copy.rev, copy.compact_rev, copy.consistent_index) == (kv.rev, kv.compact_rev, 4)
        assert copy.hash_kv() == kv.hash_kv()
        assert copy.range(b"a", rev=3).kvs == kv.range(b"a", rev=3).kvs
        assert copy.leased_keys() == [(b"b", 9)]
    finally:
        copy_backend.close()
