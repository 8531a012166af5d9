"""WAL crash safety on disk images: torn tails are repaired, corruption is refused untouched."""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from etcdpy.raft.raftpb import Entry, HardState, SnapshotMeta
from etcdpy.storage.wal import WAL, WALCorruptError
from etcdpy.storage.wal import record as rec
from etcdpy.storage.wal.record import HEADER_SIZE, MAGIC, RecordType


def ents(first: int, last: int, term: int = 1, size: int = 40) -> list[Entry]:
    return [Entry(term, i, data=f"{term}:{i}:".encode().ljust(size, b"#")) for i in range(first, last + 1)]


def spans(path: Path) -> list[tuple[int, int, RecordType]]:
    """(start, end, type) of every intact record of a segment file, in order."""
    buf = path.read_bytes()
    assert buf.startswith(MAGIC)
    out: list[tuple[int, int, RecordType]] = []
    pos, seed = len(MAGIC), 0
    while True:
        got = rec.check(buf, pos, seed)
        if isinstance(got, rec.Damage):
            return out
        end, seed = got
        rtype = RecordType(buf[pos + HEADER_SIZE])
        if rtype == RecordType.CRC:
            _, seed, _ = rec.CRC_BODY.unpack_from(buf, pos + HEADER_SIZE)
        out.append((pos, end, rtype))
        pos = end


def read(path: Path, snap: SnapshotMeta | None = None) -> tuple[HardState, list[Entry]]:
    with WAL.open(str(path), snap or SnapshotMeta()) as w:
        _, hs, entries = w.read_all()
    return hs, entries


def snapshot_files(path: Path) -> dict[str, bytes]:
    return {name: (path / name).read_bytes() for name in sorted(os.listdir(path))}


def tail_file(path: Path) -> Path:
    return path / sorted(n for n in os.listdir(path) if n.endswith(".wal"))[-1]


SEGMENT_BYTES = 4096  # also caps the zero runway, keeping these images small
FIRST_STATE = HardState(1, 1, 0)
LAST_STATE = HardState(1, 1, 7)


class _Collect(logging.Handler):
    def __init__(self, into: list[str]) -> None:
        super().__init__(logging.WARNING)
        self.into = into

    def emit(self, record: logging.LogRecord) -> None:
        self.into.append(record.getMessage())


@pytest.fixture
def wal_warnings() -> Iterator[list[str]]:
    """Warnings of the WAL's logger, however logging is configured (etcd-py's root may not propagate)."""
    logger = logging.getLogger("etcdpy.wal")
    got: list[str] = []
    handler = _Collect(got)
    saved_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING)
    try:
        yield got
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved_level)


@pytest.fixture
def image(tmp_path: Path) -> Path:
    """A WAL whose last write holds entries 6 and 7 and a hard state."""
    path = tmp_path / "image"
    with WAL.create(str(path), b"meta", segment_bytes=SEGMENT_BYTES) as w:
        w.save(FIRST_STATE, ents(1, 5))
        w.save(LAST_STATE, ents(6, 7))
    return path


def expected_after_damage(
    last_write: list[tuple[int, int, RecordType]], written: bytes, damaged: bytes
) -> tuple[HardState, list[Entry], bool]:
    """What replay must return for a damaged last write, and whether it must report a torn tail.

    The records of the last write survive up to the first one whose bytes changed (zero-filling
    may leave one intact when its remaining bytes were zero anyway); a torn tail is reported iff
    non-zero bytes remain from that record on.
    """
    kept = 0
    while (
        kept < len(last_write)
        and damaged[last_write[kept][0] : last_write[kept][1]]
        == written[last_write[kept][0] : last_write[kept][1]]
    ):
        kept += 1
    survivors = [r[2] for r in last_write[:kept]]
    entries = ents(1, 5) + ents(6, 7)[: survivors.count(RecordType.ENTRY)]
    state = LAST_STATE if RecordType.STATE in survivors else FIRST_STATE
    torn = kept < len(last_write) and any(damaged[last_write[kept][0] :])
    return state, entries, torn


def _truncate(data: bytes, cut: int) -> bytes:
    return data[:cut]


def _zero_fill(data: bytes, cut: int) -> bytes:
    return data[:cut] + bytes(len(data) - cut + 100)  # zeros past where the write would have ended


@pytest.mark.parametrize("damage", [_truncate, _zero_fill], ids=["truncated", "zero-filled"])
def test_torn_last_write_at_every_offset(
    image: Path, tmp_path: Path, wal_warnings: list[str], damage: Callable[[bytes, int], bytes]
) -> None:
    tail = tail_file(image)
    assert os.listdir(image) == [tail.name]
    last_write = spans(tail)[-3:]
    assert [r[2] for r in last_write] == [RecordType.ENTRY, RecordType.ENTRY, RecordType.STATE]
    written = tail.read_bytes()[: last_write[-1][1]]
    work = tmp_path / "work"
    for cut in range(last_write[0][0], last_write[-1][1]):
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir()
        damaged = damage(written, cut)
        (work / tail.name).write_bytes(damaged)
        state, entries, torn = expected_after_damage(last_write, written, damaged)
        wal_warnings.clear()
        with WAL.open(str(work), segment_bytes=SEGMENT_BYTES) as w:
            _, hs, got = w.read_all()
            assert (hs, got) == (state, entries), f"cut at {cut}"
            assert wal_warnings == (["repairing torn WAL tail"] if torn else []), f"cut at {cut}"
            # the repaired WAL takes appends and reads back right
            more = ents(len(entries) + 1, len(entries) + 2, term=2)
            w.save(HardState(2, 1, 3), more)
        assert read(work) == (HardState(2, 1, 3), entries + more), f"cut at {cut}"
        assert read(work) == (HardState(2, 1, 3), entries + more)  # repair is not repeated


def test_clean_zero_tail_is_not_repaired(image: Path, wal_warnings: list[str]) -> None:
    tail = tail_file(image)
    assert tail.read_bytes().endswith(bytes(1024))  # the runway
    before = snapshot_files(image)
    assert read(image) == (LAST_STATE, ents(1, 7))
    assert wal_warnings == []
    assert snapshot_files(image) == before


def test_torn_tail_after_cut_into_new_segment(tmp_path: Path) -> None:
    path = tmp_path / "wal"
    with WAL.create(str(path), b"meta", segment_bytes=1024) as w:
        for i in range(1, 41, 10):
            w.save(None, ents(i, i + 9))
        w.save(None, ents(41, 41))
    tail = tail_file(path)
    assert tail.name != "0000000000000000-0000000000000000.wal"
    last = spans(tail)[-1]
    tail.write_bytes(tail.read_bytes()[: last[1] - 1])
    assert read(path)[1] == ents(1, 40)


def test_damaged_last_record_counts_as_torn(image: Path) -> None:
    """Damage to the very last record cannot be told from a torn write: it is truncated."""
    tail = tail_file(image)
    _, end, _ = spans(tail)[-1]
    data = bytearray(tail.read_bytes())
    data[end - 1] ^= 0x40
    tail.write_bytes(bytes(data))
    assert read(image) == (FIRST_STATE, ents(1, 7))


# -- corruption: refused, nothing changed --


def assert_refused(path: Path, offset: int, file: Path, snap: SnapshotMeta | None = None) -> WALCorruptError:
    before = snapshot_files(path)
    with pytest.raises(WALCorruptError) as info:
        read(path, snap)
    assert info.value.path == str(file)
    assert info.value.offset == offset
    assert str(file) in str(info.value) and f"offset {offset}" in str(info.value)
    assert snapshot_files(path) == before
    return info.value


def test_flipped_byte_in_a_middle_record(image: Path) -> None:
    tail = tail_file(image)
    original = tail.read_bytes()
    entry_spans = [s for s in spans(tail) if s[2] == RecordType.ENTRY]
    start, end, _ = entry_spans[2]  # entry 3: entries 4..7 and a hard state follow
    for pos in range(start, end):
        data = bytearray(original)
        data[pos] ^= 0x01
        tail.write_bytes(bytes(data))
        err = assert_refused(image, start, tail)
        assert "followed by data" in err.reason
    tail.write_bytes(original)
    assert read(image) == (LAST_STATE, ents(1, 7))


def test_flipped_byte_in_an_older_segment(tmp_path: Path) -> None:
    path = tmp_path / "wal"
    with WAL.create(str(path), b"meta", segment_bytes=1024) as w:
        for i in range(1, 41, 10):
            w.save(None, ents(i, i + 9))
    first = path / "0000000000000000-0000000000000000.wal"
    last_record = spans(first)[-1]  # the last record of a segment that is not the tail
    data = bytearray(first.read_bytes())
    data[last_record[1] - 1] ^= 0x80
    first.write_bytes(bytes(data))
    err = assert_refused(path, last_record[0], first)
    assert "before the last segment" in err.reason


def test_zeroed_header_before_data(image: Path) -> None:
    tail = tail_file(image)
    start, _, _ = [s for s in spans(tail) if s[2] == RecordType.ENTRY][1]
    data = bytearray(tail.read_bytes())
    data[start : start + HEADER_SIZE] = bytes(HEADER_SIZE)
    tail.write_bytes(bytes(data))
    assert_refused(image, start, tail)


def test_garbage_after_torn_record(image: Path) -> None:
    """A partial record followed by non-zero bytes is not a torn tail."""
    tail = tail_file(image)
    start, end, _ = spans(tail)[-1]
    data = bytearray(tail.read_bytes())
    data[start + HEADER_SIZE : end] = bytes(end - start - HEADER_SIZE)  # as if only the header landed
    data[end + 100] = 0x55
    tail.write_bytes(bytes(data))
    assert_refused(image, start, tail)


def test_damaged_header_of_a_fresh_segment(tmp_path: Path) -> None:
    """A segment's header is fsync'd before the segment is named: damage there is never torn."""
    path = tmp_path / "wal"
    with WAL.create(str(path), b"meta", segment_bytes=1024) as w:
        w.save(HardState(1, 1, 1), ents(1, 30))
    tail = tail_file(path)
    header = spans(tail)
    assert [r[2] for r in header] == [RecordType.CRC, RecordType.METADATA, RecordType.STATE]
    data = bytearray(tail.read_bytes())
    data[header[-1][1] - 1] ^= 0x01
    tail.write_bytes(bytes(data))
    err = assert_refused(path, header[-1][0], tail)
    assert "inside the segment header" in err.reason


def test_bad_magic(image: Path) -> None:
    tail = tail_file(image)
    tail.write_bytes(b"NOTAWAL!" + tail.read_bytes()[8:])
    assert_refused(image, 0, tail)


def test_segment_from_another_log_breaks_the_chain(tmp_path: Path) -> None:
    logs = []
    for name, term in (("a", 1), ("b", 2)):
        path = tmp_path / name
        with WAL.create(str(path), b"meta", segment_bytes=1024) as w:
            for i in range(1, 41, 10):
                w.save(None, ents(i, i + 9, term=term))
        logs.append(path)
    a, b = logs
    second = sorted(os.listdir(a))[1]
    assert second in os.listdir(b)
    shutil.copyfile(b / second, a / second)
    err = assert_refused(a, len(MAGIC), a / second)
    assert "chain crc" in err.reason


def test_metadata_conflict(tmp_path: Path) -> None:
    path = tmp_path / "wal"
    with WAL.create(str(path), b"meta", segment_bytes=1024) as w:
        w.save(None, ents(1, 30))
    tail = tail_file(path)
    start, end, _ = next(s for s in spans(tail) if s[2] == RecordType.METADATA)
    chain = rec.CRC_BODY.unpack_from(tail.read_bytes(), len(MAGIC) + HEADER_SIZE)[1]
    out: list[bytes] = []
    rec.frame(bytes([RecordType.METADATA]) + b"MeTa", chain, out)
    forged = b"".join(out)
    assert len(forged) == end - start
    data = bytearray(tail.read_bytes())
    data[start:end] = forged
    tail.write_bytes(bytes(data))
    err = assert_refused(path, start, tail)
    assert "metadata" in err.reason
