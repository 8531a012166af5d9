"""Protobuf messages to and from JSON exactly as etcd 3.5.1's gateway does it.

Decoding follows golang/protobuf 1.5's jsonpb Unmarshaler (unknown fields
allowed) layered on Go's encoding/json: each field is looked up by its proto
name, then by its JSON name (which wins), null fields are skipped, and each
value is converted with Go's rules and error texts. Encoding follows the
gateway's `JSONPb{OrigName: true}` marshaler: proto field names, 64-bit
integers as strings, bytes as base64, enums by name, unset fields omitted,
strings escaped HTML-safe like Go's json.Marshal.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any, Final, TypeVar, cast

from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor
from google.protobuf.message import Message

from etcdpy.api.gateway import gobase64, gojson
from etcdpy.api.gateway.gojson import GoJSONError, Node
from etcdpy.pkg.goquote import quote

M = TypeVar("M", bound=Message)

_FD = FieldDescriptor

# Go integer type per proto scalar type: (Go type name, min, max).
_INTS: Final = {
    _FD.TYPE_INT32: ("int32", -(2**31), 2**31 - 1),
    _FD.TYPE_SINT32: ("int32", -(2**31), 2**31 - 1),
    _FD.TYPE_SFIXED32: ("int32", -(2**31), 2**31 - 1),
    _FD.TYPE_INT64: ("int64", -(2**63), 2**63 - 1),
    _FD.TYPE_SINT64: ("int64", -(2**63), 2**63 - 1),
    _FD.TYPE_SFIXED64: ("int64", -(2**63), 2**63 - 1),
    _FD.TYPE_UINT32: ("uint32", 0, 2**32 - 1),
    _FD.TYPE_FIXED32: ("uint32", 0, 2**32 - 1),
    _FD.TYPE_UINT64: ("uint64", 0, 2**64 - 1),
    _FD.TYPE_FIXED64: ("uint64", 0, 2**64 - 1),
}
_ENUM_NUMBER: Final = ("protoreflect.EnumNumber", -(2**31), 2**31 - 1)
_UINT8: Final = ("uint8", 0, 255)
_MAP_TYPE: Final = "map[string]json.RawMessage"
_LIST_TYPE: Final = "[]json.RawMessage"


def _descriptor(msg: Message) -> Descriptor:
    return cast(Descriptor, msg.DESCRIPTOR)


def _enum_type(fd: FieldDescriptor) -> EnumDescriptor:
    assert fd.enum_type is not None
    return fd.enum_type


# --- decoding ------------------------------------------------------------


def decode(data: bytes, cls: type[M]) -> M:
    """The first JSON value in `data` as a `cls` message (an empty body gives an empty message)."""
    return decode_node(data, gojson.first_value(data), cls)


def decode_node(data: bytes, node: Node | None, cls: type[M]) -> M:
    """A message from a value already found in `data` (None: no value at all)."""
    msg = cls()
    if node is not None:
        try:
            _fill(msg, data, node)
        except RecursionError:
            raise GoJSONError("request nests too deeply") from None
    return msg


def _fill(msg: Message, data: bytes, node: Node) -> None:
    if node.kind == gojson.NULL:
        return
    if node.kind != gojson.OBJECT:
        raise gojson.type_error(node.kind, _MAP_TYPE)
    members = node.members
    for fd in _descriptor(msg).fields:
        value = members.get(fd.json_name)
        if value is None:
            value = members.get(fd.name)
        if value is None or value.kind == gojson.NULL:
            continue
        if fd.is_repeated:
            _fill_list(msg, fd, data, value)
        elif fd.type == _FD.TYPE_MESSAGE:
            sub = getattr(msg, fd.name)
            sub.SetInParent()
            _fill(sub, data, value)
        else:
            setattr(msg, fd.name, _scalar(fd, data, value))


def _fill_list(msg: Message, fd: FieldDescriptor, data: bytes, node: Node) -> None:
    if node.kind != gojson.ARRAY:
        raise gojson.type_error(node.kind, _LIST_TYPE)
    target = getattr(msg, fd.name)
    if fd.type == _FD.TYPE_MESSAGE:
        for item in node.items:
            _fill(target.add(), data, item)
    else:
        target.extend([_scalar(fd, data, item) for item in node.items])


def _scalar(fd: FieldDescriptor, data: bytes, node: Node) -> Any:
    t = fd.type
    if t in _INTS:
        return _integer(data, node, _INTS[t], trim_quotes=True)
    if t == _FD.TYPE_STRING:
        if node.kind == gojson.STRING:
            return gojson.unquote(data[node.start : node.end])
        return _null_or_fail(node, "", "string")
    if t == _FD.TYPE_BYTES:
        return _bytes(data, node)
    if t == _FD.TYPE_BOOL:
        if node.kind in (gojson.TRUE, gojson.FALSE):
            return node.kind == gojson.TRUE
        return _null_or_fail(node, False, "bool")
    if t == _FD.TYPE_ENUM:
        return _enum(fd, data, node)
    raise GoJSONError(f"unsupported field type {t} for {fd.full_name}")


def _null_or_fail(node: Node, zero: Any, go_type: str) -> Any:
    if node.kind == gojson.NULL:
        return zero
    raise gojson.type_error(node.kind, go_type)


def _integer(data: bytes, node: Node, go_int: tuple[str, int, int], *, trim_quotes: bool) -> int:
    """Go's json.Unmarshal into an integer; jsonpb first strips one pair of quotes."""
    go_type, low, high = go_int
    if trim_quotes and node.kind == gojson.STRING:
        data = data[node.start + 1 : node.end - 1]
        node = gojson.document(data)
    if node.kind == gojson.NUMBER:
        text = data[node.start : node.end]
        # Go parses with ParseInt/ParseUint: no fraction, no exponent, no sign on unsigned.
        if not any(c in text for c in b".eE") and not (low == 0 and text.startswith(b"-")):
            value = int(text)
            if low <= value <= high:
                return value
        raise gojson.number_error(text, go_type)
    return int(_null_or_fail(node, 0, go_type))


def _bytes(data: bytes, node: Node) -> bytes:
    if node.kind == gojson.STRING:
        text = gojson.unquote(data[node.start : node.end]).encode()
        try:
            return gobase64.decode(text)
        except gobase64.Base64Error as e:
            raise GoJSONError(str(e)) from None
    if node.kind == gojson.ARRAY:
        # Go fills a byte slice from an array of numbers, reporting the first bad element.
        out = bytearray()
        first_error: GoJSONError | None = None
        for item in node.items:
            try:
                out.append(_integer(data, item, _UINT8, trim_quotes=False))
            except GoJSONError as e:
                first_error = first_error or e
        if first_error is not None:
            raise first_error
        return bytes(out)
    return bytes(_null_or_fail(node, b"", "[]uint8"))


def _enum(fd: FieldDescriptor, data: bytes, node: Node) -> int:
    if node.kind == gojson.STRING:
        raw = data[node.start : node.end]
        # jsonpb looks the name up in the raw text between the quotes, escapes and all.
        enum = _enum_type(fd)
        value = enum.values_by_name.get(raw[1:-1].decode("latin-1"))
        if value is None:
            raise GoJSONError(f"unknown value {quote(raw)} for enum {enum.full_name}")
        return int(value.number)
    return _integer(data, node, _ENUM_NUMBER, trim_quotes=False)


# --- encoding ------------------------------------------------------------

_Encoder = Callable[[Any], str]


def _int64(v: Any) -> str:
    return f'"{v}"'


def _bool(v: Any) -> str:
    return "true" if v else "false"


def _bytes_out(v: Any) -> str:
    return '"' + base64.b64encode(v).decode("ascii") + '"'


def _enum_encoder(fd: FieldDescriptor) -> _Encoder:
    names = {v.number: f'"{v.name}"' for v in _enum_type(fd).values}

    def encode_enum(v: Any) -> str:
        return names.get(v) or str(v)

    return encode_enum


def _value_encoder(fd: FieldDescriptor) -> _Encoder:
    t = fd.type
    if t == _FD.TYPE_MESSAGE:
        return encode
    if t in _INTS:
        return _int64 if _INTS[t][0].endswith("64") else str
    if t == _FD.TYPE_STRING:
        return gojson.encode_string
    if t == _FD.TYPE_BYTES:
        return _bytes_out
    if t == _FD.TYPE_BOOL:
        return _bool
    if t == _FD.TYPE_ENUM:
        return _enum_encoder(fd)
    raise TypeError(f"unsupported field type {t} for {fd.full_name}")


def _field_encoder(fd: FieldDescriptor) -> _Encoder:
    one = _value_encoder(fd)
    prefix = gojson.encode_string(fd.name) + ":"
    if not fd.is_repeated:
        return lambda v: prefix + one(v)
    return lambda v: prefix + "[" + ",".join([one(x) for x in v]) + "]"


class _Plan:
    """How to write one message type: an encoder per field, and whether the set
    fields (listed by field number) must be re-sorted into declaration order."""

    __slots__ = ("encoders", "resort")

    def __init__(self, desc: Descriptor) -> None:
        self.encoders = {fd: _field_encoder(fd) for fd in desc.fields}
        numbers = [fd.number for fd in desc.fields]
        self.resort = numbers != sorted(numbers)


_PLANS: dict[Descriptor, _Plan] = {}


def _plan(desc: Descriptor) -> _Plan:
    plan = _PLANS.get(desc)
    if plan is None:
        plan = _PLANS[desc] = _Plan(desc)
    return plan


def encode(msg: Message) -> str:
    """`msg` as the gateway's JSON text."""
    plan = _plan(_descriptor(msg))
    fields = msg.ListFields()
    if plan.resort:
        fields = sorted(fields, key=lambda item: item[0].index)
    encoders = plan.encoders
    return "{" + ",".join([encoders[fd](value) for fd, value in fields]) + "}"
