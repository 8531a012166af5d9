"""Go's text conventions that etcdctl's output and errors are made of.

strconv parsing (with its error texts; quoting is etcdpy.pkg.goquote), time.Duration, and
go-humanize's byte sizes: the CLI prints values exactly as the Go tool does.
"""

from __future__ import annotations

import math
import re

from etcdpy.pkg import goduration
from etcdpy.pkg.goquote import quote


class GoSyntaxError(ValueError):
    """A value a Go parser rejects; `str()` is Go's error text."""


_UNQUOTE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def unquote_prefix(text: str) -> tuple[bytes, str] | None:
    """Scan one Go double-quoted literal at the start of `text` (as fmt's %q verb does).

    Returns (value, rest) or None when `text` does not start with a valid literal.
    """
    if not text.startswith('"'):
        return None
    out = bytearray()
    i = 1
    while i < len(text):
        ch = text[i]
        if ch == '"':
            return bytes(out), text[i + 1 :]
        if ch == "\n":
            return None
        if ch != "\\":
            out += ch.encode("utf-8", "surrogateescape")
            i += 1
            continue
        if i + 1 >= len(text):
            return None
        esc = text[i + 1]
        if esc in _UNQUOTE_ESCAPES:
            out += _UNQUOTE_ESCAPES[esc].encode()
            i += 2
        elif esc in ('"', "\\", "'"):
            if esc == "'":
                return None
            out += esc.encode()
            i += 2
        elif esc in "xuU":
            width = {"x": 2, "u": 4, "U": 8}[esc]
            digits = text[i + 2 : i + 2 + width]
            if len(digits) != width or not all(c in "0123456789abcdefABCDEF" for c in digits):
                return None
            code = int(digits, 16)
            if esc == "x":
                out.append(code)
            else:
                if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                    return None
                out += chr(code).encode()
            i += 2 + width
        elif esc in "01234567":
            digits = text[i + 1 : i + 4]
            if len(digits) != 3 or not all(c in "01234567" for c in digits) or int(digits, 8) > 255:
                return None
            out.append(int(digits, 8))
            i += 4
        else:
            return None
    return None


def parse_bool(text: str) -> bool:
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise GoSyntaxError(f"strconv.ParseBool: parsing {quote(text)}: invalid syntax")


_BASE_PREFIXES = {"0x": 16, "0o": 8, "0b": 2}


def _digits_ok(digits: str, base: int) -> bool:
    valid = "0123456789abcdefghijklmnopqrstuvwxyz"[:base]
    return bool(digits) and all(c in valid for c in digits.lower())


def parse_int(text: str, base: int = 10, bits: int = 64, *, unsigned: bool = False) -> int:
    """strconv.ParseInt / ParseUint, including base 0 (prefixes and underscores)."""
    func = "ParseUint" if unsigned else "ParseInt"
    syntax = GoSyntaxError(f"strconv.{func}: parsing {quote(text)}: invalid syntax")
    body, sign = text, 1
    if not unsigned and body[:1] in ("+", "-"):
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    digits, radix = body, base
    if base == 0:
        radix = 10
        low = body[:2].lower()
        if low in _BASE_PREFIXES:
            radix, digits = _BASE_PREFIXES[low], body[2:]
        elif body.startswith("0") and len(body) > 1:
            radix, digits = 8, body[1:]
        if "_" in digits:
            # Underscores separate digits; one may also follow a base prefix.
            pattern = r"[^_]+(_[^_]+)*" if radix == 10 else r"_?[^_]+(_[^_]+)*"
            if not re.fullmatch(pattern, digits):
                raise syntax
            digits = digits.replace("_", "")
    if not _digits_ok(digits, radix):
        raise syntax
    value = sign * int(digits, radix)
    low_bound, high_bound = (0, 2**bits - 1) if unsigned else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    if not low_bound <= value <= high_bound:
        raise GoSyntaxError(f"strconv.{func}: parsing {quote(text)}: value out of range")
    return value


def parse_duration(text: str) -> float:
    """time.ParseDuration, in seconds."""
    try:
        return goduration.parse_duration(text)
    except goduration.DurationError as e:
        raise GoSyntaxError(str(e)) from None


def _frac(value: int, digits: int) -> tuple[str, int]:
    """Go's fmtFrac: the `digits` fractional digits of value/10**digits, trailing zeros dropped."""
    frac = value % 10**digits
    text = f"{frac:0{digits}d}".rstrip("0")
    return ("." + text if text else ""), value // 10**digits


def format_duration(seconds: float) -> str:
    """time.Duration.String."""
    ns = round(seconds * 1e9)
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    u = abs(ns)
    if u < 1_000_000_000:
        if u < 1_000:
            return f"{sign}{u}ns"
        if u < 1_000_000:
            frac, whole = _frac(u, 3)
            return f"{sign}{whole}{frac}µs"
        frac, whole = _frac(u, 6)
        return f"{sign}{whole}{frac}ms"
    frac, secs = _frac(u, 9)
    out = f"{secs % 60}{frac}s"
    minutes = secs // 60
    if minutes:
        out = f"{minutes % 60}m{out}"
        hours = minutes // 60
        if hours:
            out = f"{hours}h{out}"
    return sign + out


_SI_SIZES = ("B", "kB", "MB", "GB", "TB", "PB", "EB")


def humanize_bytes(size: int) -> str:
    """go-humanize's Bytes: SI units, one decimal below 10."""
    if size < 10:
        return f"{size} B"
    exp = math.floor(math.log(size) / math.log(1000))
    value = math.floor(size / 1000**exp * 10 + 0.5) / 10
    return f"{value:.1f} {_SI_SIZES[exp]}" if value < 10 else f"{value:.0f} {_SI_SIZES[exp]}"


def humanize_since(seconds: float) -> str:
    """go-humanize's Time for a moment `seconds` ago."""
    steps = (
        (1, "now", 1),
        (2, "1 second ago", 1),
        (60, "{} seconds ago", 1),
        (120, "1 minute ago", 1),
        (3600, "{} minutes ago", 60),
        (7200, "1 hour ago", 1),
        (86400, "{} hours ago", 3600),
    )
    for limit, text, unit in steps:
        if seconds < limit:
            return text.format(int(seconds // unit))
    return f"{int(seconds // 86400)} days ago"
