"""Go's encoding/json applied to etcd's gogoproto structs, as `etcdctl -w json` prints them.

Fields in declaration order under their proto names, zero values omitted (omitempty),
64-bit integers as JSON numbers, bytes as base64, enums as numbers, a oneof as an
object named after the oneof holding the set field, strings with Go's escaping.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

_GO_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_NEEDS_ESCAPE = re.compile('[\x00-\x1f"\\\\<>&\u2028\u2029\udc80-\udcff]')


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    if ch in _GO_ESCAPES:
        return _GO_ESCAPES[ch]
    if "\udc80" <= ch <= "\udcff":
        return "\\ufffd"
    return f"\\u{ord(ch):04x}"


def string(value: str | bytes) -> str:
    """A JSON string as Go writes it: HTML-safe, invalid UTF-8 replaced by U+FFFD."""
    text = value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else value
    return '"' + _NEEDS_ESCAPE.sub(_escape, text) + '"'


def _scalar(field: Any, value: Any) -> str:
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return message(value)
    if field.type == FieldDescriptor.TYPE_BYTES:
        return '"' + base64.b64encode(value).decode() + '"'
    if field.type == FieldDescriptor.TYPE_STRING:
        return string(value)
    if field.type == FieldDescriptor.TYPE_BOOL:
        return "true" if value else "false"
    return str(int(value))


def _is_empty(field: Any, msg: Message) -> bool:
    if field.is_repeated:
        return len(getattr(msg, field.name)) == 0
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        return not msg.HasField(field.name)
    return not getattr(msg, field.name)


def _oneof_go_name(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def message(msg: Message) -> str:
    parts: list[str] = []
    done_oneofs: set[str] = set()
    for field in msg.DESCRIPTOR.fields:
        oneof = field.containing_oneof
        if oneof is not None:
            if oneof.name in done_oneofs:
                continue
            done_oneofs.add(oneof.name)
            which = msg.WhichOneof(oneof.name)
            inner = "null"
            if which is not None:
                chosen = msg.DESCRIPTOR.fields_by_name[which]
                inner = "{" + string(which) + ":" + _scalar(chosen, getattr(msg, which)) + "}"
            parts.append(string(_oneof_go_name(oneof.name)) + ":" + inner)
            continue
        if _is_empty(field, msg):
            continue
        value = getattr(msg, field.name)
        if field.is_repeated:
            rendered = "[" + ",".join(_scalar(field, v) for v in value) + "]"
        else:
            rendered = _scalar(field, value)
        parts.append(string(field.name) + ":" + rendered)
    return "{" + ",".join(parts) + "}"


def value(obj: Any) -> str:
    """JSON for a message, a Go-style struct given as a mapping (keys in order, values
    already JSON-ready Python values or messages), a list, or a plain scalar."""
    if isinstance(obj, Message):
        return message(obj)
    if isinstance(obj, Mapping):
        return "{" + ",".join(string(k) + ":" + value(v) for k, v in obj.items()) + "}"
    if isinstance(obj, Sequence) and not isinstance(obj, str | bytes):
        return "[" + ",".join(value(v) for v in obj) + "]"
    if isinstance(obj, bool):
        return "true" if obj else "false"
    if isinstance(obj, int):
        return str(obj)
    if isinstance(obj, str | bytes):
        return string(obj)
    raise TypeError(f"cannot encode {type(obj).__name__}")
