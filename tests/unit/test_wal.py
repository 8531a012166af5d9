"""WAL API: create/open/read_all/save round trips, Raft truncation, segments, snapshots, release."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etcdpy.raft.raftpb import Entry, EntryType, HardState, SnapshotMeta
from etcdpy.storage.wal import (
    WAL,
    SnapshotMismatchError,
    SnapshotNotFoundError,
    WALCorruptError,
    WALError,
)

NO_SNAPSHOT = SnapshotMeta()


def ents(first: int, last: int, term: int = 1, size: int = 40) -> list[Entry]:
    return [
        Entry(term, i, EntryType.NORMAL, f"{term}:{i}:".encode().ljust(size, b"."))
        for i in range(first, last + 1)
    ]


def reopen(
    path: Path, snap: SnapshotMeta = NO_SNAPSHOT, **kw: int
) -> tuple[WAL, bytes, HardState, list[Entry]]:
    wal = WAL.open(str(path), snap, **kw)
    try:
        md, hs, entries = wal.read_all()
    except BaseException:
        wal.close()
        raise
    return wal, md, hs, entries


def segment_names(path: Path) -> list[str]:
    return sorted(n for n in os.listdir(path) if n.endswith(".wal"))


@pytest.fixture
def waldir(tmp_path: Path) -> Path:
    return tmp_path / "member" / "wal"


@pytest.fixture
def wal(waldir: Path) -> Iterator[WAL]:
    w = WAL.create(str(waldir), b"node-1/cluster-9")
    try:
        yield w
    finally:
        w.close()


def test_create_open_round_trip(waldir: Path) -> None:
    assert not WAL.exists(str(waldir))
    with WAL.create(str(waldir), b"meta") as w:
        assert w.last_index == 0
        w.save(HardState(1, 1, 0), ents(1, 5))
        w.save(HardState(1, 1, 5), [])
        w.save(None, ents(6, 7, size=0))
        assert w.last_index == 7
    assert WAL.exists(str(waldir))
    assert not (waldir.parent / "wal.tmp").exists()
    w, md, hs, entries = reopen(waldir)
    with w:
        assert md == b"meta"
        assert hs == HardState(1, 1, 5)
        assert entries == ents(1, 5) + ents(6, 7, size=0)
        assert w.last_index == 7


def test_entry_types_and_large_values_survive(wal: WAL, waldir: Path) -> None:
    big = os.urandom(3 * 1024 * 1024)
    written = [
        Entry(2, 1, EntryType.CONF_CHANGE, b"cc"),
        Entry(2, 2, EntryType.CONF_CHANGE_V2, b""),
        Entry(3, 3, EntryType.NORMAL, big),
        Entry(2**64 - 1, 4, EntryType.NORMAL, b"max term"),
    ]
    wal.save(HardState(2**64 - 1, 2**64 - 1, 4), written)
    wal.close()
    w, _, hs, entries = reopen(waldir)
    with w:
        assert entries == written
        assert hs == HardState(2**64 - 1, 2**64 - 1, 4)


def test_fresh_wal_reads_empty(wal: WAL, waldir: Path) -> None:
    wal.close()
    w, md, hs, entries = reopen(waldir)
    with w:
        assert (md, hs, entries, w.last_index) == (b"node-1/cluster-9", HardState(), [], 0)


def test_create_refuses_existing_wal_but_accepts_empty_dir(tmp_path: Path) -> None:
    target = tmp_path / "wal"
    target.mkdir()
    WAL.create(str(target), b"m").close()
    with pytest.raises(FileExistsError):
        WAL.create(str(target), b"m")
    assert segment_names(target) == ["0000000000000000-0000000000000000.wal"]


def test_create_replaces_stale_tmp_dir(tmp_path: Path) -> None:
    stale = tmp_path / "wal.tmp"
    stale.mkdir()
    (stale / "junk").write_bytes(b"x")
    WAL.create(str(tmp_path / "wal"), b"m").close()
    assert not stale.exists()
    assert segment_names(tmp_path / "wal") == ["0000000000000000-0000000000000000.wal"]


def test_open_missing(tmp_path: Path) -> None:
    with pytest.raises(WALError, match="file not found"):
        WAL.open(str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(WALError, match="file not found"):
        WAL.open(str(tmp_path / "empty"))


def test_lock_excludes_second_opener(wal: WAL, waldir: Path) -> None:
    with pytest.raises(WALError, match="locked"):
        WAL.open(str(waldir))
    wal.close()
    w, *_ = reopen(waldir)
    with w, pytest.raises(WALError, match="locked"):
        WAL.open(str(waldir))


def test_read_all_protocol(wal: WAL, waldir: Path) -> None:
    assert wal.read_all() == (b"node-1/cluster-9", HardState(), [])  # optional on a created WAL
    with pytest.raises(WALError):
        wal.read_all()
    wal.close()
    w = WAL.open(str(waldir))
    with w:
        with pytest.raises(WALError, match="read_all"):
            w.save(None, ents(1, 1))
        w.read_all()
        with pytest.raises(WALError):
            w.read_all()
        w.save(None, ents(1, 1))
    with pytest.raises(WALError, match="closed"):
        w.save(None, ents(2, 2))


def test_read_all_after_writing_a_created_wal(wal: WAL) -> None:
    wal.save(None, ents(1, 1))
    with pytest.raises(WALError):
        wal.read_all()


def test_save_rejects_gaps(wal: WAL) -> None:
    wal.save(None, ents(1, 3))
    with pytest.raises(ValueError, match="after index 3"):
        wal.save(None, ents(5, 6))
    with pytest.raises(ValueError):
        wal.save(None, [*ents(4, 4), *ents(6, 6)])
    with pytest.raises(ValueError):
        wal.save(None, [Entry(1, 0)])
    wal.save(None, ents(4, 4))
    assert wal.last_index == 4


def test_truncation_overwrites(wal: WAL, waldir: Path) -> None:
    wal.save(HardState(1, 0, 2), ents(1, 10, term=1))
    wal.save(HardState(2, 0, 2), ents(4, 6, term=2))  # replaces 4..10
    assert wal.last_index == 6
    wal.save(None, ents(7, 8, term=2))
    wal.save(HardState(3, 0, 7), ents(8, 8, term=3))  # replaces 8
    wal.close()
    w, _, hs, entries = reopen(waldir)
    with w:
        assert entries == ents(1, 3, 1) + ents(4, 7, 2) + ents(8, 8, 3)
        assert hs == HardState(3, 0, 7)
        assert w.last_index == 8


def test_truncation_at_or_below_snapshot_index_drops_later_entries(wal: WAL, waldir: Path) -> None:
    """A follower's uncommitted 1..3 are replaced by a new leader's, which are then committed."""
    wal.save(None, ents(1, 3, term=1))
    wal.save(None, ents(2, 2, term=2))
    wal.save_snapshot(SnapshotMeta(2, 2))
    wal.save(None, ents(3, 3, term=2))
    wal.close()
    w, _, _, entries = reopen(waldir, SnapshotMeta(2, 2))
    with w:
        assert entries == ents(3, 3, term=2)
        w.save(None, ents(1, 4, term=3)[1:])  # 2..4: rewriting the snapshot's entry is the caller's bug,
    with pytest.raises(SnapshotMismatchError):  # and replay notices it
        reopen(waldir, SnapshotMeta(2, 2))


def test_truncation_below_snapshot_index_then_rewrite(wal: WAL, waldir: Path) -> None:
    wal.save(None, ents(1, 3, term=1))
    wal.save(None, ents(1, 3, term=2))
    wal.save_snapshot(SnapshotMeta(2, 2))
    wal.close()
    w, _, _, entries = reopen(waldir, SnapshotMeta(2, 2))
    with w:
        assert entries == ents(3, 3, term=2)


def test_unchanged_hard_state_writes_nothing(wal: WAL, waldir: Path) -> None:
    wal.save(HardState(1, 1, 1), ents(1, 1))
    tail = waldir / segment_names(waldir)[-1]
    before = tail.read_bytes()
    wal.save(HardState(1, 1, 1), [])
    wal.save(None, [])
    assert tail.read_bytes() == before


def test_unsynced_saves_are_written(wal: WAL, waldir: Path) -> None:
    wal.save(HardState(1, 0, 0), ents(1, 3), sync=False)
    wal.save(None, ents(4, 5), sync=False)
    wal.save(None, [])  # sync=True with nothing new flushes the earlier writes
    wal.close()
    w, _, hs, entries = reopen(waldir)
    with w:
        assert entries == ents(1, 5)
        assert hs == HardState(1, 0, 0)


def test_short_writes_are_completed(wal: WAL, waldir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_pwrite = os.pwrite

    def dribble(fd: int, data: bytes, offset: int) -> int:
        return real_pwrite(fd, memoryview(data)[:7], offset)

    monkeypatch.setattr(os, "pwrite", dribble)
    wal.save(HardState(1, 0, 0), ents(1, 3))
    monkeypatch.undo()
    wal.close()
    w, _, hs, entries = reopen(waldir)
    with w:
        assert (hs, entries) == (HardState(1, 0, 0), ents(1, 3))


def test_failed_sync_makes_wal_unusable(wal: WAL, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(os, "fdatasync", broken)
    with pytest.raises(OSError, match="Input/output"):
        wal.save(None, ents(1, 1))
    monkeypatch.undo()
    with pytest.raises(WALError, match="unusable"):
        wal.save(None, ents(1, 1))
    wal.close()  # does not try to sync again


# -- segments --


def test_segments_cut_and_read_across(waldir: Path) -> None:
    with WAL.create(str(waldir), b"m", segment_bytes=4096) as w:
        for i in range(1, 201, 10):
            w.save(HardState(1, 1, i), ents(i, i + 9, size=100))
    names = segment_names(waldir)
    assert len(names) > 5
    seqs = [int(n[:16], 16) for n in names]
    assert seqs == list(range(len(names)))
    for older, newer in itertools.pairwise(names):
        # a cut segment ends right after its last record: no runway zeros left behind
        assert not (waldir / older).read_bytes().endswith(b"\0" * 16)
        assert int(newer[17:33], 16) % 10 == 1  # named after the next index to write
    w, _, hs, entries = reopen(waldir, segment_bytes=4096)
    with w:
        assert entries == ents(1, 200, size=100)
        assert hs == HardState(1, 1, 191)
        w.save(HardState(1, 1, 200), ents(201, 260, size=100))
    w, _, hs, entries = reopen(waldir)
    with w:
        assert entries == ents(1, 260, size=100)
        assert hs == HardState(1, 1, 200)
    assert len(segment_names(waldir)) > len(names)


def test_truncation_below_current_segment_start(waldir: Path) -> None:
    with WAL.create(str(waldir), b"m", segment_bytes=2048) as w:
        w.save(None, ents(1, 30, term=1, size=100))
        assert len(segment_names(waldir)) > 1
        start_of_tail = int(segment_names(waldir)[-1][17:33], 16)
        w.save(None, ents(3, 5, term=2))  # rewrites entries that live in older segments
        assert start_of_tail > 5
    w, _, _, entries = reopen(waldir)
    with w:
        assert entries == ents(1, 2, 1, size=100) + ents(3, 5, 2)


def test_sequence_hole_is_refused(waldir: Path) -> None:
    with WAL.create(str(waldir), b"m", segment_bytes=1024) as w:
        for i in range(1, 61, 10):
            w.save(None, ents(i, i + 9, size=100))
    names = segment_names(waldir)
    assert len(names) >= 3
    os.unlink(waldir / names[1])
    with pytest.raises(WALError, match="do not follow on"):
        WAL.open(str(waldir))


def test_stale_segment_temp_is_removed(wal: WAL, waldir: Path) -> None:
    wal.close()
    stale = waldir / "0000000000000001-0000000000000001.wal.tmp"
    stale.write_bytes(b"half a segment")
    w, *_ = reopen(waldir)
    with w:
        assert not stale.exists()


def test_hard_state_and_metadata_carried_into_new_segments(waldir: Path) -> None:
    with WAL.create(str(waldir), b"ids", segment_bytes=2048) as w:
        w.save(HardState(7, 3, 40), ents(1, 40, size=100))  # state written once, before the cuts
        w.save(None, ents(41, 80, size=100))
        w.save_snapshot(SnapshotMeta(70, 1))
        w.release_lock_to(70)
    w, md, hs, entries = reopen(waldir, SnapshotMeta(70, 1))
    with w:
        assert (md, hs, entries) == (b"ids", HardState(7, 3, 40), ents(71, 80, size=100))


# -- snapshots and release --


def test_snapshot_release_and_reopen(waldir: Path) -> None:
    with WAL.create(str(waldir), b"m", segment_bytes=4096) as w:
        for i in range(1, 301, 20):
            w.save(HardState(1, 1, i + 19), ents(i, i + 19, size=100))
        before = segment_names(waldir)
        snap = SnapshotMeta(250, 1)
        w.save_snapshot(snap)
        w.release_lock_to(snap.index)
        after = segment_names(waldir)
        assert len(after) < len(before)
        assert after == before[-len(after) :]
        assert int(after[0][17:33], 16) <= 250 < int(after[1][17:33], 16)
        w.save(None, ents(301, 310, size=100))
    with pytest.raises(SnapshotNotFoundError):
        WAL.open(str(waldir))
    w, _, hs, entries = reopen(waldir, snap)
    with w:
        assert entries == ents(251, 310, size=100)
        assert hs == HardState(1, 1, 300)
        assert w.last_index == 310


def test_release_keeps_what_open_needs_at_segment_boundaries(waldir: Path) -> None:
    with WAL.create(str(waldir), b"m", segment_bytes=1024) as w:
        for i in range(1, 61, 10):
            w.save(None, ents(i, i + 9, size=100))
        names = segment_names(waldir)
        boundary = int(names[2][17:33], 16)  # first index of the third segment
        w.save_snapshot(SnapshotMeta(boundary, 1))
        w.release_lock_to(boundary)
        assert segment_names(waldir)[0] == names[2]
        w.release_lock_to(0)  # nothing before the oldest kept segment
        assert segment_names(waldir)[0] == names[2]
    w, _, _, entries = reopen(waldir, SnapshotMeta(boundary, 1))
    with w:
        assert entries == ents(boundary + 1, 60, size=100)


def test_release_never_deletes_the_tail(wal: WAL, waldir: Path) -> None:
    wal.save(None, ents(1, 5))
    wal.release_lock_to(1000)
    assert segment_names(waldir) == ["0000000000000000-0000000000000000.wal"]


def test_release_retains_newest_segments(waldir: Path) -> None:
    with WAL.create(str(waldir), b"m", segment_bytes=1024) as w:
        for i in range(1, 101, 10):
            w.save(None, ents(i, i + 9, size=100))
        names = segment_names(waldir)
        assert len(names) >= 8
        w.save_snapshot(SnapshotMeta(95, 1))
        w.release_lock_to(95, retain=len(names) + 1)  # fewer files than retained: none go
        assert segment_names(waldir) == names
        w.release_lock_to(95, retain=3)
        assert segment_names(waldir) == names[-3:]
        w.release_lock_to(95, retain=1)  # the covering segment stays whatever `retain` says
        assert segment_names(waldir) == names[-2:]


def test_valid_snapshots(waldir: Path) -> None:
    with WAL.create(str(waldir), b"m", segment_bytes=1024) as w:
        for i in (1, 11, 21):  # a segment each
            w.save(HardState(1, 1, i + 9), ents(i, i + 9, size=100))
        w.save_snapshot(SnapshotMeta(10, 1))
        w.save(HardState(1, 1, 40), ents(31, 40, size=100))
        w.save_snapshot(SnapshotMeta(20, 1))
        w.save(HardState(1, 1, 45), ents(41, 50, size=100))
        w.save_snapshot(SnapshotMeta(48, 1))  # ahead of the last commit: not valid yet
        assert WAL.valid_snapshots(str(waldir)) == [SnapshotMeta(), SnapshotMeta(10, 1), SnapshotMeta(20, 1)]
        w.release_lock_to(20)  # deletes the first segment, with the marker of snapshot 0
    snaps = WAL.valid_snapshots(str(waldir))
    assert snaps == [SnapshotMeta(10, 1), SnapshotMeta(20, 1)]
    w, _, _, entries = reopen(waldir, snaps[-1])
    with w:
        assert entries == ents(21, 50, size=100)


def test_valid_snapshots_reads_only(wal: WAL, waldir: Path) -> None:
    wal.save(HardState(1, 1, 5), ents(1, 5))
    wal.save_snapshot(SnapshotMeta(5, 1))
    wal.save(None, ents(6, 6))
    wal.close()
    tail = waldir / segment_names(waldir)[-1]
    data = tail.read_bytes().rstrip(b"\0")
    tail.write_bytes(data[:-5])  # a torn last record
    assert WAL.valid_snapshots(str(waldir)) == [SnapshotMeta(), SnapshotMeta(5, 1)]
    assert tail.read_bytes() == data[:-5]
    tail.write_bytes(data[:30] + b"X" + data[31:])  # damage inside the first segment's header
    with pytest.raises(WALCorruptError):
        WAL.valid_snapshots(str(waldir))


def test_snapshot_not_found_and_mismatch(wal: WAL, waldir: Path) -> None:
    wal.save(None, ents(1, 10, term=2))
    wal.save_snapshot(SnapshotMeta(5, 2))
    wal.close()
    with pytest.raises(SnapshotNotFoundError):
        reopen(waldir, SnapshotMeta(6, 2))
    with pytest.raises(SnapshotMismatchError):
        reopen(waldir, SnapshotMeta(5, 3))
    w, _, _, entries = reopen(waldir, SnapshotMeta(5, 2))
    with w:
        assert entries == ents(6, 10, term=2)


def test_snapshot_marker_disagreeing_with_entry_term(wal: WAL, waldir: Path) -> None:
    wal.save(None, ents(1, 10, term=2))
    wal.save_snapshot(SnapshotMeta(5, 1))  # the entry at 5 has term 2
    wal.close()
    with pytest.raises(SnapshotMismatchError, match="entry 5"):
        reopen(waldir, SnapshotMeta(5, 1))


def test_snapshot_ahead_of_log(wal: WAL, waldir: Path) -> None:
    """A follower installing a leader's snapshot: the log resumes after it."""
    wal.save(HardState(1, 0, 50), ents(1, 50))
    wal.save_snapshot(SnapshotMeta(1000, 3))
    assert wal.last_index == 1000
    wal.save(HardState(3, 0, 1002), ents(1001, 1002, term=3))
    wal.close()
    w, _, hs, entries = reopen(waldir, SnapshotMeta(1000, 3))
    with w:
        assert entries == ents(1001, 1002, term=3)
        assert hs == HardState(3, 0, 1002)
    with pytest.raises(WALCorruptError, match="entries are missing"):
        reopen(waldir)  # the older snapshot cannot give a contiguous log


def test_snapshot_with_no_later_entries(wal: WAL, waldir: Path) -> None:
    wal.save(None, ents(1, 5))
    wal.save_snapshot(SnapshotMeta(5, 1))
    wal.close()
    w, _, _, entries = reopen(waldir, SnapshotMeta(5, 1))
    with w:
        assert entries == []
        assert w.last_index == 5
        w.save(None, ents(6, 6))


# -- random histories --

_op = st.one_of(
    st.tuples(
        st.just("save"),
        st.integers(0, 12),  # entries
        st.integers(0, 6),  # how far back the first entry starts (Raft truncation)
        st.booleans(),  # new hard state
        st.booleans(),  # sync
        st.integers(0, 300),  # value size
    ),
    st.tuples(st.just("reopen")),
    st.tuples(st.just("snapshot"), st.floats(0, 1)),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=st.lists(_op, max_size=40), segment_bytes=st.sampled_from([600, 2048, 1 << 20]))
def test_random_histories_read_back_as_written(
    tmp_path_factory: pytest.TempPathFactory, ops: list[tuple[object, ...]], segment_bytes: int
) -> None:
    path = tmp_path_factory.mktemp("wal") / "wal"
    log: list[Entry] = []  # model: entries after the snapshot
    snap = SnapshotMeta()
    state = HardState()
    term = 1
    wal = WAL.create(str(path), b"md", segment_bytes=segment_bytes)
    try:
        for op in ops:
            if op[0] == "save":
                _, count, back, new_state, sync, size = op
                assert isinstance(count, int) and isinstance(back, int) and isinstance(size, int)
                last = snap.index + len(log)
                first = max(snap.index + 1, last + 1 - back)
                if first <= last:
                    term += 1  # a new leader overwrites the uncommitted suffix
                batch = [
                    Entry(term, i, EntryType.NORMAL, os.urandom(size)) for i in range(first, first + count)
                ]
                hs = HardState(term, 1, snap.index) if new_state else None
                wal.save(hs, batch, sync=bool(sync))
                if batch:
                    del log[first - snap.index - 1 :]
                    log.extend(batch)
                state = hs or state
            elif op[0] == "snapshot":
                frac = op[1]
                assert isinstance(frac, float)
                index = snap.index + int(frac * len(log))
                if index > snap.index:
                    snap = SnapshotMeta(index, log[index - snap.index - 1].term)
                    log = [e for e in log if e.index > index]
                    wal.save_snapshot(snap)
                    wal.release_lock_to(snap.index)
            else:
                wal.close()
                wal, md, hs_read, entries = reopen(path, snap, segment_bytes=segment_bytes)
                assert (md, hs_read, entries) == (b"md", state, log)
            assert wal.last_index == snap.index + len(log)
        wal.close()
        wal, md, hs_read, entries = reopen(path, snap, segment_bytes=segment_bytes)
        assert (md, hs_read, entries) == (b"md", state, log)
    finally:
        wal.close()
