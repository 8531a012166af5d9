"""What a run records: one WorkloadResult per (workload, target), one CheckPerfResult per target
for `etcdctl check perf`, the throughput ratios between targets, and the JSON document of it all."""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import re
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .layout import REPO_ROOT
from .parse import Measurement

# Each row's requests/s is divided by these targets' requests/s on the same workload (by their
# cluster of the row's size for a cluster row: etcdpy-3 is compared with reference-3).
BASELINES = ("reference", "noop", "noop-port")
# The column comparing a cluster with one member of the same implementation (etcdpy-3 / etcdpy).
SINGLE_MEMBER = "1 member"
RATIO_COLUMNS = (*BASELINES, SINGLE_MEMBER)
# Target names follow one invariant: "<base>-<n>" (n > 1) is the n-member cluster of
# target <base>; any other name is one server.
_CLUSTER_NAME = re.compile(r"^(?P<base>.+)-(?P<members>[0-9]+)$")


def cluster_name(base: str, members: int) -> str:
    """The name of the `members`-member cluster of target `base` (`base` itself for one member)."""
    return base if members == 1 else f"{base}-{members}"


def split_cluster_name(target: str) -> tuple[str, int]:
    """(base target, member count): ("etcdpy", 3) for "etcdpy-3", ("noop-port", 1) for "noop-port"."""
    m = _CLUSTER_NAME.match(target)
    if m is None or int(m["members"]) < 2:
        return target, 1
    return m["base"], int(m["members"])


def ratio_baselines(target: str) -> dict[str, str]:
    """Ratio column -> the target whose requests/s divides this target's in that column: each of
    BASELINES at this target's member count, and for a cluster its base target under SINGLE_MEMBER.
    A target is never its own baseline."""
    base, members = split_cluster_name(target)
    columns = {b: cluster_name(b, members) for b in BASELINES}
    if members > 1:
        columns[SINGLE_MEMBER] = base
    return {column: t for column, t in columns.items() if t != target}


@dataclass
class WorkloadResult:
    workload: str
    target: str
    command: list[str]  # benchmark's arguments, apart from the harness's --endpoints and output flags
    total_requests: int
    measurement: Measurement | None = None
    # Why the numbers are missing or suspect: the target did not start or died, the tool failed.
    failure: str | None = None
    wall_secs: float = 0.0
    # requests/s of every round when the run had several (this result is the median one)
    rounds: list[float] = dataclasses.field(default_factory=list)

    @property
    def requests_per_sec(self) -> float | None:
        """Successful requests per second (the tool does not count failed ones), unless the run failed."""
        if self.failure is not None or self.measurement is None:
            return None
        return self.measurement.requests_per_sec


@dataclass
class CheckPerfResult:
    target: str
    load: str
    passed: bool
    report_lines: list[str]  # etcdctl's PASS/FAIL lines
    exit_code: int | None = None
    failure: str | None = None  # the check did not run to its verdict


def median_of_rounds(results: Sequence[WorkloadResult]) -> list[WorkloadResult]:
    """One result per (workload, target), in first-seen order: the round with the median requests/s
    among the successful rounds (the lower middle one for an even count), carrying every round's
    requests/s in `rounds`; the first failure if no round succeeded."""
    by_key: dict[tuple[str, str], list[WorkloadResult]] = {}
    for r in results:
        by_key.setdefault((r.workload, r.target), []).append(r)
    chosen = []
    for runs in by_key.values():
        ok = sorted(
            (r for r in runs if r.requests_per_sec is not None), key=lambda r: r.requests_per_sec or 0.0
        )
        if not ok:
            chosen.append(runs[0])
            continue
        median = ok[(len(ok) - 1) // 2]
        chosen.append(
            dataclasses.replace(
                median, rounds=[r.requests_per_sec or 0.0 for r in runs if r.requests_per_sec is not None]
            )
        )
    return chosen


def throughput_ratios(results: Sequence[WorkloadResult]) -> dict[tuple[str, str], dict[str, float]]:
    """(workload, target) -> {baseline target: requests/s of target / requests/s of baseline}, for
    every baseline of ratio_baselines(target) with a valid measurement on that workload."""
    rps = {(r.workload, r.target): r.requests_per_sec for r in results}
    ratios: dict[tuple[str, str], dict[str, float]] = {}
    for (workload, target), value in rps.items():
        if value is None:
            continue
        row = {}
        for base in ratio_baselines(target).values():
            base_value = rps.get((workload, base))
            if base_value:
                row[base] = value / base_value
        ratios[(workload, target)] = row
    return ratios


def environment() -> dict[str, Any]:
    """Facts that explain the numbers: machine size and load, versions, the checkout's commit."""
    commit = subprocess.run(
        ["git", "-C", str(REPO_ROOT), "rev-parse", "--short", "HEAD"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return {
        "cpus": os.cpu_count(),
        "loadavg_1_5_15": list(os.getloadavg()),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "commit": commit or None,
    }


def write_json(
    path: Path,
    meta: dict[str, Any],
    workload_results: Sequence[WorkloadResult],
    check_perf_results: Sequence[CheckPerfResult],
) -> None:
    ratios = throughput_ratios(workload_results)
    doc = {
        **meta,
        "results": [
            {
                **dataclasses.asdict(r),
                "requests_per_sec": r.requests_per_sec,
                "p50_secs": r.measurement.p50_secs if r.measurement else None,
                "p99_secs": r.measurement.p99_secs if r.measurement else None,
                "ratios": ratios.get((r.workload, r.target), {}),
            }
            for r in workload_results
        ],
        "check_perf": [dataclasses.asdict(c) for c in check_perf_results],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc, indent=2) + "\n")


def timestamp() -> str:
    """UTC, sortable, usable in a file name."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
