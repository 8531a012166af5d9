"""Rendering a run's results as a plain-text table (terminal) or a markdown table (README).

Rows are grouped by workload, targets in run order. Ratio columns divide the row's requests/s by
the baseline target's on the same workload (see results.ratio_baselines)."""

from __future__ import annotations

from collections.abc import Sequence

from .results import RATIO_COLUMNS, CheckPerfResult, WorkloadResult, ratio_baselines, throughput_ratios

_HEADERS = [
    "workload",
    "target",
    "req/s",
    "p50 ms",
    "p99 ms",
    "failed reqs",
    *(f"vs {c}" for c in RATIO_COLUMNS),
]
_RIGHT_ALIGNED = set(range(2, len(_HEADERS)))
_NOTE_CHARS = 300


def _grouped(results: Sequence[WorkloadResult]) -> list[WorkloadResult]:
    """Workload-major order, keeping the order of first appearance of workloads and of targets."""
    workloads = list(dict.fromkeys(r.workload for r in results))
    targets = list(dict.fromkeys(r.target for r in results))
    return sorted(results, key=lambda r: (workloads.index(r.workload), targets.index(r.target)))


def _ms(secs: float | None) -> str:
    return "-" if secs is None else f"{secs * 1000:.2f}"


def _rows(results: Sequence[WorkloadResult]) -> tuple[list[list[str]], list[str]]:
    """Table cells and the numbered notes explaining failed rows."""
    ratios = throughput_ratios(results)
    rows: list[list[str]] = []
    notes: dict[str, int] = {}  # note text -> its number; rows failing the same way share a note
    for r in _grouped(results):
        m = r.measurement
        rps = r.requests_per_sec
        if r.failure is not None:
            note = f"{r.target}: {_first_line(r.failure)}"
            throughput = f"FAILED ({notes.setdefault(note, len(notes) + 1)})"
        else:
            throughput = "-" if rps is None else f"{rps:,.0f}"
        row_ratios = ratios.get((r.workload, r.target), {})
        baselines = ratio_baselines(r.target)
        rows.append(
            [
                r.workload,
                r.target,
                throughput,
                _ms(m.p50_secs if m else None),
                _ms(m.p99_secs if m else None),
                str(m.error_count) if m and m.error_count else "",
                *(_ratio(row_ratios, baselines.get(c)) for c in RATIO_COLUMNS),
            ]
        )
    return rows, [f"({number}) {note}" for note, number in notes.items()]


def _ratio(row_ratios: dict[str, float], baseline: str | None) -> str:
    value = None if baseline is None else row_ratios.get(baseline)
    return "" if value is None else f"{value:.2f}x"


def summary_line(result: WorkloadResult) -> str:
    """One line for the progress log."""
    m = result.measurement
    if result.failure is not None or m is None:
        return f"FAILED: {result.failure}"
    text = f"{m.requests_per_sec or 0:,.0f} req/s, p50 {_ms(m.p50_secs)} ms, p99 {_ms(m.p99_secs)} ms"
    return text + (f", {m.error_count} failed requests" if m.error_count else "")


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= _NOTE_CHARS else line[: _NOTE_CHARS - 3] + "..."


def text_table(results: Sequence[WorkloadResult]) -> str:
    rows, notes = _rows(results)
    widths = [max(len(cells[i]) for cells in [_HEADERS, *rows]) for i in range(len(_HEADERS))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in _RIGHT_ALIGNED else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    out = [line(_HEADERS), line(["-" * w for w in widths])]
    previous_workload = None
    for cells in rows:
        if previous_workload is not None and cells[0] != previous_workload:
            out.append("")
        previous_workload = cells[0]
        out.append(line(cells))
    return "\n".join([*out, *(["", *notes] if notes else [])]) + "\n"


def markdown_table(results: Sequence[WorkloadResult]) -> str:
    rows, notes = _rows(results)
    align = ["---:" if i in _RIGHT_ALIGNED else "---" for i in range(len(_HEADERS))]
    out = [f"| {' | '.join(cells)} |" for cells in [_HEADERS, align, *rows]]
    return "\n".join([*out, *(["", *(f"- {n}" for n in notes)] if notes else [])]) + "\n"


def check_perf_text(results: Sequence[CheckPerfResult]) -> str:
    out = []
    for c in results:
        out.append(f"{c.target}: check perf --load={c.load}: {'PASS' if c.passed else 'FAIL'}")
        out += [f"    {line}" for line in c.report_lines]
        if c.failure:
            out.append(f"    {_first_line(c.failure)}")
    return "\n".join(out) + "\n"
