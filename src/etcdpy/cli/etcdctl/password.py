"""Reading passwords from stdin as etcdctl does.

`ask` is bgentry/speakeasy's prompt: the prompt goes to stdout, terminal echo is switched
off with `stty` around the read (whose complaints, when stdin is not a terminal, reach
stderr as they do from etcdctl), one line is read byte by byte and a newline ends the
prompt line. `scan_word` is Go's `fmt.Scanf("%s")`: the first word on the line.
"""

from __future__ import annotations

import contextlib
import subprocess
from typing import BinaryIO

_BLANKS = b" \t\r"


def _read_byte(stream: BinaryIO) -> bytes:
    return stream.read(1)


def _stty(setting: str, stdin: BinaryIO, stderr: BinaryIO) -> None:
    stderr.flush()
    with contextlib.suppress(OSError, ValueError):
        subprocess.run(["stty", setting], stdin=stdin.fileno(), stderr=stderr.fileno(), check=False)


def ask(prompt: str, stdin: BinaryIO, stdout: BinaryIO, stderr: BinaryIO) -> str:
    stdout.write(prompt.encode())
    stdout.flush()
    _stty("-echo", stdin, stderr)
    line = bytearray()
    while (byte := _read_byte(stdin)) and byte != b"\n":
        line += byte
    _stty("echo", stdin, stderr)
    stdout.write(b"\n")
    stdout.flush()
    return bytes(line).removesuffix(b"\r").decode("utf-8", "surrogateescape")


def scan_word(stdin: BinaryIO) -> str:
    """The first blank-separated word of the next line; empty if that line has none."""
    byte = _read_byte(stdin)
    while byte and byte in _BLANKS:
        byte = _read_byte(stdin)
    word = bytearray()
    while byte and byte not in _BLANKS and byte != b"\n":
        word += byte
        byte = _read_byte(stdin)
    return bytes(word).decode("utf-8", "surrogateescape")
