"""Running workloads against one target: start it, run each workload's setup and the load tool,
restart the target if it died, stop it at the end whatever happens."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import grpc

from .parse import parse_benchmark_output
from .report import summary_line
from .results import WorkloadResult
from .targets import Target, TargetError
from .workloads import Workload

DIAL_TIMEOUT = "10s"
POLL_SECS = 1.0
TARGET_DEATH_GRACE_SECS = 15.0


class Workdir:
    """The run's scratch directory, handing out a new empty subdirectory per target start."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._count = 0

    def fresh(self, label: str) -> Path:
        self._count += 1
        path = self.root / f"{self._count:02d}-{label}"
        path.mkdir(parents=True)
        return path


class Runner:
    def __init__(
        self, benchmark: Path, scale: float, timeout: float, workdir: Workdir, log: Callable[[str], None]
    ) -> None:
        self._benchmark = benchmark
        self._scale = scale
        self._timeout = timeout
        self._workdir = workdir
        self._log = log

    def run_target(self, target: Target, workloads: Sequence[Workload]) -> list[WorkloadResult]:
        """One result per workload, in order. A target that fails to start gets a failed result for
        every remaining workload; one that dies during a workload is restarted for the next."""
        results: list[WorkloadResult] = []
        endpoints: list[str] | None = None
        try:
            for i, workload in enumerate(workloads):
                if endpoints is not None and not target.running():
                    self._log(f"[{target.name}] not running any more; restarting it in a fresh directory")
                    target.stop()
                    endpoints = None
                if endpoints is None:
                    try:
                        endpoints = target.start(self._workdir.fresh(target.name))
                    except TargetError as e:
                        self._log(f"[{target.name}] {e}\n[{target.name}] skipping its remaining workloads")
                        results += [self._not_run(w, target, str(e)) for w in workloads[i:]]
                        break
                results.append(self._run_one(workload, target, endpoints))
        finally:
            target.stop()
        return results

    def _argv(self, workload: Workload, target: Target, endpoints: Sequence[str]) -> list[str]:
        return [
            str(self._benchmark),
            f"--endpoints={','.join(endpoints)}",
            f"--dial-timeout={DIAL_TIMEOUT}",
            "--precise",
            *workload.args(self._scale, target.members),
        ]

    def _result(self, workload: Workload, target: Target) -> WorkloadResult:
        return WorkloadResult(
            workload=workload.name,
            target=target.name,
            command=workload.args(self._scale, target.members),
            total_requests=workload.total(self._scale),
        )

    def _not_run(self, workload: Workload, target: Target, why: str) -> WorkloadResult:
        result = self._result(workload, target)
        result.failure = f"not run: {why}"
        return result

    def _run_one(self, workload: Workload, target: Target, endpoints: Sequence[str]) -> WorkloadResult:
        result = self._result(workload, target)
        self._log(f"[{target.name}] {workload.name}: {result.total_requests} requests ...")
        started = time.monotonic()
        try:
            if workload.setup is not None:
                workload.setup(endpoints)
            self._load(
                result,
                self._argv(workload, target, endpoints),
                target,
                self._workdir.root / f"benchmark-{target.name}-{workload.name}.log",
            )
        except grpc.RpcError as e:
            result.failure = f"setup failed: {e}"
        result.wall_secs = round(time.monotonic() - started, 3)
        if not target.running():
            result.failure = "; ".join(filter(None, [result.failure, target.exit_report()]))
        self._log(f"[{target.name}] {workload.name}: {summary_line(result)}")
        return result

    def _load(self, result: WorkloadResult, argv: list[str], target: Target, stderr_log: Path) -> None:
        """Run the load tool; fill in `result`'s measurement or why there is none.
        The tool is killed at the timeout, or shortly after the target dies (its clients retry)."""
        deadline = time.monotonic() + self._timeout
        with open(stderr_log, "w") as err:
            proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=err, text=True)
            try:
                stdout = self._communicate(proc, target, deadline)
            finally:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
        if stdout is None:
            result.failure = (
                f"benchmark did not finish within {self._timeout:g}s (killed)"
                if target.running()
                else "benchmark killed: the target stopped during the run"
            )
            return
        result.measurement = parse_benchmark_output(stdout)
        if proc.returncode != 0:
            tail = "\n".join(stderr_log.read_text(errors="replace").splitlines()[-5:])
            result.failure = f"benchmark exited with code {proc.returncode}: {tail}"
        elif result.measurement.requests_per_sec is None:
            result.failure = f"no request succeeded ({result.measurement.error_count} failed)"

    @staticmethod
    def _communicate(proc: subprocess.Popen[str], target: Target, deadline: float) -> str | None:
        """The tool's stdout once it exits; None when the deadline passes or the target has been dead
        for TARGET_DEATH_GRACE_SECS."""
        died_at: float | None = None
        while True:
            now = time.monotonic()
            if died_at is None and not target.running():
                died_at = now
            limit = deadline if died_at is None else min(deadline, died_at + TARGET_DEATH_GRACE_SECS)
            if now >= limit:
                return None
            try:
                stdout, _ = proc.communicate(timeout=min(POLL_SECS, limit - now))
                return stdout
            except subprocess.TimeoutExpired:
                continue
