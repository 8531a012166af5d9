"""bench/run.py end to end at a tiny scale: it starts the servers, drives etcd's benchmark tool,
prints the table and writes the JSON. Only that the numbers exist is checked, never their size."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.benchkit import tools
from bench.benchkit.layout import BENCH_DIR

RUN_TIMEOUT_SECS = 240


def setup_module() -> None:
    assert tools.BENCHMARK_DEFAULT.exists(), (
        f"etcd's benchmark tool is not at {tools.BENCHMARK_DEFAULT}: scripts/test.sh builds it"
    )


def _run(tmp_path: Path, *args: str) -> tuple[str, dict[str, Any]]:
    """bench/run.py's stdout and JSON document; on timeout it gets SIGTERM, so it stops its servers."""
    proc = subprocess.Popen(
        [sys.executable, str(BENCH_DIR / "run.py"), "--results-dir", str(tmp_path), "--scale", "0.01", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=RUN_TIMEOUT_SECS)
    except subprocess.TimeoutExpired:
        proc.terminate()
        proc.communicate()
        pytest.fail(f"bench/run.py did not finish within {RUN_TIMEOUT_SECS}s")
    assert proc.returncode == 0, stderr
    [json_path] = tmp_path.glob("*.json")
    return stdout, json.loads(json_path.read_text())


def test_noop_target(tmp_path: Path) -> None:
    stdout, doc = _run(
        tmp_path, "--targets", "noop", "--workloads", "put-1client,range-s,txn-put", "--markdown"
    )
    assert [(r["target"], r["workload"], r["failure"]) for r in doc["results"]] == [
        ("noop", "put-1client", None),
        ("noop", "range-s", None),
        ("noop", "txn-put", None),
    ]
    assert all(r["requests_per_sec"] > 0 and r["p99_secs"] > 0 for r in doc["results"])
    assert "range-s" in stdout and "| noop |" in stdout
    assert list(tmp_path.glob("*.md"))


def test_noop_target_serves_watch_and_lease(tmp_path: Path) -> None:
    _, doc = _run(tmp_path, "--targets", "noop", "--workloads", "watch-fanout,lease-keepalive")
    assert [(r["workload"], r["failure"]) for r in doc["results"]] == [
        ("watch-fanout", None),
        ("lease-keepalive", None),
    ]
    assert all(r["requests_per_sec"] > 0 and r["measurement"]["errors"] == {} for r in doc["results"])


@pytest.mark.reference
def test_reference_against_noop(tmp_path: Path) -> None:
    _, doc = _run(tmp_path, "--targets", "reference,noop", "--workloads", "range-l")
    by_target = {r["target"]: r for r in doc["results"]}
    assert by_target["reference"]["failure"] is None
    assert set(by_target["reference"]["ratios"]) == {"noop"}
    assert set(by_target["noop"]["ratios"]) == {"reference"}


@pytest.mark.reference
def test_reference_cluster_against_its_single_member(tmp_path: Path) -> None:
    _, doc = _run(tmp_path, "--targets", "reference,reference-3", "--workloads", "put-1client")
    by_target = {r["target"]: r for r in doc["results"]}
    assert by_target["reference-3"]["failure"] is None
    assert by_target["reference-3"]["command"][0] == "--target-leader"
    assert set(by_target["reference-3"]["ratios"]) == {"reference"}
