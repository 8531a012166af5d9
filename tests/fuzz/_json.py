"""Hypothesis strategies for JSON gateway bodies: request-shaped objects with right and wrong types,
huge numbers, bad base64, deep nesting and invalid UTF-8, as raw bytes."""

from __future__ import annotations

import base64
import functools
import json
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from hypothesis import strategies as st

_F = FieldDescriptor
_64 = (_F.TYPE_INT64, _F.TYPE_UINT64, _F.TYPE_SINT64, _F.TYPE_FIXED64, _F.TYPE_SFIXED64)

# Raw JSON texts of values no field accepts, or accepts only at its edge.
_ODD_NUMBERS = [
    "1e400",
    "-1e400",
    "123456789012345678901234567890",
    "-9223372036854775809",
    "18446744073709551616",
    "9223372036854775807",
    "4294967296",
    "-0",
    "0.5",
    "1E3",
    "-2147483649",
    "0x10",
    "01",
    "NaN",
    "Infinity",
]
_ODD_STRINGS = [
    '"AA="',
    '"A"',
    '"****"',
    '"a b"',
    '"YQ"',
    '"\\ud800"',
    '"\\u0000"',
    '"-1"',
    '"1e3"',
    '""',
    '" 1"',
]

any_scalar: st.SearchStrategy[Any] = (
    st.none()
    | st.booleans()
    | st.integers(-(1 << 80), 1 << 80)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
any_json: st.SearchStrategy[Any] = st.recursive(
    any_scalar,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=12,
)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _typed(field: FieldDescriptor, depth: int) -> st.SearchStrategy[Any]:
    """A value of the field's JSON type (64-bit integers also as strings, enums also by name)."""
    if field.type == _F.TYPE_MESSAGE:
        assert field.message_type is not None
        return request_objects(field.message_type, depth - 1) if depth > 0 else st.just({})
    if field.type == _F.TYPE_BYTES:
        return st.binary(max_size=16).map(_b64) | st.sampled_from(["a25vd24v", "AA==", ""])
    if field.type == _F.TYPE_STRING:
        return st.text(max_size=12)
    if field.type == _F.TYPE_BOOL:
        return st.booleans()
    if field.type == _F.TYPE_ENUM:
        assert field.enum_type is not None
        names = [v.name for v in field.enum_type.values]
        return st.sampled_from(names) | st.integers(-3, 10)
    if field.type in _64:
        return st.integers(-(1 << 63), (1 << 64) - 1) | st.integers(-5, 100).map(str)
    if field.type in (_F.TYPE_DOUBLE, _F.TYPE_FLOAT):
        return st.floats(allow_nan=False, allow_infinity=False)
    return st.integers(-(1 << 32), 1 << 32)


@functools.cache
def request_objects(desc: Descriptor, depth: int = 3) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with any subset of `desc`'s fields (proto or JSON name), each of its type or any other."""
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for field in desc.fields:
        value = st.one_of(_typed(field, depth), _typed(field, depth), any_json)
        if field.is_repeated:
            value = st.lists(value, max_size=3) | value
        optional[field.name] = value
        if field.json_name != field.name:
            optional[field.json_name] = value
    return st.fixed_dictionaries({}, optional=optional)


def _splice(text: str, odd: str) -> str:
    """Replace the first JSON value after a colon with the raw text `odd`."""
    at = text.find(": ")
    if at < 0:
        return text
    end = at + 2
    depth = 0
    while end < len(text) and not (depth == 0 and text[end] in ",}]"):
        depth += text[end] in "[{"
        depth -= text[end] in "]}"
        end += 1
    return text[: at + 2] + odd + text[end:]


@functools.cache
def bodies(desc: Descriptor) -> st.SearchStrategy[bytes]:
    """Bodies for a path whose request is `desc`: well-formed objects, objects with a raw odd value
    spliced in, truncated ones, deeply nested ones, invalid UTF-8, and random bytes."""
    texts = request_objects(desc).map(json.dumps)
    odd = st.tuples(texts, st.sampled_from(_ODD_NUMBERS + _ODD_STRINGS)).map(lambda t: _splice(*t))
    nested = st.tuples(st.integers(1, 12000), st.sampled_from(["[", '{"key":', '{"compare":['])).map(
        lambda t: t[1] * t[0]
    )
    encoded = st.one_of(texts, odd, nested).map(str.encode)
    truncated = st.tuples(encoded, st.integers(0, 1 << 16)).map(lambda t: t[0][: t[1] % (len(t[0]) + 1)])
    bad_utf8 = st.tuples(encoded, st.sampled_from([b"\xff", b"\xc3\x28", b"\xed\xa0\x80", b"\x00"])).map(
        lambda t: t[0].replace(b'"', b'"' + t[1], 1)
    )
    return st.one_of(encoded, truncated, bad_utf8, st.binary(max_size=120))


def never_a_request() -> st.SearchStrategy[bytes]:
    """Bodies that no request decodes from: a strict prefix of an object, or a NUL first."""
    prefix = any_json.map(lambda v: json.dumps({"key": v}).encode()).map(lambda b: b[: len(b) - 1])
    return prefix | st.binary(max_size=60).map(lambda b: b"\x00" + b)
