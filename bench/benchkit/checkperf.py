"""`etcdctl check perf` (the real etcdctl 3.5.1) against a started target: 60 s of rate-limited
puts under /etcdctl-check-perf/, judged PASS or FAIL by etcdctl itself (exit code 0 = PASS)."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path

from .results import CheckPerfResult
from .runner import Workdir
from .targets import Target, TargetError

LOADS = ("s", "m", "l", "xl")
CHECK_SECS = 60
# Beyond the 60 s of load: client setup, the prefix delete, a slow target's tail.
SLACK_SECS = 120
# Not anchored: etcdctl's progress bar may still be redrawing on the line where a verdict starts.
_VERDICT_LINE = re.compile(r"(?:PASS|FAIL|Slowest request took too long|Stddev too high)\b[^\r\n]*")


def check_target(
    target: Target, etcdctl: Path, load: str, workdir: Workdir, log: Callable[[str], None]
) -> CheckPerfResult:
    """Start `target`, run check perf against it, stop it."""
    log(f"[{target.name}] etcdctl check perf --load={load} (about {CHECK_SECS}s) ...")
    try:
        result = check_perf(etcdctl, target.name, target.start(workdir.fresh(target.name)), load)
    except TargetError as e:
        result = CheckPerfResult(target.name, load, passed=False, report_lines=[], failure=f"not run: {e}")
    finally:
        target.stop()
    log(f"[{target.name}] check perf: {'PASS' if result.passed else 'FAIL'}")
    return result


def verdict_lines(stdout: str) -> list[str]:
    """etcdctl's PASS/FAIL report lines, freed of its progress bar."""
    return [m.group(0) for m in _VERDICT_LINE.finditer(stdout.replace("\r", "\n"))]


def check_perf(etcdctl: Path, target_name: str, endpoints: Sequence[str], load: str) -> CheckPerfResult:
    argv = [str(etcdctl), f"--endpoints={','.join(endpoints)}", "check", "perf", f"--load={load}"]
    try:
        proc = subprocess.run(
            argv, capture_output=True, text=True, timeout=CHECK_SECS + SLACK_SECS, check=False
        )
    except subprocess.TimeoutExpired:
        return CheckPerfResult(
            target_name,
            load,
            passed=False,
            report_lines=[],
            failure=f"no verdict within {CHECK_SECS + SLACK_SECS}s",
        )
    report_lines = verdict_lines(proc.stdout)
    verdict_given = bool(report_lines) and report_lines[-1] in ("PASS", "FAIL")
    return CheckPerfResult(
        target_name,
        load,
        passed=proc.returncode == 0 and verdict_given,
        report_lines=report_lines,
        exit_code=proc.returncode,
        failure=None
        if verdict_given
        else (proc.stderr.strip() or f"etcdctl exited with code {proc.returncode}"),
    )
