"""Go's encoding/json as etcd 3.5.1's gateway applies it: scanning, unquoting, error texts.

etcd's gateway decodes request bodies with a Go `json.Decoder` and then, per
field, `json.Unmarshal`; clients see Go's error messages verbatim. This module
reproduces that grammar and those messages over raw bytes:

- `first_value` finds the next JSON value the way `Decoder.Decode` does (the
  rest of the input is left alone; an input ending inside the value is
  "unexpected EOF", one holding only whitespace is `None`);
- `document` validates a complete input the way `json.Unmarshal` does
  (trailing non-space is an error, a truncated input is "unexpected end of
  JSON input");
- both return a tree of `Node`s whose `start:end` spans index the input, so
  callers can re-read a value's raw text as Go's `json.RawMessage` does.
"""

from __future__ import annotations

import codecs
import re
from typing import Final

from etcdpy.pkg.goquote import quote_rune

MAX_DEPTH: Final = 10000  # Go's maxNestingDepth

STRING: Final = 0
NUMBER: Final = 1
TRUE: Final = 2
FALSE: Final = 3
NULL: Final = 4
ARRAY: Final = 5
OBJECT: Final = 6

# The noun Go's UnmarshalTypeError uses for each kind of JSON value.
KIND_NAMES: Final = ("string", "number", "bool", "bool", "null", "array", "object")


class GoJSONError(Exception):
    """A decoding failure, carrying the exact text Go would report."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Incomplete(Exception):
    """The input ended inside a value; more bytes could complete it."""


class Node:
    """A JSON value found in an input: its kind, its raw span and its children."""

    __slots__ = ("end", "items", "kind", "members", "start")

    def __init__(self, kind: int, start: int, end: int = -1) -> None:
        self.kind = kind
        self.start = start
        self.end = end
        self.items: list[Node] = []  # ARRAY elements
        self.members: dict[str, Node] = {}  # OBJECT members; a repeated key keeps its last value


def type_error(kind: int, go_type: str) -> GoJSONError:
    return GoJSONError(f"json: cannot unmarshal {KIND_NAMES[kind]} into Go value of type {go_type}")


def number_error(text: bytes, go_type: str) -> GoJSONError:
    return GoJSONError(
        f"json: cannot unmarshal number {text.decode('ascii')} into Go value of type {go_type}"
    )


# --- error texts ---------------------------------------------------------

def quote_char(c: int) -> str:
    """How Go's JSON scanner names an offending byte: the byte taken as a code point."""
    if c == 0x27:
        return "'\\''"
    if c == 0x22:
        return "'\"'"
    return "'" + quote_rune(c) + "'"


def _syntax(c: int, context: str) -> GoJSONError:
    return GoJSONError(f"invalid character {quote_char(c)} {context}")


# --- scanning ------------------------------------------------------------

_WS: Final = re.compile(rb"[ \t\n\r]*")
_STRING_TOKEN: Final = re.compile(
    rb'"[^"\\\x00-\x1f]*(?:\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4})[^"\\\x00-\x1f]*)*"'
)
_NUMBER_TOKEN: Final = re.compile(rb"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_LITERALS: Final = {0x74: (b"true", TRUE), 0x66: (b"false", FALSE), 0x6E: (b"null", NULL)}
_SIMPLE_ESCAPES: Final = frozenset(b'"\\/bfnrt')
_HEX: Final = frozenset(b"0123456789abcdefABCDEF")
_DIGITS: Final = frozenset(b"0123456789")

# What the scanner expects next, and how Go words a mismatch there.
_VALUE, _VALUE_OR_CLOSE, _KEY_OR_CLOSE, _KEY, _COLON, _OBJECT_NEXT, _ARRAY_NEXT = range(7)
_CONTEXT: Final = {
    _VALUE: "looking for beginning of value",
    _VALUE_OR_CLOSE: "looking for beginning of value",
    _KEY_OR_CLOSE: "looking for beginning of object key string",
    _KEY: "looking for beginning of object key string",
    _COLON: "after object key",
    _OBJECT_NEXT: "after object key:value pair",
    _ARRAY_NEXT: "after array element",
}


def _string_fault(data: bytes, i: int) -> GoJSONError:
    """The input at `i` opens a string the token pattern rejected: the error to raise
    (Incomplete is raised directly if the input ends inside it)."""
    n = len(data)
    i += 1
    while i < n:
        c = data[i]
        if c == 0x5C:
            i += 1
            if i >= n:
                break
            e = data[i]
            if e == 0x75:
                for k in range(1, 5):
                    if i + k >= n:
                        raise Incomplete
                    if data[i + k] not in _HEX:
                        return _syntax(data[i + k], "in \\u hexadecimal character escape")
                i += 5
                continue
            if e not in _SIMPLE_ESCAPES:
                return _syntax(e, "in string escape code")
        elif c < 0x20:
            return _syntax(c, "in string literal")
        i += 1
    raise Incomplete


def _number_end(data: bytes, i: int) -> int:
    """Where the number starting at `i` ends, walking it byte by byte; raises on a
    malformed number and Incomplete if the input stops where a digit is required."""
    n = len(data)
    if data[i] == 0x2D:
        i += 1
        if i >= n:
            raise Incomplete
        if data[i] not in _DIGITS:
            raise _syntax(data[i], "in numeric literal")
    if data[i] == 0x30:
        i += 1
    else:
        while i < n and data[i] in _DIGITS:
            i += 1
    if i < n and data[i] == 0x2E:
        i += 1
        if i >= n:
            raise Incomplete
        if data[i] not in _DIGITS:
            raise _syntax(data[i], "after decimal point in numeric literal")
        while i < n and data[i] in _DIGITS:
            i += 1
    if i < n and data[i] in b"eE":
        i += 1
        if i < n and data[i] in b"+-":
            i += 1
        if i >= n:
            raise Incomplete
        if data[i] not in _DIGITS:
            raise _syntax(data[i], "in exponent of numeric literal")
        while i < n and data[i] in _DIGITS:
            i += 1
    return i


def _literal(data: bytes, i: int) -> Node:
    word, kind = _LITERALS[data[i]]
    if data.startswith(word, i):
        return Node(kind, i, i + len(word))
    name = word.decode()
    for k in range(1, len(word)):
        if i + k >= len(data):
            raise Incomplete
        if data[i + k] != word[k]:
            raise _syntax(data[i + k], f"in literal {name} (expecting '{chr(word[k])}')")
    raise AssertionError("unreachable: the literal matched")


def _scalar(data: bytes, i: int, final: bool) -> Node:
    """The string, number or literal starting at `i`."""
    c = data[i]
    if c == 0x22:
        m = _STRING_TOKEN.match(data, i)
        if m is None:
            raise _string_fault(data, i)
        return Node(STRING, i, m.end())
    if c == 0x2D or c in _DIGITS:
        m = _NUMBER_TOKEN.match(data, i)
        end = m.end() if m is not None else i
        if m is None or (end < len(data) and data[end] in b".eE"):
            end = _number_end(data, i)  # the pattern stopped early: walk it to find out why
        if end == len(data) and not final:
            raise Incomplete  # more digits may follow
        return Node(NUMBER, i, end)
    if c in _LITERALS:
        return _literal(data, i)
    raise _syntax(c, "looking for beginning of value")


def _skip_ws(data: bytes, i: int) -> int:
    """The first index at or after `i` that is not JSON whitespace."""
    m = _WS.match(data, i)
    return m.end() if m else i


def _scan(data: bytes, pos: int, final: bool) -> Node:
    """The value starting at `pos` (whitespace already skipped), with its whole subtree."""
    n = len(data)
    stack: list[Node] = []
    keys: list[str] = []
    state = _VALUE
    i = pos
    while True:
        i = _skip_ws(data, i)
        if i >= n:
            raise Incomplete
        c = data[i]
        done: Node | None = None
        if state in (_VALUE, _VALUE_OR_CLOSE):
            if c == 0x5D and state == _VALUE_OR_CLOSE:
                done = stack.pop()
                done.end = i + 1
            elif c in (0x7B, 0x5B):
                if len(stack) >= MAX_DEPTH:
                    raise _syntax(c, "exceeded max depth")
                stack.append(Node(OBJECT if c == 0x7B else ARRAY, i))
                state = _KEY_OR_CLOSE if c == 0x7B else _VALUE_OR_CLOSE
                i += 1
                continue
            else:
                done = _scalar(data, i, final and not stack)
        elif state in (_KEY_OR_CLOSE, _KEY):
            if c == 0x7D and state == _KEY_OR_CLOSE:
                done = stack.pop()
                done.end = i + 1
            elif c == 0x22:
                key = _scalar(data, i, final)
                keys.append(unquote(data[key.start : key.end]))
                state = _COLON
                i = key.end
                continue
            else:
                raise _syntax(c, _CONTEXT[state])
        elif state == _COLON:
            if c != 0x3A:
                raise _syntax(c, _CONTEXT[state])
            state = _VALUE
            i += 1
            continue
        else:
            closer = 0x7D if state == _OBJECT_NEXT else 0x5D
            if c == 0x2C:
                state = _KEY if state == _OBJECT_NEXT else _VALUE
                i += 1
                continue
            if c != closer:
                raise _syntax(c, _CONTEXT[state])
            done = stack.pop()
            done.end = i + 1
        # A value is complete: hand it to its container, or it is the result.
        if not stack:
            return done
        parent = stack[-1]
        if parent.kind == OBJECT:
            parent.members[keys.pop()] = done
            state = _OBJECT_NEXT
        else:
            parent.items.append(done)
            state = _ARRAY_NEXT
        i = done.end


def first_value(data: bytes, pos: int = 0, *, final: bool = True) -> Node | None:
    """The next value at or after `pos`, as `json.Decoder.Decode` reads it.

    None if only whitespace remains. With `final` false the input may grow:
    Incomplete means "wait for more"; with `final` true it is "unexpected EOF".
    """
    i = _skip_ws(data, pos)
    if i >= len(data):
        if final:
            return None
        raise Incomplete
    try:
        return _scan(data, i, final)
    except Incomplete:
        if final:
            raise GoJSONError("unexpected EOF") from None
        raise


def document(data: bytes) -> Node:
    """The single value `data` holds, validated as `json.Unmarshal` does."""
    padded = data + b" "  # Go's scanner treats the end of input as one more space
    i = _skip_ws(padded, 0)
    try:
        if i >= len(padded):
            raise Incomplete
        node = _scan(padded, i, True)
    except Incomplete:
        raise GoJSONError("unexpected end of JSON input") from None
    rest = _skip_ws(data, node.end)
    if rest < len(data):
        raise _syntax(data[rest], "after top-level value")
    return node


# --- strings -------------------------------------------------------------


def _replace_each_byte(err: UnicodeError) -> tuple[str, int]:
    assert isinstance(err, UnicodeDecodeError)
    return "\ufffd" * (err.end - err.start), err.end


codecs.register_error("etcdpy-go-replace", _replace_each_byte)

_ESCAPE: Final = re.compile(rb'\\(?:u([0-9a-fA-F]{4})|(["\\/bfnrt]))')
_ESCAPED: Final = {
    b'"': '"',
    b"\\": "\\",
    b"/": "/",
    b"b": "\b",
    b"f": "\f",
    b"n": "\n",
    b"r": "\r",
    b"t": "\t",
}


def _utf8(raw: bytes) -> str:
    return raw.decode("utf-8", "etcdpy-go-replace")


def unquote(token: bytes) -> str:
    """A string token's text as Go decodes it: each invalid UTF-8 byte and each
    unpaired surrogate escape becomes U+FFFD."""
    inner = token[1:-1]
    if b"\\" not in inner:
        return _utf8(inner)
    out: list[str] = []
    pos = 0
    pending_high = -1  # a high surrogate escape awaiting its low half
    for m in _ESCAPE.finditer(inner):
        if m.start() != pos:
            if pending_high >= 0:
                out.append("\ufffd")
                pending_high = -1
            out.append(_utf8(inner[pos : m.start()]))
        pos = m.end()
        hexdigits = m.group(1)
        if hexdigits is None:
            if pending_high >= 0:
                out.append("\ufffd")
                pending_high = -1
            out.append(_ESCAPED[m.group(2)])
            continue
        cp = int(hexdigits, 16)
        if pending_high >= 0:
            if 0xDC00 <= cp <= 0xDFFF:
                out.append(chr(0x10000 + ((pending_high - 0xD800) << 10) + (cp - 0xDC00)))
                pending_high = -1
                continue
            out.append("\ufffd")
            pending_high = -1
        if 0xD800 <= cp <= 0xDBFF:
            pending_high = cp
        elif 0xDC00 <= cp <= 0xDFFF:
            out.append("\ufffd")
        else:
            out.append(chr(cp))
    if pending_high >= 0:
        out.append("\ufffd")
    out.append(_utf8(inner[pos:]))
    return "".join(out)


_NEEDS_ESCAPE: Final = re.compile('[\x00-\x1f"\\\\<>&\u2028\u2029]')
_OUT_ESCAPES: Final = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(m: re.Match[str]) -> str:
    ch = m.group()
    return _OUT_ESCAPES.get(ch) or f"\\u{ord(ch):04x}"


def encode_string(s: str) -> str:
    """`s` as a JSON string the way Go's json.Marshal writes it (HTML-safe)."""
    if _NEEDS_ESCAPE.search(s) is None:
        return '"' + s + '"'
    return '"' + _NEEDS_ESCAPE.sub(_escape, s) + '"'
