"""The watch fan-out and lease keep-alive workloads: the load tool's arguments at each scale, and
what the harness reads from the tool's real output for them.

The files in data/ are `benchmark --precise` stdout captured on this machine (progress bar and its
carriage returns included): watch-latency with --conns=100 --clients=1000 --put-rate=100000 against
reference etcd 3.5.1 (--total=100) and etcd-py (--total=50), lease-keepalive with --conns=100
--clients=1000 --total=20000 against reference etcd 3.5.1."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.benchkit.parse import parse_benchmark_output
from bench.benchkit.targets import CLUSTER_MEMBERS
from bench.benchkit.workloads import WORKLOADS

DATA = Path(__file__).parent / "data"
WATCHERS = 1000


def _output(name: str) -> str:
    return (DATA / name).read_text()


def test_watch_fanout_is_one_writer_and_1000_watchers() -> None:
    w = WORKLOADS["watch-fanout"]
    assert w.args(1.0) == [
        "--conns=100",
        f"--clients={WATCHERS}",
        "watch-latency",
        "--key-size=8",
        "--val-size=256",
        "--put-rate=100000",
        "--total=1000",
    ]
    # --total counts puts; each one reaches every watcher, so a tiny scale still means one put.
    assert (w.total(0.2), w.total(0.01), w.total(0.0001)) == (200, 10, 1)
    # watch-latency's writer is its own connection, round-robin over the endpoints like the watchers.
    assert w.args(1.0, CLUSTER_MEMBERS) == w.args(1.0)


def test_lease_keepalive_is_1000_clients_renewing() -> None:
    w = WORKLOADS["lease-keepalive"]
    assert w.args(0.2) == ["--conns=100", f"--clients={WATCHERS}", "lease-keepalive", "--total=20000"]
    assert w.total(0.0001) == WATCHERS  # every client grants a lease and renews it at least once
    assert w.args(0.2, CLUSTER_MEMBERS) == w.args(0.2)


@pytest.mark.parametrize(
    ("name", "puts", "events_per_sec", "p50", "p99"),
    [
        ("reference-watch-latency-100puts.out", 100, 98388.36115826207, 0.002129005, 0.01096964),
        ("etcdpy-watch-latency-50puts.out", 50, 26849.43810924315, 0.012447235, 0.039833341),
    ],
)
def test_watch_latency_output(name: str, puts: int, events_per_sec: float, p50: float, p99: float) -> None:
    m = parse_benchmark_output(_output(name))
    # One result per watcher per put: requests/s is events delivered per second over the run.
    assert m.requests_per_sec == pytest.approx(events_per_sec)
    assert m.requests_per_sec is not None and m.total_secs is not None
    assert m.requests_per_sec * m.total_secs == pytest.approx(puts * WATCHERS, rel=1e-6)
    assert m.p50_secs == pytest.approx(p50)
    assert m.p99_secs == pytest.approx(p99)
    assert set(m.percentiles_secs) == {"10", "25", "50", "75", "90", "95", "99", "99.9"}
    assert m.errors == {}


def test_lease_keepalive_output() -> None:
    m = parse_benchmark_output(_output("reference-lease-keepalive-20000.out"))
    assert m.requests_per_sec == pytest.approx(24010.66728638519)
    assert m.requests_per_sec is not None and m.total_secs is not None
    assert m.requests_per_sec * m.total_secs == pytest.approx(20_000, rel=1e-6)
    assert m.p50_secs == pytest.approx(0.02691342)
    assert m.p99_secs == pytest.approx(0.10917238)
    assert m.slowest_secs == pytest.approx(0.168455059)
    assert m.errors == {}
