"""Reading the report etcd's `benchmark` prints (pkg/report): its Summary, Latency distribution
and Error distribution sections. Numbers are seconds, in %4.4f or, with --precise, %g form."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_NUMBER = r"([0-9.]+(?:[eE][-+]?[0-9]+)?)"
_SUMMARY = {
    "total_secs": re.compile(rf"^\s*Total:\s*{_NUMBER} secs\.", re.M),
    "slowest_secs": re.compile(rf"^\s*Slowest:\s*{_NUMBER} secs\.", re.M),
    "fastest_secs": re.compile(rf"^\s*Fastest:\s*{_NUMBER} secs\.", re.M),
    "average_secs": re.compile(rf"^\s*Average:\s*{_NUMBER} secs\.", re.M),
    "stddev_secs": re.compile(rf"^\s*Stddev:\s*{_NUMBER} secs\.", re.M),
    "requests_per_sec": re.compile(rf"^\s*Requests/sec:\s*{_NUMBER}\s*$", re.M),
}
_PERCENTILE = re.compile(rf"^\s*([0-9.]+)% in {_NUMBER} secs\.", re.M)
_ERROR_SECTION = re.compile(r"^Error distribution:\n((?:\s*\[\d+\]\t.*\n?)*)", re.M)
_ERROR_LINE = re.compile(r"^\s*\[(\d+)\]\t(.*)$", re.M)


@dataclass
class Measurement:
    """One run of the load tool. Summary fields are None when no request succeeded (the tool then
    prints only its error distribution)."""

    requests_per_sec: float | None = None
    total_secs: float | None = None
    average_secs: float | None = None
    fastest_secs: float | None = None
    slowest_secs: float | None = None
    stddev_secs: float | None = None
    percentiles_secs: dict[str, float] = field(default_factory=dict)  # "50" -> seconds
    errors: dict[str, int] = field(default_factory=dict)  # error message -> count

    @property
    def p50_secs(self) -> float | None:
        return self.percentiles_secs.get("50")

    @property
    def p99_secs(self) -> float | None:
        return self.percentiles_secs.get("99")

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


def parse_benchmark_output(text: str) -> Measurement:
    """The figures in `benchmark`'s stdout; progress-bar carriage returns are tolerated."""
    text = text.replace("\r", "\n")
    m = Measurement()
    for attr, pattern in _SUMMARY.items():
        found = pattern.search(text)
        if found:
            setattr(m, attr, float(found.group(1)))
    m.percentiles_secs = {_percent_key(p): float(v) for p, v in _PERCENTILE.findall(text)}
    section = _ERROR_SECTION.search(text)
    if section:
        m.errors = {msg: int(n) for n, msg in _ERROR_LINE.findall(section.group(1))}
    return m


def _percent_key(percent: str) -> str:
    """'50' for '50', '99.9' for '99.9': the percentile as the tool printed it, minus trailing zeros."""
    return percent.rstrip("0").rstrip(".") if "." in percent else percent
