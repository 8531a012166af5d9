"""Permission checks against a user's merged key intervals (etcd's range permission cache).

A permission covers one key (empty range end), the keys in [key, range_end), or every key from
`key` on (range end "\\0"). A user's permissions of one kind (read or write) are merged into
disjoint sorted intervals; a request is permitted when one interval covers it whole.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable
from dataclasses import dataclass, field

from etcdpy.api.pb.authpb import auth_pb2

READ = auth_pb2.Permission.READ
WRITE = auth_pb2.Permission.WRITE
READWRITE = auth_pb2.Permission.READWRITE

# Interval ends: None is "no end" (every key from the start on).
End = bytes | None


def _end_after(a: End, b: End) -> bool:
    """Whether end `a` lies beyond end `b`."""
    if a is None:
        return b is not None
    return b is not None and a > b


@dataclass
class Intervals:
    """Disjoint, sorted, non-adjacent intervals [start, end) plus single keys not inside them."""

    starts: list[bytes] = field(default_factory=list)
    ends: list[End] = field(default_factory=list)
    points: frozenset[bytes] = frozenset()

    @classmethod
    def merge(cls, perms: Iterable[tuple[bytes, bytes]]) -> Intervals:
        spans: list[tuple[bytes, End]] = []
        points: set[bytes] = set()
        for key, range_end in perms:
            if not range_end:
                points.add(key)
            elif range_end == b"\0":
                spans.append((key, None))
            elif key < range_end:
                spans.append((key, range_end))
        spans.sort(key=lambda s: s[0])
        out = cls()
        for start, end in spans:
            if out.starts and not _end_after(start, out.ends[-1]):  # overlaps or touches the last
                if _end_after(end, out.ends[-1]):
                    out.ends[-1] = end
            else:
                out.starts.append(start)
                out.ends.append(end)
        out.points = frozenset(p for p in points if not out._in_span(p))
        return out

    def _in_span(self, key: bytes) -> bool:
        i = bisect.bisect_right(self.starts, key) - 1
        return i >= 0 and _end_after(self.ends[i], key)

    def covers(self, key: bytes, range_end: bytes) -> bool:
        """Whether the request for `key` (empty `range_end`) or [key, range_end) is inside."""
        if not range_end:
            return key in self.points or self._in_span(key)
        end: End = None if range_end == b"\0" else range_end
        i = bisect.bisect_right(self.starts, key) - 1
        return i >= 0 and not _end_after(end, self.ends[i]) and _end_after(self.ends[i], key)


@dataclass(frozen=True)
class UserPerms:
    read: Intervals
    write: Intervals

    @classmethod
    def of(cls, perms: Iterable[auth_pb2.Permission]) -> UserPerms:
        reads: list[tuple[bytes, bytes]] = []
        writes: list[tuple[bytes, bytes]] = []
        for p in perms:
            if p.permType in (READ, READWRITE):
                reads.append((p.key, p.range_end))
            if p.permType in (WRITE, READWRITE):
                writes.append((p.key, p.range_end))
        return cls(Intervals.merge(reads), Intervals.merge(writes))
