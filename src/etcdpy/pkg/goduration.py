"""Go's time.ParseDuration, for flags and options that etcd parses with it ("500ms", "1m30s")."""

from __future__ import annotations

import re

from etcdpy.pkg.goquote import quote

_UNITS_NS = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,
    "\u03bcs": 1_000,
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
}
_PART = re.compile(r"([0-9]*(?:\.[0-9]*)?)([^0-9.]*)")


class DurationError(ValueError):
    """Text Go's parser rejects; `str()` is Go's error text."""


def parse_duration(text: str) -> float:
    """time.ParseDuration, in seconds."""
    invalid = DurationError(f"time: invalid duration {quote(text)}")
    body, sign = text, 1
    if body[:1] in ("+", "-"):
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    if body == "0":
        return 0.0
    if not body:
        raise invalid
    total_ns = 0.0
    pos = 0
    while pos < len(body):
        match = _PART.match(body, pos)
        if match is None or match.end() == pos:
            raise invalid
        number, unit = match.groups()
        if number in ("", "."):
            raise invalid
        if not unit:
            raise DurationError(f"time: missing unit in duration {quote(text)}")
        if unit not in _UNITS_NS:
            raise DurationError(f"time: unknown unit {quote(unit)} in duration {quote(text)}")
        total_ns += float(number) * _UNITS_NS[unit]
        pos = match.end()
    if total_ns > 2**63 - 1:
        raise invalid
    return sign * total_ns / 1e9
