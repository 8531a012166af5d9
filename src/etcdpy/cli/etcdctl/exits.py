"""etcdctl's exit codes and the ways a command ends early."""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    SUCCESS = 0
    ERROR = 1
    BAD_CONNECTION = 2
    INVALID_INPUT = 3
    BAD_FEATURE = 4
    INTERRUPTED = 5
    IO = 6
    BAD_ARGS = 128


class CommandExit(Exception):
    """Print `Error: <message>` to stderr and exit with `code` (etcdctl's ExitWithError)."""

    def __init__(self, code: ExitCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class SilentExit(Exception):
    """Exit with `code`; whatever had to be said was already printed."""

    def __init__(self, code: ExitCode) -> None:
        super().__init__(int(code))
        self.code = code


class GoPanic(Exception):
    """A Go runtime panic in etcdctl: `panic: <message>` and exit status 2."""
