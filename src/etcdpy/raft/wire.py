"""The few protobuf wire-format primitives raftpb's encodings need (varints, tagged fields).

Only what raftpb's messages use: varint (wire type 0) and length-delimited (wire type 2) fields.
"""

from __future__ import annotations

from collections.abc import Iterator

VARINT = 0
LENGTH_DELIMITED = 2
_FIXED64 = 1
_FIXED32 = 5


class DecodeError(ValueError):
    """Bytes that are not a valid encoding of the expected raftpb message."""


def varint_size(n: int) -> int:
    """Bytes the varint encoding of the unsigned `n` takes."""
    return (n.bit_length() + 6) // 7 or 1


def put_varint(buf: bytearray, n: int) -> None:
    while n >= 0x80:
        buf.append((n & 0x7F) | 0x80)
        n >>= 7
    buf.append(n)


def put_varint_field(buf: bytearray, field: int, n: int) -> None:
    put_varint(buf, field << 3 | VARINT)
    put_varint(buf, n)


def put_bytes_field(buf: bytearray, field: int, data: bytes) -> None:
    put_varint(buf, field << 3 | LENGTH_DELIMITED)
    put_varint(buf, len(data))
    buf += data


def _get_varint(data: bytes, pos: int) -> tuple[int, int]:
    n = shift = 0
    while True:
        if pos >= len(data) or shift > 63:
            raise DecodeError("truncated or overlong varint")
        b = data[pos]
        pos += 1
        n |= (b & 0x7F) << shift
        if b < 0x80:
            return n, pos
        shift += 7


def fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) for each varint and length-delimited field; other wire types are skipped."""
    pos = 0
    while pos < len(data):
        key, pos = _get_varint(data, pos)
        field, wire_type = key >> 3, key & 7
        if wire_type == VARINT:
            value, pos = _get_varint(data, pos)
            yield field, value
        elif wire_type == LENGTH_DELIMITED:
            length, pos = _get_varint(data, pos)
            if pos + length > len(data):
                raise DecodeError("truncated length-delimited field")
            yield field, data[pos : pos + length]
            pos += length
        elif wire_type == _FIXED64:
            pos += 8
        elif wire_type == _FIXED32:
            pos += 4
        else:
            raise DecodeError(f"unsupported wire type {wire_type}")
    if pos != len(data):
        raise DecodeError("truncated fixed-size field")
