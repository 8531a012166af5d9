"""Go's text/tabwriter as etcdctl configures it for help text: tab padding, tab width 8, padding 1.

Cells are tab-terminated; the text after a line's last tab is not aligned. A column
block is a run of consecutive lines that all have a cell in that column.
"""

from __future__ import annotations

_TAB_WIDTH = 8
_PADDING = 1


def _cells(text: str) -> list[list[str]]:
    return [line.split("\t") for line in text.split("\n")]


def _width(cell: str) -> int:
    return len(cell)


def _format(lines: list[list[str]], widths: list[int], first: int, last: int, out: list[str]) -> None:
    column = len(widths)
    this = first
    start = first
    while this < last:
        if column >= len(lines[this]) - 1:
            this += 1
            continue
        _write(lines, widths, start, this, out)
        start = this
        width = 0
        while this < last and column < len(lines[this]) - 1:
            width = max(width, _width(lines[this][column]) + _PADDING)
            this += 1
        _format(lines, [*widths, width], start, this, out)
        start = this
    _write(lines, widths, start, last, out)


def _write(lines: list[list[str]], widths: list[int], first: int, last: int, out: list[str]) -> None:
    for index in range(first, last):
        parts: list[str] = []
        for j, cell in enumerate(lines[index]):
            parts.append(cell)
            if j < len(widths):
                cellw = -(-widths[j] // _TAB_WIDTH) * _TAB_WIDTH
                parts.append("\t" * -(-(cellw - _width(cell)) // _TAB_WIDTH))
        out.append("".join(parts))


def align(text: str) -> str:
    """The text as the tabwriter would flush it."""
    lines = _cells(text)
    out: list[str] = []
    _format(lines, [], 0, len(lines), out)
    return "\n".join(out)
