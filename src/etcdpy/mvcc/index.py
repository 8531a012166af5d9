"""The in-memory index: every key's KeyIndex, ordered by key for range scans.

Keys that were deleted stay in the index (their history is still readable at
older revisions) until a compaction leaves their KeyIndex empty.
"""

from __future__ import annotations

from collections.abc import Iterator

from sortedcontainers import SortedDict

from etcdpy.mvcc.key_index import KeyIndex
from etcdpy.mvcc.revision import Revision


class Index:
    __slots__ = ("_tree",)

    def __init__(self) -> None:
        self._tree: SortedDict = SortedDict()

    def __len__(self) -> int:
        return len(self._tree)

    def key_index(self, key: bytes) -> KeyIndex | None:
        ki: KeyIndex | None = self._tree.get(key)
        return ki

    def key_indexes(self) -> Iterator[KeyIndex]:
        """Every KeyIndex in key order."""
        values: Iterator[KeyIndex] = iter(self._tree.values())
        return values

    def get(self, key: bytes, bound: bytes) -> Revision | None:
        """The revision of key visible at main < bound, or None."""
        ki: KeyIndex | None = self._tree.get(key)
        return ki.get(bound) if ki is not None else None

    def revisions(self, key: bytes, end: bytes | None, bound: bytes) -> list[tuple[KeyIndex, Revision]]:
        """(KeyIndex, revision) of every key in [key, end) visible at main < bound, in key order.

        end None means no upper bound.
        """
        out = []
        tree = self._tree
        for k in self._keys(key, end):
            ki = tree[k]
            rev = ki.get(bound)
            if rev is not None:
                out.append((ki, rev))
        return out

    def count(self, key: bytes, end: bytes | None, bound: bytes) -> int:
        """How many keys in [key, end) are visible at main < bound."""
        tree = self._tree
        return sum(1 for k in self._keys(key, end) if tree[k].get(bound) is not None)

    def _keys(self, key: bytes, end: bytes | None) -> list[bytes]:
        tree = self._tree
        lo = tree.bisect_left(key)
        hi = len(tree) if end is None else tree.bisect_left(end)
        keys: list[bytes] = tree.keys()[lo:hi] if lo < hi else []
        return keys

    def put(self, key: bytes, rev: Revision) -> KeyIndex | None:
        """Record a put; returns the key's KeyIndex if it had one (None: the key is new to the index)."""
        ki: KeyIndex | None = self._tree.get(key)
        if ki is None:
            self._tree[key] = KeyIndex(key, rev)
        else:
            ki.put(rev)
        return ki

    def tombstone(self, key: bytes, rev: Revision) -> bool:
        """Record a deletion; False (and nothing recorded) if the key does not currently exist."""
        ki: KeyIndex | None = self._tree.get(key)
        if ki is None or ki.latest() is None:
            return False
        ki.tombstone(rev)
        return True

    def remove(self, key: bytes) -> None:
        del self._tree[key]

    def compact(self, bound: bytes) -> set[Revision]:
        """Compact every key at main < bound; returns the revisions below bound still needed."""
        available: set[Revision] = set()
        emptied = []
        for ki in self._tree.values():
            ki.compact(bound, available)
            if ki.is_empty():
                emptied.append(ki.key)
        for key in emptied:
            del self._tree[key]
        return available

    def keep(self, bound: bytes) -> set[Revision]:
        """The revisions below bound that `compact(bound)` would keep."""
        available: set[Revision] = set()
        for ki in self._tree.values():
            ki.keep(bound, available)
        return available
