"""Ratios and table rendering from synthetic results (no processes, no timing)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.benchkit import report, results
from bench.benchkit.parse import Measurement
from bench.benchkit.results import WorkloadResult


def _ok(workload: str, target: str, rps: float, p50: float = 0.001, p99: float = 0.002) -> WorkloadResult:
    m = Measurement(requests_per_sec=rps, percentiles_secs={"50": p50, "99": p99})
    return WorkloadResult(workload, target, ["put"], 100, measurement=m)


def _runs() -> list[WorkloadResult]:
    return [
        _ok("put", "reference", 1000.0),
        _ok("range", "reference", 4000.0),
        _ok("put", "etcdpy", 250.0),
        WorkloadResult("range", "etcdpy", ["range"], 100, failure="not run: etcdpy failed to start\ndetails"),
        _ok("put", "noop", 500.0),
        _ok("range", "noop", 2000.0),
    ]


def test_ratios_against_each_baseline() -> None:
    ratios = results.throughput_ratios(_runs())
    assert ratios[("put", "etcdpy")] == {"reference": pytest.approx(0.25), "noop": pytest.approx(0.5)}
    assert ratios[("put", "noop")] == {"reference": pytest.approx(0.5)}
    assert ratios[("put", "reference")] == {"noop": pytest.approx(2.0)}
    assert ("range", "etcdpy") not in ratios


def test_text_table_groups_by_workload_and_explains_failures() -> None:
    lines = report.text_table(_runs()).splitlines()
    assert lines[0].split() == [
        "workload",
        "target",
        "req/s",
        "p50",
        "ms",
        "p99",
        "ms",
        "failed",
        "reqs",
        "vs",
        "reference",
        "vs",
        "noop",
        "vs",
        "noop-port",
        "vs",
        "1",
        "member",
    ]
    put_rows = [line.split() for line in lines[2:5]]
    assert [row[1] for row in put_rows] == ["reference", "etcdpy", "noop"]
    assert put_rows[1][2:] == ["250", "1.00", "2.00", "0.25x", "0.50x"]
    assert "FAILED (1)" in report.text_table(_runs())
    assert lines[-1] == "(1) etcdpy: not run: etcdpy failed to start"


def test_markdown_table_shape() -> None:
    md = report.markdown_table(_runs()).splitlines()
    assert md[0].startswith("| workload | target | req/s |")
    assert md[1].startswith("| --- | --- | ---: |")
    assert all(line.count("|") == md[0].count("|") for line in md[2:8])
    assert md[-1].startswith("- (1) etcdpy: not run")


def test_json_document(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    results.write_json(path, {"scale": 0.1}, _runs(), [])
    doc = json.loads(path.read_text())
    assert doc["scale"] == 0.1
    etcdpy_put = next(r for r in doc["results"] if (r["workload"], r["target"]) == ("put", "etcdpy"))
    assert etcdpy_put["requests_per_sec"] == 250.0
    assert etcdpy_put["p99_secs"] == 0.002
    assert etcdpy_put["ratios"] == {"reference": 0.25, "noop": 0.5}


def test_rows_failing_the_same_way_share_a_note() -> None:
    runs = [
        *_runs(),
        WorkloadResult("put", "etcdpy", ["put"], 100, failure="not run: etcdpy failed to start\ndetails"),
    ]
    text = report.text_table(runs)
    assert text.count("FAILED (1)") == 2
    assert "(2)" not in text


def test_median_of_rounds_keeps_the_middle_round_and_every_rate() -> None:
    failed = WorkloadResult("put", "etcdpy", ["put"], 100, failure="died")
    rounds = [
        _ok("put", "etcdpy", 300.0),
        failed,
        _ok("put", "etcdpy", 100.0),
        _ok("put", "etcdpy", 200.0),
        _ok("put", "noop", 50.0),
        _ok("put", "noop", 70.0),
    ]
    chosen = results.median_of_rounds(rounds)
    assert [(r.target, r.requests_per_sec, r.rounds) for r in chosen] == [
        ("etcdpy", 200.0, [300.0, 100.0, 200.0]),
        ("noop", 50.0, [50.0, 70.0]),
    ]
    assert results.median_of_rounds([failed]) == [failed]


def _cluster_runs() -> list[WorkloadResult]:
    return [
        _ok("put", "reference", 1000.0),
        _ok("put", "etcdpy", 400.0),
        _ok("put", "reference-3", 600.0),
        _ok("put", "etcdpy-3", 300.0),
        _ok("put", "noop", 500.0),
    ]


def test_cluster_baselines_are_the_same_size_and_the_single_member() -> None:
    assert results.split_cluster_name("etcdpy-3") == ("etcdpy", 3)
    assert results.split_cluster_name("noop-port") == ("noop-port", 1)
    assert results.split_cluster_name("odd-1") == ("odd-1", 1)
    assert results.cluster_name("etcdpy", 3) == "etcdpy-3"
    assert results.cluster_name("etcdpy", 1) == "etcdpy"
    assert results.ratio_baselines("etcdpy-3") == {
        "reference": "reference-3",
        "noop": "noop-3",
        "noop-port": "noop-port-3",
        "1 member": "etcdpy",
    }
    assert results.ratio_baselines("reference-3") == {
        "noop": "noop-3",
        "noop-port": "noop-port-3",
        "1 member": "reference",
    }
    assert results.ratio_baselines("etcdpy") == {
        "reference": "reference",
        "noop": "noop",
        "noop-port": "noop-port",
    }


def test_cluster_ratios() -> None:
    ratios = results.throughput_ratios(_cluster_runs())
    assert ratios[("put", "etcdpy-3")] == {"reference-3": pytest.approx(0.5), "etcdpy": pytest.approx(0.75)}
    assert ratios[("put", "reference-3")] == {"reference": pytest.approx(0.6)}
    # A single server is never compared with a cluster.
    assert ratios[("put", "etcdpy")] == {"reference": pytest.approx(0.4), "noop": pytest.approx(0.8)}


def test_cluster_rows_fill_the_one_member_column() -> None:
    rows = {line.split()[1]: line.split()[2:] for line in report.text_table(_cluster_runs()).splitlines()[2:]}
    # req/s, p50, p99, then the ratio cells that are present (failed reqs is empty).
    assert rows["etcdpy-3"] == ["300", "1.00", "2.00", "0.50x", "0.75x"]
    assert rows["reference-3"] == ["600", "1.00", "2.00", "0.60x"]
    md = report.markdown_table(_cluster_runs()).splitlines()
    assert md[0].endswith("| vs noop-port | vs 1 member |")
    etcdpy_3 = next(line for line in md if "| etcdpy-3 |" in line)
    assert etcdpy_3.endswith("| 0.50x |  |  | 0.75x |")


def test_json_keeps_cluster_ratios_by_baseline_target(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    results.write_json(path, {}, _cluster_runs(), [])
    doc = json.loads(path.read_text())
    row = next(r for r in doc["results"] if r["target"] == "etcdpy-3")
    assert row["ratios"] == {"reference-3": 0.5, "etcdpy": 0.75}
