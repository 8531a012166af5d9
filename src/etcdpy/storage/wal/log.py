"""The write-ahead log: Raft's entries and hard state, durable before anything acts on them.

Life cycle: `WAL.create` (a new, empty log, ready for appending) or `WAL.open` followed by exactly
one `read_all` (replays the log, repairs a torn tail, then ready for appending); then `save`,
`save_snapshot`, `release_lock_to`; finally `close`. An open WAL holds an exclusive lock on its
directory. `WAL.valid_snapshots` finds the snapshots a restart can open at.

Threading: `save`, `save_snapshot`, `release_lock_to` and `close` may run on any thread (the server
runs `save` in an executor so fsync does not block its event loop) but never concurrently with each
other; the caller serialises them. `last_index` may be read from any thread at any time.

Writing: the tail segment has a zero-filled runway past the last record; a save overwrites runway
with one `pwrite` of all its records (extending the runway in the same write when it runs out) and
one `fdatasync`, which, with the file size unchanged, needs no metadata journalling. A segment
grown past `segment_bytes` is cut: trimmed to its last record, and a new segment started.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Sequence
from types import TracebackType

from etcdpy.pkg import fileutil, zaplog
from etcdpy.raft.raftpb import Entry, HardState, SnapshotMeta
from etcdpy.storage.wal import record, segment
from etcdpy.storage.wal.errors import SnapshotNotFoundError, WALError
from etcdpy.storage.wal.reader import replay
from etcdpy.storage.wal.segment import Segment

SEGMENT_BYTES = 64 * 1024 * 1024
RUNWAY_BYTES = 1024 * 1024  # zero-filled space kept ahead of the write position
_PAGE = 4096
_SLOW_SYNC_SECONDS = 1.0
_NO_SNAPSHOT = SnapshotMeta()

log = zaplog.get("wal")


class WAL:
    """A write-ahead log in a directory of segment files (see the module docstring)."""

    def __init__(
        self,
        dirpath: str,
        dir_fd: int,
        segments: list[Segment],
        replay_from: tuple[SnapshotMeta, int] | None,
        segment_bytes: int,
    ) -> None:
        """Internal: use `create` or `open`. Takes ownership of the locked `dir_fd`."""
        self._dir = dirpath
        self._dir_fd = dir_fd
        self._segments = segments
        # Until read_all has run: the snapshot opened at and the position of its covering segment.
        self._replay_from = replay_from
        self._segment_bytes = segment_bytes
        self._metadata = b""
        self._state = HardState()
        self._last_index = 0
        self._crc = 0
        self._tail_fd = -1
        self._offset = 0  # where the next record goes in the tail segment
        self._zeroed = 0  # tail file size: bytes from _offset up to here are zero
        self._unsynced = False
        self._failure: BaseException | None = None
        self._fresh = False  # made by create() and not written to yet

    # -- construction --

    @staticmethod
    def exists(dirpath: str) -> bool:
        """Whether `dirpath` holds at least one segment."""
        try:
            return any(Segment.parse(name) for name in os.listdir(dirpath))
        except FileNotFoundError:
            return False

    @classmethod
    def create(cls, dirpath: str, metadata: bytes, *, segment_bytes: int = SEGMENT_BYTES) -> WAL:
        """Create a new WAL holding `metadata` and the snapshot marker (0, 0), ready for `save`.

        The log is built in `<dirpath>.tmp` and renamed to `dirpath` (which may exist if empty), so
        a crash leaves either no WAL or a complete one. Raises FileExistsError if `dirpath` holds one.
        """
        if cls.exists(dirpath):
            raise FileExistsError(f"wal: {dirpath} already holds a WAL")
        dirpath = os.path.normpath(dirpath)
        parent = os.path.dirname(os.path.abspath(dirpath))
        tmpdir = dirpath + ".tmp"
        os.makedirs(parent, exist_ok=True)
        shutil.rmtree(tmpdir, ignore_errors=True)
        os.mkdir(tmpdir, fileutil.PRIVATE_DIR_MODE)
        first = Segment(0, 0)
        header, crc = record.segment_header(0, metadata, HardState(), SnapshotMeta())
        dir_fd = fileutil.open_dir(tmpdir)
        try:
            fileutil.lock_exclusive(dir_fd, tmpdir)
            tail_fd = segment.create(tmpdir, first, header)
            try:
                os.rename(tmpdir, dirpath)
                fileutil.fsync_dir(parent)
            except BaseException:
                os.close(tail_fd)
                raise
        except BaseException:
            os.close(dir_fd)
            shutil.rmtree(tmpdir, ignore_errors=True)
            raise
        wal = cls(dirpath, dir_fd, [first], None, segment_bytes)
        wal._metadata = metadata
        wal._crc = crc
        wal._tail_fd = tail_fd
        wal._offset = wal._zeroed = len(header)
        wal._fresh = True
        return wal

    @classmethod
    def open(
        cls, dirpath: str, snap: SnapshotMeta = _NO_SNAPSHOT, *, segment_bytes: int = SEGMENT_BYTES
    ) -> WAL:
        """Open the WAL in `dirpath` to replay from snapshot `snap`; call `read_all` next.

        Raises WALError if there is no WAL or it is locked, SnapshotNotFoundError if no segment
        reaches back to `snap.index`.
        """
        try:
            dir_fd = fileutil.open_dir(dirpath)
        except FileNotFoundError as exc:
            raise WALError(f"wal: file not found: {dirpath}") from exc
        try:
            try:
                fileutil.lock_exclusive(dir_fd, dirpath)
            except fileutil.LockedError as exc:
                raise WALError(f"wal: {exc.strerror}") from exc
            segments = segment.list_segments(dirpath)
            if not segments:
                raise WALError(f"wal: file not found: no segments in {dirpath}")
            first = segment.covering(segments, snap.index)
            if first is None:
                raise SnapshotNotFoundError(
                    f"wal: snapshot not found: oldest segment {segments[0].filename} starts after "
                    f"index {snap.index}"
                )
        except BaseException:
            os.close(dir_fd)
            raise
        return cls(dirpath, dir_fd, segments, (snap, first), segment_bytes)

    @staticmethod
    def valid_snapshots(dirpath: str) -> list[SnapshotMeta]:
        """The snapshot markers in `dirpath`, oldest first, at or below the last hard state's commit.

        The newest of them that the state machine holds durably is the one to `open` at. Reads
        only, without the lock; a torn tail is ignored, other damage raises WALCorruptError.
        """
        segments = segment.list_segments(dirpath)
        if not segments:
            raise WALError(f"wal: file not found: no segments in {dirpath}")
        survey = replay([os.path.join(dirpath, seg.filename) for seg in segments], None)
        return [snap for snap in survey.snapshots if snap.index <= survey.state.commit]

    def read_all(self) -> tuple[bytes, HardState, list[Entry]]:
        """Replay the log: (metadata, last hard state, entries after the snapshot opened at).

        Must be called once, after `open`. A torn tail (see `etcdpy.storage.wal.record`) is
        truncated away and logged; any other damage raises WALCorruptError before anything on
        disk changes. Afterwards the WAL is ready for `save`. On a WAL from `create` it may be
        called once before the first write, and returns the new, empty log.
        """
        if self._fresh and self._dir_fd >= 0:
            self._fresh = False
            return self._metadata, self._state, []
        if self._replay_from is None or self._dir_fd < 0:
            raise WALError("wal: read_all must be called exactly once, after open()")
        start, first = self._replay_from
        paths = [self._path(seg) for seg in self._segments[first:]]
        result = replay(paths, start)
        tail = paths[-1]
        tail_fd = os.open(tail, os.O_WRONLY | os.O_CLOEXEC)
        try:
            if result.torn is not None:
                log.warning(
                    "repairing torn WAL tail",
                    path=tail,
                    offset=result.torn.offset,
                    reason=result.torn.reason,
                )
                os.ftruncate(tail_fd, result.torn.offset)
                os.fsync(tail_fd)
            if segment.remove_stale_temps(self._dir):
                os.fsync(self._dir_fd)
            zeroed = os.fstat(tail_fd).st_size
        except BaseException:
            os.close(tail_fd)
            raise
        self._replay_from = None
        self._metadata = result.metadata
        self._state = result.state
        self._last_index = result.last_index
        self._crc = result.crc
        self._tail_fd = tail_fd
        self._offset = result.tail_end
        self._zeroed = zeroed
        return result.metadata, result.state, result.entries

    # -- writing --

    @property
    def last_index(self) -> int:
        """Index of the last entry saved (or of a newer snapshot marker)."""
        return self._last_index

    def save(self, hard_state: HardState | None, entries: Sequence[Entry], *, sync: bool = True) -> None:
        """Append `entries`, then `hard_state` if it changed; durable on return when `sync`.

        All records go out in one write and one fdatasync. Entries must have consecutive indexes,
        the first at most `last_index + 1`; a first index at or below `last_index` replaces that
        entry and all after it (Raft log truncation). With `sync=False` the records are written but
        become durable only with a later synced save, a snapshot, a cut or `close`.
        """
        self._check_writable()
        out: list[bytes] = []
        crc = self._crc
        last_index = self._last_index
        if entries:
            first = entries[0].index
            if not 0 < first <= last_index + 1 or entries[-1].index != first + len(entries) - 1:
                raise ValueError(
                    f"wal: cannot append entries {first}..{entries[-1].index} ({len(entries)} entries) "
                    f"after index {last_index}"
                )
            crc = record.frame_entries(entries, crc, out)
            last_index = entries[-1].index
        new_state = hard_state if hard_state is not None and hard_state != self._state else None
        if new_state is not None:
            crc = record.frame(record.state_payload(new_state), crc, out)
        if out:
            self._append(b"".join(out))
            self._crc = crc
            self._last_index = last_index
            if new_state is not None:
                self._state = new_state
        if self._offset >= self._segment_bytes:
            self._cut()
        elif sync and self._unsynced:
            self._sync()

    def save_snapshot(self, snap: SnapshotMeta) -> None:
        """Record, durably, that a snapshot covers the log up to `snap.index`."""
        self._check_writable()
        out: list[bytes] = []
        crc = record.frame(record.snapshot_payload(snap), self._crc, out)
        self._append(b"".join(out))
        self._crc = crc
        self._last_index = max(self._last_index, snap.index)
        self._sync()

    def release_lock_to(self, index: int, *, retain: int = 0) -> None:
        """Delete segments that opening at a snapshot at `index` would not read.

        Released are the segments before the one `segment.covering` picks for `index` (never the
        tail). They are deleted oldest first, so a crash leaves a consecutive run, while more than
        `retain` segments remain (etcd's --max-wals; 0 deletes every released segment).
        """
        self._check_writable()
        released = segment.covering(self._segments, index) or 0
        doomed = min(released, len(self._segments) - retain)
        if doomed <= 0:
            return
        for seg in self._segments[:doomed]:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self._path(seg))
        self._segments = self._segments[doomed:]
        self._fsync_dir()

    def close(self) -> None:
        """Sync what is unsynced, close the files and release the lock. Idempotent."""
        try:
            if self._tail_fd >= 0 and self._unsynced and self._failure is None:
                self._sync()
        finally:
            if self._tail_fd >= 0:
                os.close(self._tail_fd)
                self._tail_fd = -1
            if self._dir_fd >= 0:
                os.close(self._dir_fd)
                self._dir_fd = -1

    def __enter__(self) -> WAL:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- internals --

    def _path(self, seg: Segment) -> str:
        return os.path.join(self._dir, seg.filename)

    def _check_writable(self) -> None:
        if self._failure is not None:
            raise WALError(f"wal: unusable after a failed write: {self._failure}") from self._failure
        if self._dir_fd < 0:
            raise WALError("wal: closed")
        if self._replay_from is not None:
            raise WALError("wal: read_all() must be called before writing")

    def _append(self, data: bytes) -> None:
        """Write `data` at the write position, extending the zero runway in the same write if needed."""
        end = self._offset + len(data)
        zeroed = self._zeroed
        if end > zeroed:
            zeroed = max(end, min(_round_up(end + RUNWAY_BYTES, _PAGE), self._segment_bytes))
            data += bytes(zeroed - end)
        try:
            fileutil.pwrite_all(self._tail_fd, data, self._offset)
        except BaseException as exc:
            self._failure = exc
            raise
        self._offset = end
        self._zeroed = max(self._zeroed, zeroed)
        self._unsynced = True
        self._fresh = False

    def _sync(self) -> None:
        started = time.monotonic()
        try:
            os.fdatasync(self._tail_fd)
        except BaseException as exc:
            # After a failed fsync the kernel may have dropped the dirty pages: nothing written
            # since the last good sync can be trusted, so no further write may claim durability.
            self._failure = exc
            raise
        self._unsynced = False
        took = time.monotonic() - started
        if took > _SLOW_SYNC_SECONDS:
            log.warning(
                "slow fdatasync", took=f"{took:.3f}s", **{"expected-duration": f"{_SLOW_SYNC_SECONDS:.0f}s"}
            )

    def _fsync_dir(self) -> None:
        try:
            os.fsync(self._dir_fd)
        except BaseException as exc:
            self._failure = exc
            raise

    def _cut(self) -> None:
        """Trim the tail to its last record, make it durable, and continue in a new segment."""
        old_fd = self._tail_fd
        try:
            os.ftruncate(old_fd, self._offset)
            os.fsync(old_fd)
            nxt = Segment(self._segments[-1].seq + 1, self._last_index + 1)
            header, crc = record.segment_header(self._crc, self._metadata, self._state, None)
            new_fd = segment.create(self._dir, nxt, header)
        except BaseException as exc:
            self._failure = exc
            raise
        self._unsynced = False
        self._segments.append(nxt)
        self._tail_fd = new_fd
        self._crc = crc
        self._offset = self._zeroed = len(header)
        os.close(old_fd)
        log.info("created a new WAL segment", path=self._path(nxt))


def _round_up(n: int, multiple: int) -> int:
    return -(-n // multiple) * multiple
