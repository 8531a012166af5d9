"""Segment files: names, listing, choosing where to start reading, creating one atomically.

A segment is named `%016x-%016x.wal` after its sequence number and the index of the next entry
when it was started. Sequence numbers in a directory are consecutive; name indexes usually grow,
but a Raft truncation can write entries below the tail's name index and the next name may then be
lower. Truncations only rewrite entries above the commit index, never ones a snapshot covers.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass

from etcdpy.pkg import fileutil
from etcdpy.storage.wal.errors import WALError

_NAME = re.compile(r"^([0-9a-f]{16})-([0-9a-f]{16})\.wal$")
TMP_SUFFIX = ".tmp"


@dataclass(frozen=True, slots=True)
class Segment:
    seq: int
    index: int

    @property
    def filename(self) -> str:
        return f"{self.seq:016x}-{self.index:016x}.wal"

    @classmethod
    def parse(cls, filename: str) -> Segment | None:
        m = _NAME.match(filename)
        return cls(int(m.group(1), 16), int(m.group(2), 16)) if m else None


def list_segments(dirpath: str) -> list[Segment]:
    """The directory's segments in sequence order; raise WALError if the sequence has a hole."""
    found = sorted(
        (seg for seg in map(Segment.parse, os.listdir(dirpath)) if seg is not None), key=lambda s: s.seq
    )
    for prev, cur in itertools.pairwise(found):
        if cur.seq != prev.seq + 1:
            raise WALError(f"wal: segments {prev.filename} and {cur.filename} in {dirpath} do not follow on")
    return found


def covering(segments: Sequence[Segment], index: int) -> int | None:
    """Position of the segment replay from snapshot `index` starts at (None if none can).

    It is the one before the first segment named above `index`. The live version of every entry
    above `index` was written there or later: an entry written to an earlier segment was truncated
    away before that segment was cut, since the cut named its successor last index + 1 <= `index`.
    The snapshot marker for `index` is there or later too: once it is written the last index
    stays at or above `index`, so every later segment is named above `index`.
    """
    pos = None
    for i, seg in enumerate(segments):
        if seg.index > index:
            break
        pos = i
    return pos


def remove_stale_temps(dirpath: str) -> bool:
    """Delete segments a crashed cut left unnamed; report whether any were deleted."""
    stale = [n for n in os.listdir(dirpath) if n.endswith(".wal" + TMP_SUFFIX)]
    for name in stale:
        os.unlink(os.path.join(dirpath, name))
    return bool(stale)


def create(dirpath: str, seg: Segment, header: bytes) -> int:
    """Write `header` into a new segment, durably, and return a write descriptor of it.

    The segment is written and fsync'd under a temporary name and then renamed, and the directory
    is fsync'd, so a segment that has its name always has its complete header.
    """
    path = os.path.join(dirpath, seg.filename)
    tmp = path + TMP_SUFFIX
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, fileutil.PRIVATE_FILE_MODE)
    try:
        fileutil.pwrite_all(fd, header, 0)
        os.fsync(fd)
        os.rename(tmp, path)
        fileutil.fsync_dir(dirpath)
    except BaseException:
        os.close(fd)
        raise
    return fd
