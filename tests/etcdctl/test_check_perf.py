"""`check perf`: the one-minute write check, run once (load s) by both etcdctls."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.etcdctl._harness import Masks, Pair, make_pair, play, s

pytestmark = [pytest.mark.reference, pytest.mark.slow]


_PROGRESS = re.compile(r"\r?\s*\d+ / \d+\s+\d+\.\d+%(?: \S+)?")


# Whether a run passes depends on how busy the machine is: keep which checks were made.
_VERDICTS = (
    (re.compile(r"^(PASS|FAIL): Throughput .*$", re.M), "<throughput>"),
    (re.compile(r"^(PASS: )?Slowest request took .*$", re.M), "<slowest>"),
    (re.compile(r"^(PASS: )?Stddev .*$", re.M), "<stddev>"),
    (re.compile(r"^(PASS|FAIL)$", re.M), "<verdict>"),
)


def _verdict_only(text: str) -> str:
    """Drop the progress line (redrawn with carriage returns, racing the other output),
    the measured numbers and the verdicts."""
    lines = [line for line in _PROGRESS.sub("", text).split("\n") if line.strip()]
    text = "\n".join(lines)
    for pattern, name in _VERDICTS:
        text = pattern.sub(name, text)
    return re.sub(r"\d+(\.\d+)?", "N", text)


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pair]:
    p = make_pair(tmp_path_factory.mktemp("perf"))
    try:
        yield p
    finally:
        for side in p.sides():
            side.server.stop()


def test_check_perf_small_load(pair: Pair, tmp_path: Path) -> None:
    scenario = s(
        "check perf",
        "check",
        "perf",
        "--load=s",
        "--auto-compact",
        "--auto-defrag",
        masks=Masks(extra=(_verdict_only,)),
    )
    theirs, ours = play(scenario, pair, tmp_path)
    assert {ours["code"], theirs["code"]} <= {0, 1}
    assert (ours["stdout"], ours["stderr"]) == (theirs["stdout"], theirs["stderr"])
    assert str(ours["stdout"]).endswith("<verdict>")


def test_check_perf_refuses_a_used_prefix(pair: Pair, tmp_path: Path) -> None:
    scenario = s(
        "check perf used prefix", "check", "perf", "--prefix=/used/", setup=(("put", "/used/k", "v"),)
    )
    theirs, ours = play(scenario, pair, tmp_path)
    assert ours == theirs


def test_check_perf_unknown_load(pair: Pair, tmp_path: Path) -> None:
    theirs, ours = play(s("check perf bad load", "check", "perf", "--load=huge"), pair, tmp_path)
    assert ours == theirs
