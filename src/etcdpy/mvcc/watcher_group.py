"""A set of watchers indexed for one question: which of them watch this key?

Watchers fall into three buckets by the shape of their range:
- single keys: a dict lookup;
- prefix ranges ([p, prefix_end(p)), and from-key ranges that are really
  prefixes): one dict lookup per distinct prefix length in use;
- any other range: a scan over the distinct ranges.
Most ranges in practice are prefixes, so matching a key costs a few lookups.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeVar

from etcdpy.mvcc.watcher import Watcher

FROM_KEY = b"\0"
_K = TypeVar("_K")


def prefix_end(prefix: bytes) -> bytes:
    """The range end that makes [prefix, end) hold exactly the keys starting with prefix (b"\\0": no end)."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return FROM_KEY
    return stripped[:-1] + bytes([stripped[-1] + 1])


def range_prefix(key: bytes, end: bytes) -> bytes | None:
    """The prefix p such that [key, end) is exactly the keys starting with p, or None if there is none."""
    if end == FROM_KEY:
        if key == b"\0":
            return b""  # every key
        return key if not key.rstrip(b"\xff") else None
    return key if prefix_end(key) == end else None


class WatcherGroup:
    def __init__(self) -> None:
        self._all: set[Watcher] = set()
        self._keys: dict[bytes, set[Watcher]] = {}
        self._prefixes: dict[bytes, set[Watcher]] = {}
        # Prefix length -> how many distinct prefixes of that length are in use.
        self._prefix_lens: dict[int, int] = {}
        self._ranges: dict[tuple[bytes, bytes], set[Watcher]] = {}

    def __len__(self) -> int:
        return len(self._all)

    def __iter__(self) -> Iterator[Watcher]:
        return iter(self._all)

    def __contains__(self, w: Watcher) -> bool:
        return w in self._all

    def add(self, w: Watcher) -> None:
        if w in self._all:
            raise ValueError("watcher added twice")
        self._all.add(w)
        if not w.end:
            self._keys.setdefault(w.key, set()).add(w)
            return
        prefix = range_prefix(w.key, w.end)
        if prefix is None:
            self._ranges.setdefault((w.key, w.end), set()).add(w)
            return
        members = self._prefixes.get(prefix)
        if members is None:
            members = self._prefixes[prefix] = set()
            self._prefix_lens[len(prefix)] = self._prefix_lens.get(len(prefix), 0) + 1
        members.add(w)

    def remove(self, w: Watcher) -> bool:
        """Remove `w`; False if it was not in the group."""
        if w not in self._all:
            return False
        self._all.remove(w)
        if not w.end:
            _discard(self._keys, w.key, w)
            return True
        prefix = range_prefix(w.key, w.end)
        if prefix is None:
            _discard(self._ranges, (w.key, w.end), w)
        elif _discard(self._prefixes, prefix, w):
            n = self._prefix_lens[len(prefix)] - 1
            if n:
                self._prefix_lens[len(prefix)] = n
            else:
                del self._prefix_lens[len(prefix)]
        return True

    def matching(self, key: bytes) -> list[Watcher]:
        """Every watcher in the group whose range holds `key`."""
        out: list[Watcher] = []
        members = self._keys.get(key)
        if members:
            out.extend(members)
        if self._prefix_lens:
            prefixes = self._prefixes
            for n in self._prefix_lens:
                if n <= len(key):
                    members = prefixes.get(key[:n])
                    if members:
                        out.extend(members)
        for (start, end), members in self._ranges.items():
            if start <= key and (end == FROM_KEY or key < end):
                out.extend(members)
        return out


def _discard(index: dict[_K, set[Watcher]], k: _K, w: Watcher) -> bool:
    """Drop w from index[k]; True if that emptied (and removed) index[k]."""
    members = index[k]
    members.discard(w)
    if members:
        return False
    del index[k]
    return True
