"""Replay of segment files into the log they record. Reads only; the caller repairs a torn tail."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from etcdpy.raft.raftpb import Entry, EntryType, HardState, SnapshotMeta
from etcdpy.storage.wal import record
from etcdpy.storage.wal.errors import (
    SnapshotMismatchError,
    SnapshotNotFoundError,
    WALCorruptError,
    WALError,
)
from etcdpy.storage.wal.record import HEADER_SIZE, MAGIC, Damage, RecordType

_ENTRY_TYPES = {int(t): t for t in EntryType}
# Plain ints: comparing a byte with an IntEnum member is several times slower.
_ENTRY, _STATE, _SNAPSHOT, _METADATA = (
    int(t) for t in (RecordType.ENTRY, RecordType.STATE, RecordType.SNAPSHOT, RecordType.METADATA)
)
_ENTRY_DATA = HEADER_SIZE + record.ENTRY_BODY.size
_BEYOND_ALL = 1 << 64  # a survey replays from past every index, so it keeps no entry


@dataclass(slots=True)
class Replay:
    """The log as last written, from the snapshot the WAL was opened at, and where writing resumes."""

    metadata: bytes
    state: HardState
    entries: list[Entry]
    last_index: int  # as the writer tracks it: last entry saved, raised by snapshot markers
    crc: int  # chain crc after the last intact record
    tail_end: int  # offset after the last intact record of the last segment
    torn: Damage | None  # the torn record of the last segment, to be truncated away
    snapshots: list[SnapshotMeta]  # every snapshot marker read, in order


def replay(paths: Sequence[str], start: SnapshotMeta | None) -> Replay:
    """Decode the segments `paths` (consecutive, the first one covering `start.index`).

    Entries up to `start.index` are skipped; a later entry at or below the last one read
    replaces it and everything after it. With `start` None (a survey of the markers and the hard
    state) no entries are kept and no snapshot marker is required. Raises WALCorruptError,
    SnapshotNotFoundError, SnapshotMismatchError; never writes.
    """
    replayer = _Replayer(start)
    for i, path in enumerate(paths):
        replayer.segment(path, first=i == 0, last=i == len(paths) - 1)
    return replayer.finish()


@dataclass(slots=True)
class _Replayer:
    start: SnapshotMeta | None
    metadata: bytes | None = None
    state: HardState = field(default_factory=HardState)
    entries: list[Entry] = field(default_factory=list)
    last_index: int = 0
    crc: int = 0
    tail_end: int = 0
    torn: Damage | None = None
    snapshot_found: bool = False
    start_entry_term: int | None = None  # term of the live entry at start.index, if one was read
    snapshots: list[SnapshotMeta] = field(default_factory=list)

    def segment(self, path: str, *, first: bool, last: bool) -> None:
        with open(path, "rb") as f:
            buf = f.read()
        if buf[: len(MAGIC)] != MAGIC:
            raise WALCorruptError(path, 0, "not an etcd-py WAL segment (bad magic)")
        pos, crc, header_end = self._crc_record(path, buf, first)
        start_index = self.start.index if self.start is not None else _BEYOND_ALL
        ents = self.entries
        last_index = self.last_index
        unpack_entry = record.ENTRY_BODY.unpack_from
        check = record.check
        end_of_file = len(buf)
        while pos < end_of_file:
            got = check(buf, pos, crc)
            if isinstance(got, Damage):
                self._damage(path, buf, got, header_end, last)
                break
            end, crc = got
            rtype = buf[pos + HEADER_SIZE]
            size = end - pos - HEADER_SIZE
            if rtype == _ENTRY and size >= record.ENTRY_BODY.size:
                _, term, index, etype = unpack_entry(buf, pos + HEADER_SIZE)
                if index > start_index:
                    up = index - start_index - 1
                    if up != len(ents):
                        if up > len(ents):
                            raise WALCorruptError(
                                path,
                                pos,
                                f"entry {index} does not follow index {start_index + len(ents)}: entries "
                                "are missing (or the WAL was opened at an older snapshot than it records)",
                            )
                        del ents[up:]
                    entry_type = _ENTRY_TYPES.get(etype)
                    if entry_type is None:
                        raise WALCorruptError(path, pos, f"entry {index} has unknown entry type {etype}")
                    ents.append(Entry(term, index, entry_type, buf[pos + _ENTRY_DATA : end]))
                else:
                    # It replaces every later entry: those kept so far and any read at start.index.
                    ents.clear()
                    self.start_entry_term = term if index == start_index else None
                last_index = index
            elif rtype == _STATE and size == record.STATE_BODY.size:
                _, term, vote, commit = record.STATE_BODY.unpack_from(buf, pos + HEADER_SIZE)
                self.state = HardState(term, vote, commit)
            elif rtype == _SNAPSHOT and (snap := record.parse_snapshot(buf[pos + HEADER_SIZE : end])):
                self._snapshot(snap)
                last_index = max(last_index, snap.index)
            elif rtype == _METADATA:
                self._metadata(path, pos, buf[pos + HEADER_SIZE + 1 : end])
            else:
                raise WALCorruptError(path, pos, f"unexpected record of type {rtype} and {size} bytes")
            pos = end
        else:
            if pos < header_end:
                raise WALCorruptError(path, pos, "segment ends inside its header")
            self.tail_end = pos
        self.crc = crc
        self.last_index = last_index

    def _crc_record(self, path: str, buf: bytes, first: bool) -> tuple[int, int, int]:
        """Check the CRC record opening a segment; return (offset after it, chain crc, header end)."""
        pos = len(MAGIC)
        got = record.check(buf, pos, 0)
        if isinstance(got, Damage):
            raise WALCorruptError(path, pos, got.reason)
        end, _ = got
        if buf[pos + HEADER_SIZE] != RecordType.CRC or end - pos != record.CRC_RECORD_SIZE:
            raise WALCorruptError(path, pos, "segment does not start with a CRC record")
        _, chain, header_end = record.CRC_BODY.unpack_from(buf, pos + HEADER_SIZE)
        if not first and chain != self.crc:
            raise WALCorruptError(
                path, pos, f"segment continues chain crc {chain:08x}, the previous one ends at {self.crc:08x}"
            )
        return end, chain, header_end

    def _damage(self, path: str, buf: bytes, damage: Damage, header_end: int, last: bool) -> None:
        """Classify the stop at `damage` (module docstring of `record`): clean end, torn tail, or raise."""
        if last and damage.offset >= header_end:
            if record.all_zero(buf, damage.offset):
                self.tail_end = damage.offset
                return
            if record.all_zero(buf, damage.extent):
                self.tail_end = damage.offset
                self.torn = damage
                return
        where = "before the last segment" if not last else "followed by data"
        if last and damage.offset < header_end:
            where = "inside the segment header"
        raise WALCorruptError(path, damage.offset, f"{damage.reason}, {where}")

    def _snapshot(self, snap: SnapshotMeta) -> None:
        self.snapshots.append(snap)
        index, term = snap.index, snap.term
        if self.start is not None and index == self.start.index:
            if term != self.start.term:
                raise SnapshotMismatchError(
                    f"wal: snapshot mismatch: WAL records snapshot {index} at term {term}, "
                    f"opened at term {self.start.term}"
                )
            self.snapshot_found = True

    def _metadata(self, path: str, pos: int, metadata: bytes) -> None:
        if self.metadata is not None and metadata != self.metadata:
            raise WALCorruptError(path, pos, "metadata conflicts with the metadata of earlier records")
        self.metadata = metadata

    def finish(self) -> Replay:
        start = self.start or SnapshotMeta()
        if self.start is not None and not self.snapshot_found:
            raise SnapshotNotFoundError(
                f"wal: snapshot not found: no marker for index {start.index} term {start.term}"
            )
        if self.start_entry_term is not None and self.start_entry_term != start.term:
            raise SnapshotMismatchError(
                f"wal: snapshot mismatch: entry {start.index} has term {self.start_entry_term}, "
                f"snapshot has term {start.term}"
            )
        if self.metadata is None:
            raise WALError("wal: no metadata record")
        return Replay(
            self.metadata,
            self.state,
            self.entries,
            max(self.last_index, start.index),
            self.crc,
            self.tail_end,
            self.torn,
            self.snapshots,
        )
