"""Go's strconv.Quote (fmt's %q), which etcd's texts use for keys, names and URLs."""

from __future__ import annotations

import unicodedata
from typing import Final

_ESCAPES: Final = {7: "\\a", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t", 11: "\\v", 92: "\\\\"}


def is_printable(cp: int) -> bool:
    """Go's strconv.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space."""
    if cp < 0x80:
        return 0x20 <= cp < 0x7F
    return unicodedata.category(chr(cp))[0] in "LMNPS"


def quote_rune(cp: int) -> str:
    """One code point as strconv.Quote spells it inside double quotes."""
    if cp in _ESCAPES:
        return _ESCAPES[cp]
    if cp == 0x22:
        return '\\"'
    if is_printable(cp):
        return chr(cp)
    if cp < 0x20:  # Go 1.16 (etcd 3.5's): DEL is \u007f, not \x7f
        return f"\\x{cp:02x}"
    if cp < 0x10000:
        return f"\\u{cp:04x}"
    return f"\\U{cp:08x}"


def quote(value: str | bytes) -> str:
    """A double-quoted Go string literal of `value`; bytes that are not UTF-8 become \\xNN."""
    text = value.decode("utf-8", "surrogateescape") if isinstance(value, bytes) else value
    out = ['"']
    for ch in text:
        cp = ord(ch)
        out.append(f"\\x{cp - 0xDC00:02x}" if 0xDC80 <= cp <= 0xDCFF else quote_rune(cp))
    out.append('"')
    return "".join(out)
