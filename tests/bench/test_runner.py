"""Runner bookkeeping with fake targets and a stand-in for the load tool (a shell script printing a
canned report): start failures, a target dying mid-run, setup hooks."""

from __future__ import annotations

import stat
from collections.abc import Sequence
from pathlib import Path

import pytest

from bench.benchkit.runner import Runner, Workdir
from bench.benchkit.targets import Target, TargetError
from bench.benchkit.workloads import Workload

_REPORT = (
    "Summary:\n  Requests/sec:\t1234.5\n\nLatency distribution:\n  50% in 0.001 secs.\n  99% in 0.004 secs.\n"
)


class FakeTarget(Target):
    """Starts without a process; `lives` is how many running() checks it survives per start."""

    def __init__(self, fail_start: bool = False, lives: int = 1000) -> None:
        self.name = "fake"
        self.description = "fake"
        self.fail_start = fail_start
        self.lives = lives
        self.starts = 0
        self.stops = 0
        self._left = 0

    def start(self, workdir: Path) -> list[str]:
        assert workdir.is_dir() and not any(workdir.iterdir())
        if self.fail_start:
            raise TargetError("fake failed to start (exited with code 1)")
        self.starts += 1
        self._left = self.lives
        return ["127.0.0.1:1"]

    def running(self) -> bool:
        self._left -= 1
        return self._left >= 0

    def stop(self) -> None:
        self.stops += 1

    def exit_report(self) -> str:
        return "fake exited with code 9"


@pytest.fixture
def fake_benchmark(tmp_path: Path) -> Path:
    script = tmp_path / "benchmark"
    script.write_text("#!/bin/sh\ncat <<'EOF'\n" + _REPORT + "EOF\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def _runner(benchmark: Path, tmp_path: Path) -> Runner:
    root = tmp_path / "work"
    root.mkdir()
    return Runner(benchmark, 0.01, 30.0, Workdir(root), lambda _: None)


def _workloads(calls: list[Sequence[str]]) -> list[Workload]:
    return [
        Workload("w1", "first", 1, 1, ("put",), 1000, setup=calls.append),
        Workload("w2", "second", 1, 10, ("range", "k"), 100),
    ]


def test_measures_each_workload(fake_benchmark: Path, tmp_path: Path) -> None:
    calls: list[Sequence[str]] = []
    target = FakeTarget()
    out = _runner(fake_benchmark, tmp_path).run_target(target, _workloads(calls))
    assert [(r.workload, r.failure, r.requests_per_sec) for r in out] == [
        ("w1", None, 1234.5),
        ("w2", None, 1234.5),
    ]
    assert out[0].total_requests == 10 and out[1].total_requests == 10  # scaled, at least one per client
    assert out[1].command == ["--conns=1", "--clients=10", "range", "k", "--total=10"]
    assert calls == [["127.0.0.1:1"]]
    assert (target.starts, target.stops) == (1, 1)


def test_start_failure_marks_every_workload(fake_benchmark: Path, tmp_path: Path) -> None:
    target = FakeTarget(fail_start=True)
    out = _runner(fake_benchmark, tmp_path).run_target(target, _workloads([]))
    assert [r.failure for r in out] == ["not run: fake failed to start (exited with code 1)"] * 2
    assert target.stops == 1


def test_dead_target_fails_the_workload_and_is_restarted(fake_benchmark: Path, tmp_path: Path) -> None:
    target = FakeTarget(lives=0)
    out = _runner(fake_benchmark, tmp_path).run_target(target, _workloads([]))
    assert all(r.failure and "fake exited with code 9" in r.failure for r in out)
    assert target.starts == 2
