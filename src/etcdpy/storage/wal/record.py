"""On-disk format of WAL segments: framing, checksums, record bodies, and the torn-tail rule.

Segment file
    MAGIC (8 bytes), then records back to back. Only the last segment may continue with zero
    bytes (the zero-filled runway the writer appends into); older segments end exactly after
    their last record.

Record (all integers little-endian)
    u32 size     payload length, >= 1
    u32 nsize    size XOR 0xFFFFFFFF: a header whose two fields disagree is damaged, so a
                 damaged length is never trusted to locate anything
    u32 crc      CRC-32 (zlib's; the stdlib has no CRC-32C) of the payload, seeded with the
                 previous record's crc: the chain, so a record only verifies in its place
    payload      u8 record type, then the body

Bodies
    CRC       u32 chain, u32 header_end   first record of every segment; its own crc is seeded
                                          with 0, `chain` is the crc the segment continues from,
                                          `header_end` is the offset after the records written
                                          when the segment was created (never torn: a segment is
                                          fsync'd before it gets its name)
    METADATA  opaque bytes                repeated in every segment's header
    ENTRY     u64 term, u64 index, u8 entry type, data
    STATE     u64 term, u64 vote, u64 commit
    SNAPSHOT  u64 index, u64 term, then the configuration at index (absent in older logs: empty):
              u8 auto_leave, u32 count of each of voters, learners, voters_outgoing,
              learners_next, then that many u64 member IDs for each, in that order

Torn tail versus corruption
    Decoding a segment stops at its end of file or at offset P, the start of the first record
    that is incomplete or fails its checks. The damaged record's extent ends at EOF if its bytes
    run past EOF, at P + 12 if its size fields disagree, else at P + 12 + size. A stop at P is
      * a clean end if P is in the last segment, past its header, and every byte from P on is
        zero (the runway);
      * a torn tail, left by a write that did not finish, if P is in the last segment, past its
        header, and every byte after the damaged record's extent is zero (or there are none);
        it is truncated at P;
      * corruption otherwise: in an older segment or a segment's header nothing is ever torn,
        and damage followed by other data means discarding could lose acknowledged entries.
    A write reaching the disk out of order (a later page persisted, an earlier one not) thus
    reads as corruption: nothing is discarded without proof that it was never acknowledged.
    Damage to the very last record is indistinguishable from a torn write and is truncated.
"""

from __future__ import annotations

import enum
import struct
import zlib
from collections.abc import Sequence
from typing import NamedTuple

from etcdpy.raft.raftpb import ConfState, Entry, HardState, SnapshotMeta

MAGIC = b"EPYWAL\x00\x01"
HEADER = struct.Struct("<III")
HEADER_SIZE = HEADER.size
SIZE_MASK = 0xFFFFFFFF


class RecordType(enum.IntEnum):
    METADATA = 1
    ENTRY = 2
    STATE = 3
    CRC = 4
    SNAPSHOT = 5


# Payload layouts, record type byte included.
CRC_BODY = struct.Struct("<BII")
ENTRY_BODY = struct.Struct("<BQQB")
STATE_BODY = struct.Struct("<BQQQ")
SNAPSHOT_BODY = struct.Struct("<BQQ")
CONF_HEAD = struct.Struct("<BIIII")
CRC_RECORD_SIZE = HEADER_SIZE + CRC_BODY.size


class Damage(NamedTuple):
    """Where decoding stopped, the end of the damaged record's extent, and why."""

    offset: int
    extent: int
    reason: str


def frame(payload: bytes, seed: int, out: list[bytes]) -> int:
    """Append the framed record to `out`; return its crc (the next record's seed)."""
    crc = zlib.crc32(payload, seed)
    size = len(payload)
    out.append(HEADER.pack(size, size ^ SIZE_MASK, crc))
    out.append(payload)
    return crc


def frame_entries(entries: Sequence[Entry], seed: int, out: list[bytes]) -> int:
    """`frame` for each entry, inlined: this loop is the WAL's per-entry write cost."""
    pack_header = HEADER.pack
    pack_body = ENTRY_BODY.pack
    crc32 = zlib.crc32
    append = out.append
    crc = seed
    entry_type = RecordType.ENTRY
    try:
        for e in entries:
            payload = pack_body(entry_type, e.term, e.index, e.type) + e.data
            crc = crc32(payload, crc)
            size = len(payload)
            append(pack_header(size, size ^ SIZE_MASK, crc))
            append(payload)
    except struct.error as exc:
        raise ValueError(f"wal: entry does not fit a record: {exc}") from exc
    return crc


def state_payload(state: HardState) -> bytes:
    return STATE_BODY.pack(RecordType.STATE, state.term, state.vote, state.commit)


def snapshot_payload(snap: SnapshotMeta) -> bytes:
    cs = snap.conf_state
    groups = (cs.voters, cs.learners, cs.voters_outgoing, cs.learners_next)
    ids = [i for group in groups for i in group]
    return (
        SNAPSHOT_BODY.pack(RecordType.SNAPSHOT, snap.index, snap.term)
        + CONF_HEAD.pack(cs.auto_leave, *(len(g) for g in groups))
        + struct.pack(f"<{len(ids)}Q", *ids)
    )


def parse_snapshot(body: memoryview | bytes) -> SnapshotMeta | None:
    """A SNAPSHOT payload (type byte included) as written by snapshot_payload, or by older versions
    without the configuration; None if its length does not add up."""
    if len(body) < SNAPSHOT_BODY.size:
        return None
    _, index, term = SNAPSHOT_BODY.unpack_from(body, 0)
    if len(body) == SNAPSHOT_BODY.size:
        return SnapshotMeta(index, term)
    pos = SNAPSHOT_BODY.size
    if len(body) < pos + CONF_HEAD.size:
        return None
    auto_leave, *counts = CONF_HEAD.unpack_from(body, pos)
    pos += CONF_HEAD.size
    if len(body) != pos + 8 * sum(counts):
        return None
    groups = []
    for n in counts:
        groups.append(struct.unpack_from(f"<{n}Q", body, pos))
        pos += 8 * n
    return SnapshotMeta(index, term, ConfState(groups[0], groups[1], groups[2], groups[3], bool(auto_leave)))


def segment_header(
    chain: int, metadata: bytes, state: HardState, snap: SnapshotMeta | None
) -> tuple[bytes, int]:
    """The bytes a new segment starts with, and the chain crc after them."""
    records: list[bytes] = []
    crc = frame(bytes([RecordType.METADATA]) + metadata, chain, records)
    if not state.is_empty():
        crc = frame(state_payload(state), crc, records)
    if snap is not None:
        crc = frame(snapshot_payload(snap), crc, records)
    body = b"".join(records)
    header_end = len(MAGIC) + CRC_RECORD_SIZE + len(body)
    head = [MAGIC]
    frame(CRC_BODY.pack(RecordType.CRC, chain, header_end), 0, head)
    return b"".join(head) + body, crc


def check(buf: bytes, pos: int, seed: int) -> Damage | tuple[int, int]:
    """Verify the record at `pos` against `seed`: its (end offset, crc), or the Damage found."""
    size_left = len(buf) - pos
    if size_left < HEADER_SIZE:
        return Damage(pos, len(buf), "truncated record header")
    size, nsize, crc = HEADER.unpack_from(buf, pos)
    if size ^ nsize != SIZE_MASK or size == 0:
        return Damage(pos, pos + HEADER_SIZE, "damaged record header (size fields disagree)")
    end = pos + HEADER_SIZE + size
    if end > len(buf):
        return Damage(pos, len(buf), f"record of {size} bytes runs past the end of the file")
    if zlib.crc32(memoryview(buf)[pos + HEADER_SIZE : end], seed) != crc:
        return Damage(pos, end, "checksum mismatch")
    return end, crc


def all_zero(buf: bytes, start: int) -> bool:
    return buf.count(0, start) == len(buf) - start
