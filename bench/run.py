"""Benchmark etcd-py against reference etcd 3.5.1 and a do-nothing grpcio server, in one run.

Each target starts in turn (fresh temp data dir, free loopback ports), etcd's own load tool
`benchmark` runs every selected workload against it, and the target is stopped. The run prints a
table (requests/s, p50 and p99 latency, throughput ratios to 'reference' and 'noop') and writes
bench/results/<timestamp>.json. With --check-perf LOAD it instead runs the real
`etcdctl check perf --load=LOAD` against each target and prints PASS/FAIL.

examples:
    python bench/run.py --quick                        # all targets, all workloads, a few minutes
    python bench/run.py --quick --targets etcdpy,etcdpy-3 --workloads put-1client,put-1000clients
    python bench/run.py --targets reference,noop --workloads put-1client,range-s
    python bench/run.py --markdown                     # full run: etcd's documented request counts
    python bench/run.py --check-perf m --targets reference,etcdpy
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchkit import layout

# The modules below reach etcdpy (its generated protobuf modules): src/ goes on sys.path first.
sys.path.insert(0, str(layout.SRC_DIR))

from benchkit import report, results, tools
from benchkit.checkperf import LOADS, check_target
from benchkit.runner import Runner, Workdir
from benchkit.targets import CLUSTER_MEMBERS, TARGETS
from benchkit.workloads import WORKLOADS

DEFAULT_SCALE = 1.0
QUICK_SCALE = 0.2
DEFAULT_TIMEOUT_SECS = 600.0


@dataclass
class Outcomes:
    workloads: list[results.WorkloadResult] = field(default_factory=list)
    checks: list[results.CheckPerfResult] = field(default_factory=list)


def _names(value: str, known: Sequence[str], what: str) -> list[str]:
    if value == "all":
        return list(known)
    names = [n.strip() for n in value.split(",") if n.strip()]
    unknown = [n for n in names if n not in known]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"unknown {what} {unknown or value!r}; choose from: {', '.join(known)}"
        )
    # Run order is the registry's, whatever order the names were given in.
    return [n for n in known if n in names]


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bench/run.py", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--targets",
        default="all",
        type=lambda v: _names(v, list(TARGETS), "target"),
        help=f"comma-separated targets, or 'all' (default): {', '.join(TARGETS)}",
    )
    p.add_argument(
        "--workloads",
        default="all",
        type=lambda v: _names(v, list(WORKLOADS), "workload"),
        help=f"comma-separated workloads, or 'all' (default): {', '.join(WORKLOADS)}",
    )
    scale = p.add_mutually_exclusive_group()
    scale.add_argument(
        "--scale",
        type=float,
        default=DEFAULT_SCALE,
        help="multiplier of etcd's documented request totals (10,000 for 1 client, "
        f"100,000 for 1000 clients); default {DEFAULT_SCALE:g}",
    )
    scale.add_argument(
        "--quick", action="store_const", dest="scale", const=QUICK_SCALE, help=f"--scale {QUICK_SCALE:g}"
    )
    p.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_SECS,
        help=f"seconds a workload may take before the load tool is killed (default {DEFAULT_TIMEOUT_SECS:g})",
    )
    p.add_argument("--benchmark", type=Path, help="path of etcd's benchmark tool (default: find or build it)")
    p.add_argument(
        "--results-dir",
        type=Path,
        default=layout.RESULTS_DIR,
        help="where <timestamp>.json goes (default bench/results)",
    )
    p.add_argument(
        "--markdown",
        nargs="?",
        const="",
        metavar="PATH",
        help="also print a markdown table and write it to PATH (default: next to the JSON, <timestamp>.md)",
    )
    p.add_argument(
        "--check-perf",
        choices=LOADS,
        metavar="LOAD",
        help=f"instead of the workloads, run `etcdctl check perf --load=LOAD` ({'|'.join(LOADS)}) per target",
    )
    p.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run every target this many times, interleaved, and report each workload's median round "
        "(2 cores give ±15%% between single runs; default 1)",
    )
    p.add_argument(
        "--keep-workdir", action="store_true", help="keep data dirs and logs, and print where they are"
    )
    p.add_argument("--list", action="store_true", help="list targets and workloads, then exit")
    return p


def _log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _list(scale: float) -> None:
    print("targets:")
    for name, factory in TARGETS.items():
        print(f"  {name:16} {factory().description}")
    print(f"workloads (totals at --scale {scale:g}):")
    for w in WORKLOADS.values():
        print(f"  {w.name:16} {w.description}\n  {'':16} benchmark {' '.join(w.args(scale))}")
        on_cluster = w.args(scale, CLUSTER_MEMBERS)
        if on_cluster != w.args(scale):
            print(f"  {'':16} on a cluster: benchmark {' '.join(on_cluster)}")


def _run(args: argparse.Namespace, workdir: Workdir, meta: dict[str, Any]) -> tuple[Outcomes, int]:
    """Run the selected targets; fills `meta` with what was run and returns the outcomes and exit status."""
    meta["targets"] = {name: TARGETS[name]().description for name in args.targets}
    if args.check_perf:
        etcdctl = tools.reference_bin("etcdctl")
        meta["check_perf_load"] = args.check_perf
        checks = [
            check_target(TARGETS[name](), etcdctl, args.check_perf, workdir, _log) for name in args.targets
        ]
        return Outcomes(checks=checks), 0 if all(c.passed for c in checks) else 1
    benchmark = tools.find_benchmark(args.benchmark)
    meta |= {
        "benchmark": str(benchmark),
        "scale": args.scale,
        "workloads": {name: WORKLOADS[name].description for name in args.workloads},
    }
    runner = Runner(benchmark, args.scale, args.timeout, workdir, _log)
    workloads = [WORKLOADS[name] for name in args.workloads]
    meta["rounds"] = args.rounds
    measured = [
        r
        for _ in range(args.rounds)
        for name in args.targets
        for r in runner.run_target(TARGETS[name](), workloads)
    ]
    return Outcomes(workloads=results.median_of_rounds(measured)), 0


def _report(args: argparse.Namespace, meta: dict[str, Any], outcomes: Outcomes) -> None:
    print()
    print(
        report.check_perf_text(outcomes.checks) if outcomes.checks else report.text_table(outcomes.workloads),
        end="",
    )
    json_path = args.results_dir / f"{meta['started_at']}.json"
    results.write_json(json_path, meta, outcomes.workloads, outcomes.checks)
    print(f"\nresults: {json_path}")
    if args.markdown is not None and outcomes.workloads:
        table = report.markdown_table(outcomes.workloads)
        md_path = Path(args.markdown) if args.markdown else json_path.with_suffix(".md")
        md_path.write_text(table)
        print(f"\n{table}\nmarkdown: {md_path}")


def _exit_on_sigterm(signum: int, frame: object) -> None:
    # SystemExit unwinds through the runner's finally blocks, which stop the started servers.
    sys.exit(128 + signum)


def main(argv: Sequence[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    args = _parser().parse_args(argv)
    if args.list:
        _list(args.scale)
        return 0
    if args.scale <= 0:
        _log("--scale must be positive")
        return 2
    if args.rounds < 1:
        _log("--rounds must be at least 1")
        return 2
    meta: dict[str, Any] = {"started_at": results.timestamp(), "environment": results.environment()}
    tmp = Path(tempfile.mkdtemp(prefix="etcdpy-bench-"))
    try:
        outcomes, status = _run(args, Workdir(tmp), meta)
    except tools.ToolError as e:
        _log(f"error: {e}")
        return 1
    finally:
        if args.keep_workdir:
            _log(f"data dirs and logs kept in {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    meta["finished_at"] = results.timestamp()
    meta["loadavg_at_end"] = list(os.getloadavg())
    _report(args, meta, outcomes)
    return status


if __name__ == "__main__":
    sys.exit(main())
