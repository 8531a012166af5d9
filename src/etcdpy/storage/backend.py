"""The backend: etcd's buckets in one LMDB environment kept in a single file.

The server keeps it at ``<data-dir>/member/snap/db`` (where etcd keeps its bbolt
file); LMDB adds ``db-lock`` beside it for its reader table.

Threading: the server calls every method from one thread (the event loop
thread). There are no locks here; a second write transaction while one is open
is a programming error and raises. The one exception: `snapshot` (and reading
the Snapshot it returns) may run on a worker thread, since LMDB readers are
thread-safe, but never while `defrag` or `close` runs. LMDB allows one open
Backend per file per process: close it before opening the file again (e.g. to
swap in a snapshot).

Batches: inside `batch()` every write transaction is an LMDB transaction nested
in the batch's one, so it is still atomic by itself (an abort drops only its
own changes), but all of them reach the file in a single commit when the batch
ends; reads meanwhile see the batch's changes. The server applies each group of
committed log entries in one batch.

Durability: the environment is opened with ``sync=False, metasync=False``, so a
commit writes its pages with ``write(2)`` but never waits for the disk. This is
safe because:

- A process crash loses nothing: committed pages are in the OS page cache.
- LMDB without ``writemap`` never overwrites live pages and flips between two
  meta pages, so on a file system that keeps write order a machine crash leaves
  the file at some earlier commit: atomicity, consistency and isolation hold and
  only the latest commits may be lost.
- Every commit carries the raft index of the entry it applies (``consistent_index``
  in the ``meta`` bucket), and the server replays the WAL from that index on
  start, so lost commits are re-applied. `sync` forces the file to disk; the
  server calls it periodically and always before it releases WAL segments, so
  the WAL still holds every entry the disk copy might lack.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from types import TracebackType
from typing import IO, Any, BinaryIO, Self, cast

import lmdb

from etcdpy.mvcc.crc32c import Crc32c
from etcdpy.storage import schema


class ReadTxn:
    """A consistent read-only view of the backend; use as a context manager."""

    __slots__ = ("_dbs", "_txn")

    def __init__(self, txn: Any, dbs: dict[bytes, Any]) -> None:
        self._txn = txn
        self._dbs = dbs

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._txn.abort()

    def get(self, bucket: bytes, key: bytes) -> bytes | None:
        value: bytes | None = self._txn.get(key, db=self._dbs[bucket])
        return value

    def items(
        self, bucket: bytes, start: bytes = b"", stop: bytes | None = None
    ) -> Iterator[tuple[bytes, bytes]]:
        """Entries with start <= key < stop (no upper bound if stop is None), in key order."""
        cursor = self._txn.cursor(db=self._dbs[bucket])
        if not cursor.set_range(start):
            return
        for key, value in cursor.iternext():
            if stop is not None and key >= stop:
                return
            yield key, value

    def count(self, bucket: bytes) -> int:
        entries: int = self._txn.stat(self._dbs[bucket])["entries"]
        return entries


class _BatchView(ReadTxn):
    """A read of the open batch: the batch's transaction outlives it."""

    __slots__ = ()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        pass


class WriteTxn(ReadTxn):
    """The single write transaction: commits on a clean exit, aborts on an exception."""

    __slots__ = ("_backend",)

    def __init__(self, txn: Any, dbs: dict[bytes, Any], backend: Backend) -> None:
        super().__init__(txn, dbs)
        self._backend = backend

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        backend = self._backend
        backend._writer = None
        if exc_type is None:
            self._txn.commit()
            if backend._batch is None:
                backend._refresh_size()
        else:
            self._txn.abort()

    def put(self, bucket: bytes, key: bytes, value: bytes, *, append: bool = False) -> None:
        """Store key -> value; `append` promises key sorts after every key in the bucket (faster).

        A broken promise raises ValueError and stores nothing.
        """
        if not self._txn.put(key, value, db=self._dbs[bucket], append=append):
            raise ValueError(f"append of key {key!r} that does not sort last in bucket {bucket!r}")

    def delete(self, bucket: bytes, key: bytes) -> bool:
        deleted: bool = self._txn.delete(key, db=self._dbs[bucket])
        return deleted


class Snapshot(Iterator[bytes]):
    """A consistent copy of the backend file, streamed in chunks.

    The copy lives in an anonymous temporary file next to the backend, so the
    backend keeps serving (and writing) while the copy is streamed. `size` is the
    total length; `remaining` the bytes not yet returned.
    """

    def __init__(self, file: IO[bytes], size: int, chunk_size: int) -> None:
        self._file = file
        self.size = size
        self.remaining = size
        self._chunk_size = chunk_size

    def __next__(self) -> bytes:
        chunk = self._file.read(self._chunk_size) if self.remaining else b""
        if not chunk:
            self.close()
            raise StopIteration
        self.remaining -= len(chunk)
        return chunk

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class Backend:
    """etcd's bucketed key-value backend on LMDB. Every bucket in `schema.BUCKETS` exists."""

    def __init__(self, path: str, *, map_size: int = 8 << 30, readonly: bool = False) -> None:
        """Open (creating if needed) the backend file at `path`.

        `readonly` opens an existing file without a lock file, for offline tools;
        nothing may write to the file meanwhile.
        """
        self._path = path
        self._map_size = map_size
        self._readonly = readonly
        self._writer: WriteTxn | None = None
        self._batch: Any = None  # the open batch's LMDB transaction
        self._env: Any = None
        self._dbs: dict[bytes, Any] = {}
        self._size = 0
        self._open()

    def _open(self) -> None:
        self._env = lmdb.open(
            self._path,
            map_size=self._map_size,
            subdir=False,
            readonly=self._readonly,
            lock=not self._readonly,
            sync=False,
            metasync=False,
            max_dbs=len(schema.BUCKETS),
            readahead=False,
        )
        self._dbs = {name: self._env.open_db(name, create=not self._readonly) for name in schema.BUCKETS}
        self._refresh_size()

    def _refresh_size(self) -> None:
        """Take the file's size, after opening it and after each top-level commit (which may have
        grown it): read once per commit rather than on every request that asks (the quota check)."""
        self._size = os.path.getsize(self._path)

    @property
    def path(self) -> str:
        return self._path

    def read(self) -> ReadTxn:
        if self._batch is None:
            return ReadTxn(self._env.begin(), self._dbs)
        if self._writer is not None:
            raise RuntimeError("cannot read a batch while one of its write transactions is open")
        return _BatchView(self._batch, self._dbs)

    def write(self) -> WriteTxn:
        if self._writer is not None:
            raise RuntimeError("a backend write transaction is already open")
        self._writer = WriteTxn(self._env.begin(write=True, parent=self._batch), self._dbs, self)
        return self._writer

    @contextlib.contextmanager
    def batch(self) -> Iterator[None]:
        """Commit the write transactions of the block at once, when it ends (see the module doc).

        The batch commits also when the block raises: each write transaction in it was either
        committed into the batch or aborted, so the batch holds exactly the completed ones.
        """
        if self._batch is not None or self._writer is not None:
            raise RuntimeError("a backend write transaction is already open")
        self._batch = self._env.begin(write=True)
        try:
            yield
        finally:
            txn, self._batch = self._batch, None
            txn.commit()
            self._refresh_size()

    def sync(self) -> None:
        """Force every commit so far to stable storage."""
        self._env.sync(True)

    @property
    def size(self) -> int:
        """Bytes the backend file takes, as of the last commit."""
        return self._size

    @property
    def size_in_use(self) -> int:
        """Bytes of the pages that hold data (meta pages, trees); the rest of the file is free pages."""
        env_stat = self._env.stat()
        pages = 2 + _pages(env_stat)
        with self._env.begin() as txn:
            for db in self._dbs.values():
                pages += _pages(txn.stat(db))
        return pages * int(env_stat["psize"])

    def snapshot(self, chunk_size: int = 1 << 20) -> Snapshot:
        """A compacted copy of the current contents, as of this call; it opens as a Backend."""
        file = self.copy()  # closed by the Snapshot once streamed
        return Snapshot(file, os.fstat(file.fileno()).st_size, chunk_size)

    def copy(self) -> BinaryIO:
        """A compacted copy of the current contents in an unnamed temporary file, positioned at 0."""
        file = tempfile.TemporaryFile(dir=os.path.dirname(os.path.abspath(self._path)), buffering=0)  # noqa: SIM115
        try:
            self._env.copyfd(file.fileno(), compact=True)
            file.seek(0)
        except BaseException:
            file.close()
            raise
        return cast(BinaryIO, file)

    def replace(self, path: str) -> None:
        """Take the database file at `path` (a copy of another backend, durable) as this backend's
        content, atomically: the file is renamed over this one and reopened. No transaction may be open."""
        if self._writer is not None or self._batch is not None:
            raise RuntimeError("cannot replace the backend during a write transaction")
        self._env.close()
        try:
            os.replace(path, self._path)
            _fsync_dir(os.path.dirname(os.path.abspath(self._path)))
        finally:
            self._open()

    def defrag(self) -> None:
        """Rewrite the file without free pages, atomically replace it, and reopen.

        No transaction may be open. On failure the original file is untouched.
        """
        if self._writer is not None or self._batch is not None:
            raise RuntimeError("cannot defragment during a write transaction")
        tmp_path = self._path + ".defrag"
        try:
            with open(tmp_path, "wb") as tmp:
                self._env.copyfd(tmp.fileno(), compact=True)
                os.fsync(tmp.fileno())
        except BaseException:
            os.unlink(tmp_path)
            raise
        self._env.close()
        try:
            os.replace(tmp_path, self._path)
            _fsync_dir(os.path.dirname(os.path.abspath(self._path)))
        finally:
            if os.path.exists(tmp_path):
                os.unlink(tmp_path)
            self._open()

    def hash(self) -> int:
        """CRC-32C over every bucket's name and entries, in name then key order (etcd's Hash)."""
        crc = Crc32c()
        with self.read() as txn:
            for bucket in schema.BUCKETS:
                crc.update(bucket)
                for key, value in txn.items(bucket):
                    if (bucket, key) not in schema.HASH_IGNORED:
                        crc.update(key)
                        crc.update(value)
        return crc.value

    def close(self) -> None:
        self._env.close()


def _pages(stat: dict[str, int]) -> int:
    return stat["branch_pages"] + stat["leaf_pages"] + stat["overflow_pages"]


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
