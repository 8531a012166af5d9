"""A reader and writer of datadriven test files (the format of etcd-io/raft's testdata).

A file is a sequence of cases separated by blank or comment lines:

    # a comment
    command arg key=value key=(v1,v2)
    optional input lines
    ----
    expected output, up to the next blank line

Output that itself contains blank lines is fenced by a doubled separator (`----` twice before and after).
Rewriting keeps every comment, command and input line as it was and replaces only the outputs.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

SEPARATOR = "----"
_TOKEN = re.compile(r"\S+=\([^)]*\)|\S+")


@dataclass(frozen=True, slots=True)
class Arg:
    key: str
    vals: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Case:
    line: int
    """1-based line of the command, for error messages."""
    command: str
    args: tuple[Arg, ...]
    input: tuple[str, ...]
    expected: str
    source: tuple[str, ...]
    """The command and input lines as written."""


def parse_args(text: str) -> tuple[Arg, ...]:
    args = []
    for token in _TOKEN.findall(text):
        key, eq, value = token.partition("=")
        if not eq:
            args.append(Arg(token, ()))
        elif value.startswith("("):
            args.append(Arg(key, tuple(v for v in re.split(r"[,\s]+", value[1:-1]) if v)))
        else:
            args.append(Arg(key, (value,)))
    return tuple(args)


def parse(text: str) -> list[str | Case]:
    """The file as raw lines (comments, blanks) and cases, in order."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    out: list[str | Case] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip() or line.startswith("#"):
            out.append(line)
            i += 1
            continue
        start = i
        while i < len(lines) and lines[i] != SEPARATOR:
            i += 1
        if i == len(lines):
            raise ValueError(f"line {start + 1}: command without a {SEPARATOR} line")
        source = tuple(lines[start:i])
        i += 1
        if i < len(lines) and lines[i] == SEPARATOR:
            end = lines.index(SEPARATOR, i + 1)
            if end + 1 >= len(lines) or lines[end + 1] != SEPARATOR:
                raise ValueError(f"line {start + 1}: unterminated doubled separator")
            expected = lines[i + 1 : end]
            i = end + 2
        else:
            end = i
            while end < len(lines) and lines[end].strip():
                end += 1
            expected = lines[i:end]
            i = end
        command, _, rest = source[0].partition(" ")
        out.append(Case(start + 1, command, parse_args(rest), source[1:], "\n".join(expected), source))
    return out


def render(chunks: list[str | Case], output: Callable[[Case], str]) -> str:
    """The file with each case's output replaced by `output(case)`."""
    lines: list[str] = []
    for chunk in chunks:
        if isinstance(chunk, str):
            lines.append(chunk)
            continue
        lines += chunk.source
        text = output(chunk)
        if any(not line.strip() for line in text.split("\n")):
            lines += [SEPARATOR, SEPARATOR, text, SEPARATOR, SEPARATOR]
        else:
            lines += [SEPARATOR, text]
    return "\n".join(lines) + "\n"
