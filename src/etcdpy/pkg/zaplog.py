"""Structured JSON log lines shaped like etcd's zap output.

    {"level":"info","ts":"2026-11-25T16:50:53.129Z","caller":"server/server.py:72","msg":"...","key":value}

`get(name)` returns a `StructuredLogger` whose methods take the message and
keyword fields; `configure(outputs, level)` routes every etcd-py logger to
stderr, stdout or files, as etcd's --log-outputs and --log-level do.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Sequence
from typing import Any

_LEVEL_NAMES = {
    logging.DEBUG: "debug",
    logging.INFO: "info",
    logging.WARNING: "warn",
    logging.ERROR: "error",
    logging.CRITICAL: "fatal",
}
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warn": logging.WARNING, "error": logging.ERROR,
          "dpanic": logging.CRITICAL, "panic": logging.CRITICAL, "fatal": logging.CRITICAL}
ROOT = "etcdpy"


def _default(o: object) -> object:
    if isinstance(o, bytes):
        return o.decode("utf-8", "replace")
    if isinstance(o, BaseException):
        return str(o)
    return repr(o)


class ZapFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        secs = time.gmtime(record.created)
        ts = time.strftime("%Y-%m-%dT%H:%M:%S", secs) + f".{int(record.msecs):03d}Z"
        path = record.pathname
        parts = path.replace(os.sep, "/").split("/")
        caller = "/".join(parts[-2:]) + f":{record.lineno}"
        out: dict[str, object] = {"level": _LEVEL_NAMES.get(record.levelno, "info"), "ts": ts}
        sub = record.name[len(ROOT) + 1:] if record.name.startswith(ROOT + ".") else ""
        if sub and "." not in sub:
            out["logger"] = sub
        out["caller"] = caller
        out["msg"] = record.getMessage()
        fields = getattr(record, "fields", None)
        if fields:
            out.update(fields)
        if record.exc_info:
            out["error"] = self.formatException(record.exc_info)
        return json.dumps(out, default=_default, ensure_ascii=False, separators=(",", ":"))


class StructuredLogger:
    """logging.Logger with keyword fields: `log.info("msg", key=value)`."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger

    def _log(self, level: int, msg: str, fields: dict[str, Any]) -> None:
        if self._logger.isEnabledFor(level):
            self._logger.log(level, msg, extra={"fields": fields}, stacklevel=3)

    def debug(self, msg: str, **fields: Any) -> None:
        self._log(logging.DEBUG, msg, fields)

    def info(self, msg: str, **fields: Any) -> None:
        self._log(logging.INFO, msg, fields)

    def warning(self, msg: str, **fields: Any) -> None:
        self._log(logging.WARNING, msg, fields)

    def error(self, msg: str, **fields: Any) -> None:
        self._log(logging.ERROR, msg, fields)

    def fatal(self, msg: str, **fields: Any) -> None:
        self._log(logging.CRITICAL, msg, fields)


def get(name: str = "") -> StructuredLogger:
    return StructuredLogger(logging.getLogger(f"{ROOT}.{name}" if name else ROOT))


def configure(outputs: Sequence[str], level: str) -> None:
    """Route etcd-py's log lines to `outputs` (default/stderr, stdout, or file paths)."""
    root = logging.getLogger(ROOT)
    for h in list(root.handlers):
        root.removeHandler(h)
        h.close()
    fmt = ZapFormatter()
    for out in outputs or ["default"]:
        handler: logging.Handler
        if out in ("default", "stderr"):
            handler = logging.StreamHandler(sys.stderr)
        elif out == "stdout":
            handler = logging.StreamHandler(sys.stdout)
        else:
            handler = logging.FileHandler(out)
        handler.setFormatter(fmt)
        root.addHandler(handler)
    root.setLevel(LEVELS[level])
    root.propagate = False
