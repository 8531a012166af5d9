"""Hypothesis strategies for protobuf bytes: well-typed random messages of any descriptor, and
mutations of encoded messages (truncation, bit flips, inserted and deleted bytes)."""

from __future__ import annotations

import functools
from typing import Any

from google.protobuf import message_factory
from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.message import Message
from hypothesis import strategies as st

_F = FieldDescriptor
_INT_RANGES = {
    _F.TYPE_INT32: (-(1 << 31), (1 << 31) - 1),
    _F.TYPE_SINT32: (-(1 << 31), (1 << 31) - 1),
    _F.TYPE_SFIXED32: (-(1 << 31), (1 << 31) - 1),
    _F.TYPE_ENUM: (-(1 << 31), (1 << 31) - 1),
    _F.TYPE_INT64: (-(1 << 63), (1 << 63) - 1),
    _F.TYPE_SINT64: (-(1 << 63), (1 << 63) - 1),
    _F.TYPE_SFIXED64: (-(1 << 63), (1 << 63) - 1),
    _F.TYPE_UINT32: (0, (1 << 32) - 1),
    _F.TYPE_FIXED32: (0, (1 << 32) - 1),
    _F.TYPE_UINT64: (0, (1 << 64) - 1),
    _F.TYPE_FIXED64: (0, (1 << 64) - 1),
}
# Keys that hit the data written before fuzzing, and etcd's special range ends.
_BYTES = st.sampled_from([b"", b"\x00", b"known/", b"known0", b"known/001", b"\xff", b"probe/"]) | st.binary(
    max_size=24
)


def _integers(lo: int, hi: int) -> st.SearchStrategy[int]:
    edges = sorted({lo, hi, 0, 1, -1 if lo < 0 else 2, 2, 3, 5, 128, hi // 2})
    return st.sampled_from(edges) | st.integers(lo, hi)


def _scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    enum = field.enum_type
    if enum is not None and enum.is_closed:  # proto2: only declared values are settable
        return st.sampled_from([v.number for v in enum.values])
    if field.type in _INT_RANGES:
        return _integers(*_INT_RANGES[field.type])
    if field.type == _F.TYPE_BOOL:
        return st.booleans()
    if field.type == _F.TYPE_BYTES:
        return _BYTES
    if field.type == _F.TYPE_STRING:
        return st.text(max_size=16) | st.sampled_from(["", "root", "known/", "\x00"])
    if field.type in (_F.TYPE_DOUBLE, _F.TYPE_FLOAT):
        return st.floats(width=32 if field.type == _F.TYPE_FLOAT else 64)
    raise TypeError(f"no strategy for field type {field.type}")


@functools.cache
def messages(desc: Descriptor, depth: int = 3) -> st.SearchStrategy[Message]:
    """Random messages of type `desc`: any subset of fields, nested messages `depth` levels deep."""
    cls = message_factory.GetMessageClass(desc)
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for field in desc.fields:
        nested = field.message_type
        if nested is not None:
            if depth == 0 or nested.GetOptions().map_entry:
                continue
            value: st.SearchStrategy[Any] = messages(nested, depth - 1)
        else:
            value = _scalar(field)
        repeated = field.is_repeated
        optional[field.name] = st.lists(value, max_size=4) if repeated else value
    return st.fixed_dictionaries({}, optional=optional).map(lambda fields: _build(cls, fields))


def _build(cls: type[Message], fields: dict[str, Any]) -> Message:
    msg = cls()
    for name, value in fields.items():
        target = getattr(msg, name)
        if isinstance(value, list):
            if value and isinstance(value[0], Message):
                for item in value:
                    target.add().CopyFrom(item)
            else:
                target.extend(value)
        elif isinstance(value, Message):
            target.CopyFrom(value)
        else:
            setattr(msg, name, value)
    return msg


def mutate(data: bytes, edits: list[tuple[int, int, bytes]]) -> bytes:
    """Apply (kind, position, bytes) edits: 0 overwrite, 1 insert, 2 delete, 3 truncate, 4 flip a bit."""
    out = bytearray(data)
    for kind, pos, chunk in edits:
        at = pos % (len(out) + 1)
        if kind == 0:
            out[at : at + len(chunk)] = chunk
        elif kind == 1:
            out[at:at] = chunk
        elif kind == 2:
            del out[at : at + len(chunk)]
        elif kind == 3:
            del out[at:]
        elif out:
            out[at % len(out)] ^= 1 << (chunk[0] % 8)
    return bytes(out)


edits = st.lists(
    st.tuples(st.integers(0, 4), st.integers(0, 1 << 16), st.binary(min_size=1, max_size=8)),
    min_size=1,
    max_size=5,
)
