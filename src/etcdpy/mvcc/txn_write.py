"""TxnWrite: the changes that make one new revision of a KVStore.

Changes go into the index at once (so reads in the transaction see them) and
are kept in memory until `end`, which writes them and the consistent index in
one backend transaction. Every index change is logged so that `abort` (or a
failed `end`) puts the index back exactly as it was.

Change n of the transaction (puts and deletions alike, counted from 0) gets
revision (begin_rev + 1, n). The KeyValue messages handed out (`put`'s and
`delete_range`'s previous values, `changes`) are shared: callers must not
modify them.
"""

from __future__ import annotations

from types import TracebackType
from typing import TYPE_CHECKING, Self

from etcdpy.api.pb.mvccpb.kv_pb2 import Event, KeyValue
from etcdpy.mvcc import revision
from etcdpy.mvcc.index import Index
from etcdpy.mvcc.key_index import KeyIndex
from etcdpy.mvcc.revision import Revision
from etcdpy.storage import schema
from etcdpy.storage.backend import Backend

if TYPE_CHECKING:
    from etcdpy.mvcc.kvstore import KVStore, RangeResult

_parse = KeyValue.FromString
_encode_sub = revision.encode_sub
_PUT = Event.PUT
_DELETE = Event.DELETE
_KEY = schema.KEY
_META = schema.META
_CONSISTENT_INDEX = schema.META_CONSISTENT_INDEX


class TxnWrite:
    """One atomic write; end it with `end(consistent_index)` or `abort()` (also usable in a with block,
    which aborts unless ended)."""

    __slots__ = (
        "_backend",
        "_begin_rev",
        "_changes",
        "_events",
        "_index",
        "_main",
        "_open",
        "_pending",
        "_prefix",
        "_store",
        "_undo",
        "_writes",
    )

    def __init__(self, store: KVStore, index: Index, backend: Backend, begin_rev: int) -> None:
        self._store = store
        self._index = index
        self._backend = backend
        self._begin_rev = begin_rev
        self._main = begin_rev + 1
        self._prefix = revision.prefix(begin_rev + 1)
        # Backend entries to write at end: (revision key, serialized KeyValue), in revision order.
        self._writes: list[tuple[bytes, bytes]] = []
        # Values of this transaction's puts, for reads before they reach the backend.
        self._pending: dict[Revision, bytes] = {}
        # (event type, kv, previous kv) per change, in order.
        self._changes: list[tuple[Event.EventType, KeyValue, KeyValue | None]] = []
        self._events: list[Event] | None = None
        # Per index change: (key, its KeyIndex, or None if the change added it to the index, was a deletion).
        self._undo: list[tuple[bytes, KeyIndex | None, bool]] = []
        self._open = True

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._open:
            self.abort()

    @property
    def rev(self) -> int:
        """The revision reads here see: the store's, or the new one once something changed."""
        return self._main if self._changes else self._begin_rev

    @property
    def changes(self) -> list[Event]:
        """The events of this revision so far, in order, each with prev_kv when the key existed.

        A DELETE event's kv holds only the key and mod_revision. Lease bookkeeping
        follows from them: detach the key from prev_kv.lease, attach it to kv.lease.
        """
        if self._events is None:
            self._events = [Event(type=t, kv=kv, prev_kv=prev) for t, kv, prev in self._changes]
        return self._events

    def range(
        self, key: bytes, end: bytes | None = None, *, rev: int = 0, limit: int = 0, count_only: bool = False
    ) -> RangeResult:
        """As KVStore.range, over the store with this transaction's changes so far."""
        return self._store._range_at(key, end, self.rev, rev, limit, count_only, self._pending)

    def put(self, key: bytes, value: bytes, lease: int = 0) -> KeyValue | None:
        """Set key to value (attached to lease, 0 for none); returns the previous KeyValue if any."""
        ki = self._index.key_index(key)
        prev = None
        main = self._main
        if ki is not None:
            prev_rev = ki.latest()
            if prev_rev is not None:
                prev = self._load(prev_rev)
        if prev is None:
            kv = KeyValue(
                key=key, value=value, create_revision=main, mod_revision=main, version=1, lease=lease
            )
        else:
            kv = KeyValue(
                key=key,
                value=value,
                create_revision=prev.create_revision,
                mod_revision=main,
                version=prev.version + 1,
                lease=lease,
            )
        rev = self._prefix + _encode_sub(len(self._changes))
        data = kv.SerializeToString()
        self._pending[rev] = data
        self._writes.append((rev, data))
        self._undo.append((key, self._index.put(key, rev), False))
        self._changes.append((_PUT, kv, prev))
        self._events = None
        return prev

    def delete_range(self, key: bytes, end: bytes | None = None) -> list[KeyValue]:
        """Delete the existing keys in [key, end) (end as in range); returns their previous KeyValues."""
        index = self._index
        if end:
            targets = index.revisions(key, None if end == b"\0" else end, revision.bound(self._main + 1))
        else:
            ki = index.key_index(key)
            latest = ki.latest() if ki is not None else None
            targets = [] if ki is None or latest is None else [(ki, latest)]
        deleted = []
        main = self._main
        for ki, prev_rev in targets:
            prev = self._load(prev_rev)
            rev = self._prefix + _encode_sub(len(self._changes))
            self._writes.append((rev + revision.TOMBSTONE_MARK, KeyValue(key=ki.key).SerializeToString()))
            ki.tombstone(rev)
            self._undo.append((ki.key, ki, True))
            self._changes.append((_DELETE, KeyValue(key=ki.key, mod_revision=main), prev))
            deleted.append(prev)
        self._events = None
        return deleted

    def end(self, consistent_index: int | None = None) -> None:
        """Make the changes durable-on-sync and visible as the next revision (if there are any).

        The changes and `consistent_index` (if given) go to the backend in one
        transaction. If that fails the transaction is aborted and the error raised.
        """
        self._require_open()
        changed = bool(self._writes)
        store = self._store
        try:
            if changed or (consistent_index is not None and consistent_index != store.consistent_index):
                with self._backend.write() as txn:
                    for rev_key, data in self._writes:
                        txn.put(_KEY, rev_key, data, append=True)
                    if consistent_index is not None:
                        txn.put(_META, _CONSISTENT_INDEX, schema.encode_u64(consistent_index))
        except BaseException:
            self.abort()
            raise
        self._open = False
        store._end_write(self._main if changed else None, consistent_index)

    def abort(self) -> None:
        """Drop every change; the store is left as before the transaction."""
        self._require_open()
        index = self._index
        for key, ki, was_deletion in reversed(self._undo):
            if ki is None:
                index.remove(key)
            elif was_deletion:
                ki.undo_tombstone()
            else:
                ki.undo_put()
        self._open = False
        self._store._end_write(None, None)

    def _load(self, rev: Revision) -> KeyValue:
        data = self._pending.get(rev)
        if data is None:
            with self._backend.read() as txn:
                data = txn.get(_KEY, rev)
            if data is None:
                raise RuntimeError(f"mvcc: revision {revision.decode(rev)} is indexed but not stored")
        return _parse(data)

    def _require_open(self) -> None:
        if not self._open:
            raise RuntimeError("the write transaction has already ended")
