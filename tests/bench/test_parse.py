"""Reading etcd benchmark's report text into a Measurement."""

from __future__ import annotations

import pytest

from bench.benchkit.checkperf import verdict_lines
from bench.benchkit.parse import parse_benchmark_output

_PRECISE = (
    "bench with serializable range\n"
    "\r 0 / 2000    0.00%\r 2000 / 2000  100.00% 0s\n"
    "\nSummary:\n"
    "  Total:\t0.580267358 secs.\n"
    "  Slowest:\t0.0021 secs.\n"
    "  Fastest:\t9.5e-05 secs.\n"
    "  Average:\t0.000301 secs.\n"
    "  Stddev:\t0.0002 secs.\n"
    "  Requests/sec:\t3446.6870700660716\n"
    "\nResponse time histogram:\n"
    "  9.5e-05 [1]\t|\n"
    "  0.0021 [3]\t|\u220e\n"
    "\nLatency distribution:\n"
    "  10% in 0.0002 secs.\n"
    "  50% in 0.000276863 secs.\n"
    "  99% in 4.23728e-04 secs.\n"
    "  99.9% in 0.0019 secs.\n"
)


def test_summary_and_percentiles() -> None:
    m = parse_benchmark_output(_PRECISE)
    assert m.requests_per_sec == pytest.approx(3446.6870700660716)
    assert m.total_secs == pytest.approx(0.580267358)
    assert m.fastest_secs == pytest.approx(9.5e-05)
    assert m.average_secs == pytest.approx(0.000301)
    assert m.p50_secs == pytest.approx(0.000276863)
    assert m.p99_secs == pytest.approx(4.23728e-04)
    assert m.percentiles_secs["99.9"] == pytest.approx(0.0019)
    assert m.errors == {}


def test_errors_next_to_a_summary() -> None:
    text = (
        _PRECISE
        + "\nError distribution:\n"
        + "  [7]\trpc error: code = Unavailable desc = transport is closing\n"
        + "  [2]\tcontext deadline exceeded\n"
    )
    m = parse_benchmark_output(text)
    assert m.errors == {
        "rpc error: code = Unavailable desc = transport is closing": 7,
        "context deadline exceeded": 2,
    }
    assert m.error_count == 9
    assert m.requests_per_sec == pytest.approx(3446.6870700660716)


def test_only_errors_means_no_summary() -> None:
    m = parse_benchmark_output(
        "\nError distribution:\n  [100]\trpc error: code = Unimplemented desc = unknown service\n"
    )
    assert m.requests_per_sec is None
    assert m.p99_secs is None
    assert m.error_count == 100


def test_four_digit_format() -> None:
    m = parse_benchmark_output("  Requests/sec:\t3616.6713\n  50% in 0.0002 secs.\n  99% in 0.0019 secs.\n")
    assert (m.requests_per_sec, m.p50_secs, m.p99_secs) == (3616.6713, 0.0002, 0.0019)


def test_check_perf_verdict_after_the_progress_bar() -> None:
    stdout = (
        "\r 59 / 60   98.33% 00m01s\r 59 / 60   98.33%PASS: Throughput is 151 writes/s\n"
        "Slowest request took too long: 0.612000s\nPASS: Stddev is 0.000154s\nFAIL\n"
    )
    assert verdict_lines(stdout) == [
        "PASS: Throughput is 151 writes/s",
        "Slowest request took too long: 0.612000s",
        "PASS: Stddev is 0.000154s",
        "FAIL",
    ]
