"""`check perf`: the one-minute write check, run once (load s) by both etcdctls."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.etcdctl._harness import Masks, Pair, make_pair, play, s

pytestmark = [pytest.mark.reference, pytest.mark.slow]


def _verdict_only(text: str) -> str:
    """Drop the progress bar (redrawn with carriage returns) and the measured numbers."""
    text = text.rsplit("\r", 1)[-1]
    text = text.split("\n", 1)[1] if "\n" in text else text
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
    assert ours == theirs
    assert str(ours["stdout"]).endswith("PASS\n")


def test_check_perf_refuses_a_used_prefix(pair: Pair, tmp_path: Path) -> None:
    scenario = s(
        "check perf used prefix", "check", "perf", "--prefix=/used/", setup=(("put", "/used/k", "v"),)
    )
    theirs, ours = play(scenario, pair, tmp_path)
    assert ours == theirs


def test_check_perf_unknown_load(pair: Pair, tmp_path: Path) -> None:
    theirs, ours = play(s("check perf bad load", "check", "perf", "--load=huge"), pair, tmp_path)
    assert ours == theirs
