"""The write-ahead log: Raft's entries and hard state in checksummed segment files.

`WAL` is the interface (`log`); the record format and the torn-tail rule are in `record`.
"""

from etcdpy.storage.wal.errors import (
    SnapshotMismatchError,
    SnapshotNotFoundError,
    WALCorruptError,
    WALError,
)
from etcdpy.storage.wal.log import SEGMENT_BYTES, WAL

__all__ = [
    "SEGMENT_BYTES",
    "WAL",
    "SnapshotMismatchError",
    "SnapshotNotFoundError",
    "WALCorruptError",
    "WALError",
]
