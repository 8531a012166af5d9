"""The WAL's exceptions. Every one subclasses WALError."""

from __future__ import annotations


class WALError(Exception):
    """The WAL cannot be used as asked (missing, locked, misused, failed I/O, inconsistent content)."""


class WALCorruptError(WALError):
    """Bytes on disk that no crash of this WAL can produce: refuse to start, change nothing.

    Raised for damage anywhere but a torn tail (see `etcdpy.storage.wal.record` for the rule) and
    for records that are intact but contradict the log (conflicting metadata, missing entries).
    """

    def __init__(self, path: str, offset: int, reason: str) -> None:
        super().__init__(f"wal: corrupt record in {path} at offset {offset}: {reason}")
        self.path = path
        self.offset = offset
        self.reason = reason


class SnapshotNotFoundError(WALError):
    """The WAL records no snapshot marker for the snapshot it was opened at."""


class SnapshotMismatchError(WALError):
    """The WAL records the snapshot's index with a different term."""
