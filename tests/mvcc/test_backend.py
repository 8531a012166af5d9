from __future__ import annotations

import concurrent.futures
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from etcdpy.mvcc import crc32c
from etcdpy.storage import schema
from etcdpy.storage.backend import Backend


@pytest.fixture
def backend(tmp_path: Path) -> Iterator[Backend]:
    b = Backend(str(tmp_path / "db"))
    try:
        yield b
    finally:
        b.close()


def test_single_file_with_every_bucket(tmp_path: Path, backend: Backend) -> None:
    assert sorted(os.listdir(tmp_path)) == ["db", "db-lock"]
    with backend.read() as txn:
        for bucket in schema.BUCKETS:
            assert txn.count(bucket) == 0


def test_write_commits_on_clean_exit(backend: Backend) -> None:
    with backend.write() as txn:
        txn.put(schema.META, b"a", b"1")
        assert txn.get(schema.META, b"a") == b"1"
    with backend.read() as txn:
        assert txn.get(schema.META, b"a") == b"1"
        assert txn.get(schema.KEY, b"a") is None


def test_write_aborts_on_exception(backend: Backend) -> None:
    with pytest.raises(ZeroDivisionError), backend.write() as txn:
        txn.put(schema.META, b"a", b"1")
        _ = 1 // 0
    with backend.read() as txn:
        assert txn.get(schema.META, b"a") is None
    with backend.write() as txn:  # the writer slot was released
        txn.put(schema.META, b"b", b"2")


def test_no_nested_write(backend: Backend) -> None:
    with backend.write(), pytest.raises(RuntimeError):
        backend.write()


def test_read_is_a_snapshot(backend: Backend) -> None:
    with backend.read() as before:
        with backend.write() as txn:
            txn.put(schema.LEASE, b"k", b"v")
        assert before.get(schema.LEASE, b"k") is None
    with backend.read() as after:
        assert after.get(schema.LEASE, b"k") == b"v"


def test_items_delete_and_bounds(backend: Backend) -> None:
    with backend.write() as txn:
        for k in (b"a", b"b", b"c", b"d"):
            txn.put(schema.AUTH, k, k.upper())
        assert txn.delete(schema.AUTH, b"c")
        assert not txn.delete(schema.AUTH, b"zz")
    with backend.read() as txn:
        assert list(txn.items(schema.AUTH)) == [(b"a", b"A"), (b"b", b"B"), (b"d", b"D")]
        assert list(txn.items(schema.AUTH, b"b", b"d")) == [(b"b", b"B")]
        assert list(txn.items(schema.AUTH, b"bb")) == [(b"d", b"D")]
        assert list(txn.items(schema.AUTH, b"e")) == []
        assert txn.count(schema.AUTH) == 3


def test_append_requires_increasing_keys(backend: Backend) -> None:
    with backend.write() as txn:
        txn.put(schema.KEY, b"2", b"x", append=True)
    with pytest.raises(ValueError), backend.write() as txn:
        txn.put(schema.KEY, b"1", b"x", append=True)
    with backend.read() as txn:
        assert list(txn.items(schema.KEY)) == [(b"2", b"x")]


def _fill(backend: Backend, n: int, value_size: int = 1000) -> None:
    with backend.write() as txn:
        for i in range(n):
            txn.put(schema.KEY, b"%08d" % i, os.urandom(value_size))


def test_defrag_shrinks_after_deletes(backend: Backend) -> None:
    _fill(backend, 3000)
    with backend.write() as txn:
        for i in range(2900):
            txn.delete(schema.KEY, b"%08d" % i)
    before_hash = backend.hash()
    size_before = backend.size
    assert backend.size_in_use < size_before // 4
    backend.defrag()
    assert backend.size < size_before // 4
    assert backend.hash() == before_hash
    with backend.read() as txn:
        assert txn.count(schema.KEY) == 100
    with backend.write() as txn:  # usable after reopening
        txn.put(schema.META, b"x", b"y")


def test_snapshot_reopens_with_same_data(tmp_path: Path, backend: Backend) -> None:
    _fill(backend, 500)
    with backend.write() as txn:
        txn.put(schema.MEMBERS, b"m", b"1")
    with backend.snapshot(chunk_size=4096) as snap:
        with backend.write() as txn:  # later writes are not in the snapshot
            txn.put(schema.MEMBERS, b"later", b"2")
        chunks = list(snap)
        assert snap.remaining == 0
    data = b"".join(chunks)
    assert len(data) == snap.size
    assert all(len(c) == 4096 for c in chunks[:-1])
    path = tmp_path / "restored.db"
    path.write_bytes(data)
    restored = Backend(str(path))
    try:
        with restored.read() as txn:
            assert txn.get(schema.MEMBERS, b"later") is None
        with backend.write() as txn:
            txn.delete(schema.MEMBERS, b"later")
        assert restored.hash() == backend.hash()
    finally:
        restored.close()


def test_readonly_open_leaves_no_lock_file(tmp_path: Path, backend: Backend) -> None:
    with backend.write() as txn:
        txn.put(schema.CLUSTER, b"k", b"v")
    copy = tmp_path / "copy"
    copy.mkdir()
    with backend.snapshot() as snap:
        (copy / "snap.db").write_bytes(b"".join(snap))
    ro = Backend(str(copy / "snap.db"), readonly=True)
    try:
        with ro.read() as txn:
            assert txn.get(schema.CLUSTER, b"k") == b"v"
    finally:
        ro.close()
    assert os.listdir(copy) == ["snap.db"]


def test_hash_covers_buckets_but_not_consistent_index(backend: Backend) -> None:
    empty = backend.hash()
    expected = 0
    for bucket in schema.BUCKETS:
        expected = crc32c.extend(expected, bucket)
    assert empty == expected
    with backend.write() as txn:
        txn.put(schema.META, schema.META_CONSISTENT_INDEX, schema.encode_u64(7))
    assert backend.hash() == empty
    with backend.write() as txn:
        txn.put(schema.ALARM, b"a", b"b")
    assert backend.hash() != empty


def test_sync_and_reopen_keep_data(tmp_path: Path) -> None:
    b = Backend(str(tmp_path / "db"))
    with b.write() as txn:
        txn.put(schema.META, b"k", b"v")
    b.sync()
    b.close()
    b = Backend(str(tmp_path / "db"))
    try:
        with b.read() as txn:
            assert txn.get(schema.META, b"k") == b"v"
    finally:
        b.close()


def test_crc32c_implementations_agree() -> None:
    data = os.urandom(3000)
    assert crc32c.extend_pure(0, b"123456789") == 0xE3069283
    assert crc32c.extend(0, b"123456789") == 0xE3069283
    assert crc32c.extend(crc32c.extend(0, data[:1000]), data[1000:]) == crc32c.extend_pure(0, data)


def test_snapshot_on_a_worker_thread_while_writing(tmp_path: Path, backend: Backend) -> None:
    _fill(backend, 2000)
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        future = pool.submit(lambda: b"".join(backend.snapshot(chunk_size=1 << 16)))
        i = 0
        while not future.done():
            with backend.write() as txn:
                txn.put(schema.LEASE, b"%08d" % i, b"x" * 100)
            i += 1
        data = future.result()
    path = tmp_path / "copy.db"
    path.write_bytes(data)
    copy = Backend(str(path))
    try:
        with copy.read() as txn:
            assert txn.count(schema.KEY) == 2000
            leases = [k for k, _ in txn.items(schema.LEASE)]
        assert leases == [b"%08d" % n for n in range(len(leases))]  # a prefix of the writes: one commit
    finally:
        copy.close()


def test_batch_reads_see_its_writes(tmp_path: Path) -> None:
    backend = Backend(str(tmp_path / "db"))
    with backend.batch():
        with backend.write() as txn:
            txn.put(schema.META, b"a", b"1")
        with backend.write() as txn:
            txn.put(schema.META, b"b", b"2")
        with backend.read() as txn:
            assert [k for k, _ in txn.items(schema.META)] == [b"a", b"b"]
    backend.close()
    backend = Backend(str(tmp_path / "db"))
    with backend.read() as txn:
        assert [k for k, _ in txn.items(schema.META)] == [b"a", b"b"]
    backend.close()


def test_batch_write_aborts_alone(backend: Backend) -> None:
    with backend.batch():
        with backend.write() as txn:
            txn.put(schema.META, b"a", b"1")
        with pytest.raises(ZeroDivisionError), backend.write() as txn:
            txn.put(schema.META, b"b", b"2")
            _ = 1 // 0
        with backend.read() as txn:
            assert txn.get(schema.META, b"b") is None
    with backend.read() as txn:
        assert [k for k, _ in txn.items(schema.META)] == [b"a"]


def test_batch_commits_completed_writes_when_the_block_raises(backend: Backend) -> None:
    with pytest.raises(ZeroDivisionError), backend.batch():
        with backend.write() as txn:
            txn.put(schema.META, b"a", b"1")
        _ = 1 // 0
    with backend.read() as txn:
        assert txn.get(schema.META, b"a") == b"1"
    with backend.batch(), backend.write() as txn:  # the batch slot was released
        txn.put(schema.META, b"b", b"2")


def test_batch_rules(backend: Backend) -> None:
    with backend.batch():
        with pytest.raises(RuntimeError):
            backend.defrag()
        with pytest.raises(RuntimeError), backend.batch():
            pass
        with backend.write(), pytest.raises(RuntimeError):
            backend.read()
    with backend.write(), pytest.raises(RuntimeError), backend.batch():
        pass
