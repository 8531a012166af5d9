"""The ASCII tables of olekukonko/tablewriter, as etcdctl's `-w table` renders them.

Defaults kept: borders, centred upper-cased headers, cells right-aligned (etcdctl's
choice), and cells wider than 30 columns wrapped at spaces with minimal raggedness.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence

_MAX_CELL_WIDTH = 30
_LONG_LINE_PENALTY = 100_000


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)


def _wrap_words(words: list[str], limit: int) -> list[list[str]]:
    """Break `words` into lines minimising the squared slack of every line but the last."""
    n = len(words)
    length = [[0] * n for _ in range(n)]
    for i in range(n):
        length[i][i] = _display_width(words[i])
        for j in range(i + 1, n):
            length[i][j] = length[i][j - 1] + 1 + _display_width(words[j])
    breaks = [0] * n
    cost = [2**31 - 1] * n
    for i in range(n - 1, -1, -1):
        if length[i][n - 1] <= limit:
            cost[i], breaks[i] = 0, n
            continue
        for j in range(i + 1, n):
            slack = limit - length[i][j - 1]
            candidate = slack * slack + cost[j]
            if length[i][j - 1] > limit:
                candidate += _LONG_LINE_PENALTY
            if candidate < cost[i]:
                cost[i], breaks[i] = candidate, j
    lines, i = [], 0
    while i < n:
        lines.append(words[i : breaks[i]])
        i = breaks[i]
    return lines


def _wrap(text: str, limit: int) -> list[str]:
    words = text.replace("\n", " ").split(" ")
    limit = max([limit, *(_display_width(w) for w in words)])
    return [" ".join(line) for line in _wrap_words(words, limit)]


def _cell_lines(text: str) -> list[str]:
    paragraphs = text.split("\n")
    width = min(max(_display_width(p) for p in paragraphs), _MAX_CELL_WIDTH)
    lines: list[str] = []
    for i, paragraph in enumerate(paragraphs):
        if i > 0:
            lines.append(" ")
        lines.extend(_wrap(paragraph, width))
    return lines


def _title(header: str) -> str:
    chars = list(header)
    for i, ch in enumerate(chars):
        if ch == "_":
            chars[i] = " "
        elif ch == ".":
            before = i > 0 and not (chars[i - 1].isdigit() or chars[i - 1] == " ")
            after = i < len(chars) - 1 and not (chars[i + 1].isdigit() or chars[i + 1] == " ")
            if before or after:
                chars[i] = " "
    name = "".join(chars).strip()
    return (name or (" " if header else "")).upper()


def _center(text: str, width: int) -> str:
    gap = width - _display_width(text)
    if gap <= 0:
        return text
    left = gap // 2
    return " " * left + text + " " * (gap - left)


def _right(text: str, width: int) -> str:
    gap = width - _display_width(text)
    return " " * gap + text if gap > 0 else text


def render(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """The table, each line newline-terminated."""
    head = [_cell_lines(h) for h in header]
    body = [[_cell_lines(cell) for cell in row] for row in rows]
    widths = [max(_display_width(line) for line in lines) for lines in head]
    for row in body:
        for i, lines in enumerate(row):
            widths[i] = max(widths[i], *(_display_width(line) for line in lines))
    rule = "+" + "".join("-" * (w + 2) + "+" for w in widths) + "\n"
    out = [rule]
    for x in range(max(len(lines) for lines in head)):
        cells = [_title(lines[x]) if x < len(lines) else "" for lines in head]
        out.append("|" + "".join(f" {_center(c, w)} |" for c, w in zip(cells, widths, strict=True)) + "\n")
    out.append(rule)
    for row in body:
        for x in range(max(len(lines) for lines in row)):
            cells = [lines[x] if x < len(lines) else "  " for lines in row]
            out.append("".join(f"| {_right(c, w)} " for c, w in zip(cells, widths, strict=True)) + "|\n")
    out.append(rule)
    return "".join(out)
