"""The multi-version key-value store: etcd's mvcc store on a Backend.

Every change is kept under its revision in the backend's `key` bucket (see
`revision`); the in-memory `Index` maps each key to its revisions, so reading a
key at any revision not yet compacted is one index lookup and one backend get.

Threading: the server calls every method from one thread (the event loop
thread), so there are no locks. At most one `TxnWrite` is open at a time; reads
through the store meanwhile see the state before it (its revisions are above
the store's revision and its values are not in the backend yet).

Revisions: a fresh store is at revision 1. Each TxnWrite that changes anything
makes exactly one new revision; one that changes nothing makes none.
Compaction at revision c makes reads below c fail with COMPACTED; reads at c
itself still work.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from etcdpy.api import errors
from etcdpy.api.pb.mvccpb.kv_pb2 import Event, KeyValue
from etcdpy.mvcc import revision
from etcdpy.mvcc.crc32c import Crc32c
from etcdpy.mvcc.index import Index
from etcdpy.mvcc.revision import Revision
from etcdpy.mvcc.txn_write import TxnWrite
from etcdpy.storage import schema
from etcdpy.storage.backend import Backend, ReadTxn

# Deletions per backend transaction when compacting; bounds the size of one LMDB commit.
COMPACTION_BATCH = 10_000

_parse = KeyValue.FromString


@dataclass(slots=True)
class RangeResult:
    kvs: list[KeyValue]
    count: int  # keys in the range at the read revision, regardless of limit
    rev: int  # the revision of the store (or of the write txn) the read ran against


class KVStore:
    """etcd's MVCC store. Opening it restores the index and revisions from the backend."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._index = Index()
        self._rev = 1
        self._compact_rev = -1
        self._consistent_index = 0
        self._writer: TxnWrite | None = None
        self._observers: list[Callable[[TxnWrite], None]] = []
        self._restore()

    def reload(self) -> None:
        """The backend's content was replaced (a snapshot from the leader): rebuild from it."""
        self._require_no_writer()
        self._index = Index()
        self._rev = 1
        self._compact_rev = -1
        self._consistent_index = 0
        self._restore()

    @property
    def backend(self) -> Backend:
        return self._backend

    @property
    def rev(self) -> int:
        """The revision of the last completed write (1 for a fresh store)."""
        return self._rev

    @property
    def compact_rev(self) -> int:
        """The revision of the last compaction, -1 if there was none."""
        return self._compact_rev

    @property
    def consistent_index(self) -> int:
        """The raft index of the last entry whose effects are in the backend (0 if none)."""
        return self._consistent_index

    def range(
        self, key: bytes, end: bytes | None = None, *, rev: int = 0, limit: int = 0, count_only: bool = False
    ) -> RangeResult:
        """The keys in [key, end) as of revision `rev` (0 or less: the current one).

        end None or b"": just `key`; b"\\0": every key >= key. At most `limit` kvs
        (0: no limit), in key order; `count` ignores the limit. `count_only`
        returns no kvs. Raises FUTURE_REV above the current revision and
        COMPACTED below the compaction revision.
        """
        return self._range_at(key, end, self._rev, rev, limit, count_only, None)

    def write(self) -> TxnWrite:
        """Start the write transaction that makes the next revision; end or abort it before the next."""
        if self._writer is not None:
            raise RuntimeError("a write transaction is already open")
        self._writer = TxnWrite(self, self._index, self._backend, self._rev)
        return self._writer

    def add_observer(self, observe: Callable[[TxnWrite], None]) -> None:
        """Call `observe(txn)` each time a TxnWrite has made a new revision, once it is the store's."""
        self._observers.append(observe)

    def save_consistent_index(self, consistent_index: int) -> None:
        """Persist the apply progress for an entry that changed nothing in the key space."""
        self._require_no_writer()
        with self._backend.write() as txn:
            txn.put(schema.META, schema.META_CONSISTENT_INDEX, schema.encode_u64(consistent_index))
        self._consistent_index = consistent_index

    def compact(self, rev: int, *, consistent_index: int | None = None) -> None:
        """Discard the history up to `rev`: every revision <= rev except each live key's newest.

        Raises COMPACTED if rev is not above the last compaction revision and
        FUTURE_REV if it is above the current revision. The compaction is
        persisted as scheduled before any data goes, so a crash midway resumes
        it on the next open.
        """
        self._require_no_writer()
        if rev <= self._compact_rev:
            raise errors.COMPACTED
        if rev > self._rev:
            raise errors.FUTURE_REV
        with self._backend.write() as txn:
            txn.put(schema.META, schema.META_SCHEDULED_COMPACT_REV, revision.encode(rev))
            if consistent_index is not None:
                txn.put(schema.META, schema.META_CONSISTENT_INDEX, schema.encode_u64(consistent_index))
        self._compact_rev = rev
        if consistent_index is not None:
            self._consistent_index = consistent_index
        self._finish_compaction(rev)

    def hash_kv(self, rev: int = 0) -> tuple[int, int, int]:
        """(hash, compact revision, hashed revision) of the key space as of `rev` (0: current).

        As etcd's HashKV: CRC-32C of b"key" then every stored (revision key,
        value) with main <= rev (none if rev < 0), leaving out revisions at or
        below the compaction revision that a compaction at `rev` would discard. Raises
        COMPACTED if rev <= compaction revision, FUTURE_REV above the current.
        """
        if 0 < rev <= self._compact_rev:
            raise errors.COMPACTED
        if rev > self._rev:
            raise errors.FUTURE_REV
        if rev == 0:
            rev = self._rev
        crc = Crc32c()
        crc.update(schema.KEY)
        if rev < 0:  # no stored revision is below it: etcd hashes b"key" alone
            return crc.value, self._compact_rev, rev
        keep = self._index.keep(revision.bound(rev + 1))
        lower = revision.bound(self._compact_rev + 1)
        with self._backend.read() as txn:
            for key, value in txn.items(schema.KEY, b"", revision.bound(rev + 1)):
                if keep and key < lower and key[: revision.REV_LEN] not in keep:
                    continue
                crc.update(key)
                crc.update(value)
        return crc.value, self._compact_rev, rev

    def events(self, start_rev: int, end_rev: int = 0) -> list[Event]:
        """The changes of revisions start_rev <= main < end_rev (0: through the current), in order.

        DELETE events carry the key and mod_revision only; no event carries
        prev_kv. Raises COMPACTED if start_rev is below the compaction revision.
        """
        if start_rev < self._compact_rev:
            raise errors.COMPACTED
        stop = revision.bound(end_rev if end_rev > 0 else self._rev + 1)
        out = []
        with self._backend.read() as txn:
            for key, value in txn.items(schema.KEY, revision.bound(max(start_rev, 0)), stop):
                kv = _parse(value)
                if revision.is_tombstone(key):
                    kv.mod_revision = revision.main_of(key)
                    out.append(Event(type=Event.DELETE, kv=kv))
                else:
                    out.append(Event(type=Event.PUT, kv=kv))
        return out

    def leased_keys(self) -> list[tuple[bytes, int]]:
        """(key, lease ID) of every existing key attached to a lease, for rebuilding the lessor."""
        out = []
        with self._backend.read() as txn:
            for ki in self._index.key_indexes():
                rev = ki.latest()
                if rev is not None:
                    lease = self._load(txn, rev, None).lease
                    if lease:
                        out.append((ki.key, lease))
        return out

    # Package-internal: used by TxnWrite.

    def _range_at(
        self,
        key: bytes,
        end: bytes | None,
        cur_rev: int,
        rev: int,
        limit: int,
        count_only: bool,
        pending: dict[Revision, bytes] | None,
    ) -> RangeResult:
        if rev > cur_rev:
            raise errors.FUTURE_REV
        if rev <= 0:
            rev = cur_rev
        if rev < self._compact_rev:
            raise errors.COMPACTED
        bound = revision.bound(rev + 1)
        if not end:
            found = self._index.get(key, bound)
            if found is None:
                return RangeResult([], 0, cur_rev)
            if count_only:
                return RangeResult([], 1, cur_rev)
            with self._backend.read() as txn:
                return RangeResult([self._load(txn, found, pending)], 1, cur_rev)
        stop = None if end == b"\0" else end
        if count_only:
            return RangeResult([], self._index.count(key, stop, bound), cur_rev)
        pairs = self._index.revisions(key, stop, bound)
        wanted = pairs if limit <= 0 else pairs[:limit]
        with self._backend.read() as txn:
            kvs = [self._load(txn, rev_key, pending) for _, rev_key in wanted]
        return RangeResult(kvs, len(pairs), cur_rev)

    @staticmethod
    def _load(txn: ReadTxn, rev: Revision, pending: dict[Revision, bytes] | None) -> KeyValue:
        data = pending.get(rev) if pending else None
        if data is None:
            data = txn.get(schema.KEY, rev)
            if data is None:
                raise RuntimeError(f"mvcc: revision {revision.decode(rev)} is indexed but not stored")
        return _parse(data)

    def _end_write(self, new_rev: int | None, consistent_index: int | None) -> None:
        writer, self._writer = self._writer, None
        if new_rev is not None:
            self._rev = new_rev
        if consistent_index is not None:
            self._consistent_index = consistent_index
        if new_rev is not None and writer is not None:
            for observe in self._observers:
                observe(writer)

    def _require_no_writer(self) -> None:
        if self._writer is not None:
            raise RuntimeError("a write transaction is open")

    def _restore(self) -> None:
        index = self._index
        last_main = 1
        with self._backend.read() as txn:
            finished = txn.get(schema.META, schema.META_FINISHED_COMPACT_REV)
            scheduled = txn.get(schema.META, schema.META_SCHEDULED_COMPACT_REV)
            ci = txn.get(schema.META, schema.META_CONSISTENT_INDEX)
            for key, value in txn.items(schema.KEY):
                rev = key[: revision.REV_LEN]
                user_key = _parse(value).key
                if len(key) == revision.REV_LEN:
                    index.put(user_key, rev)
                else:
                    # A tombstone whose puts were compacted away leaves no trace in the index.
                    index.tombstone(user_key, rev)
                last_main = revision.main_of(rev)
        if finished is not None:
            self._compact_rev = revision.main_of(finished)
        self._rev = max(last_main, self._compact_rev)
        if ci is not None:
            self._consistent_index = schema.decode_u64(ci)
        if scheduled is not None and revision.main_of(scheduled) > self._compact_rev:
            self._compact_rev = revision.main_of(scheduled)
            self._finish_compaction(self._compact_rev)

    def _finish_compaction(self, rev: int) -> None:
        keep = self._index.compact(revision.bound(rev + 1))
        stop = revision.bound(rev + 1)
        start = b""
        while True:
            with self._backend.write() as txn:
                batch = []
                for key, _ in txn.items(schema.KEY, start, stop):
                    batch.append(key)
                    if len(batch) == COMPACTION_BATCH:
                        break
                for key in batch:
                    if key[: revision.REV_LEN] not in keep:
                        txn.delete(schema.KEY, key)
                if len(batch) < COMPACTION_BATCH:
                    txn.put(schema.META, schema.META_FINISHED_COMPACT_REV, revision.encode(rev))
                    return
            start = batch[-1] + b"\0"
