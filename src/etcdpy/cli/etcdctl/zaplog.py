"""Log lines in the shape of zap's JSON encoder, which etcdctl writes to stderr."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_NEEDS_ESCAPE = re.compile('[\x00-\x1f"\\\\]')


def _string(text: str) -> str:
    def escape(match: re.Match[str]) -> str:
        ch = match.group()
        return _ESCAPES.get(ch) or f"\\u{ord(ch):04x}"

    return '"' + _NEEDS_ESCAPE.sub(escape, text) + '"'


def _iso_now() -> str:
    now = time.time()
    local = time.localtime(now)
    millis = int(now % 1 * 1000)
    offset = time.strftime("%z", local)
    zone = "Z" if offset in ("+0000", "-0000") else offset
    return time.strftime("%Y-%m-%dT%H:%M:%S", local) + f".{millis:03d}" + zone


def line(
    level: str,
    msg: str,
    *,
    caller: str,
    logger: str | None = None,
    iso_time: bool = False,
    fields: Mapping[str, str | int] | None = None,
) -> str:
    """One log line, newline-terminated. `iso_time` selects clientv3's own logger's time format
    (ISO 8601) over zap's production default (epoch seconds)."""
    ts = _string(_iso_now()) if iso_time else repr(time.time())
    parts = [f'"level":{_string(level)}', f'"ts":{ts}']
    if logger is not None:
        parts.append(f'"logger":{_string(logger)}')
    parts += [f'"caller":{_string(caller)}', f'"msg":{_string(msg)}']
    for key, value in (fields or {}).items():
        parts.append(f"{_string(key)}:{value if isinstance(value, int) else _string(value)}")
    return "{" + ",".join(parts) + "}\n"
