"""Scenario scripts for the Raft core (tests/raft/scripts/*.txt), run by the datadriven interaction env.

ETCDPY_REWRITE=1 rewrites each file with the actual outputs instead of comparing; review the diff.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.raft.scripts.datadriven import Case, parse, render
from tests.raft.scripts.env import Env

SCRIPTS = sorted((Path(__file__).parent / "scripts").glob("*.txt"))


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: p.stem)
def test_script(path: Path) -> None:
    chunks = parse(path.read_text())
    env = Env()
    actual: dict[int, str] = {}

    def run(case: Case) -> str:
        actual[case.line] = env.handle(case)
        return actual[case.line]

    rewritten = render(chunks, run)
    if os.environ.get("ETCDPY_REWRITE") == "1":
        path.write_text(rewritten)
        return
    for chunk in chunks:
        if isinstance(chunk, Case) and actual[chunk.line] != chunk.expected:
            pytest.fail(
                f"{path.name}:{chunk.line}: {chunk.source[0]}\n--- expected\n{chunk.expected}\n"
                f"--- actual\n{actual[chunk.line]}\n(ETCDPY_REWRITE=1 regenerates the file for review)"
            )


def test_rewriting_keeps_everything_but_outputs() -> None:
    text = "# c\n\ncmd a=(1,2) b=3\nin\n----\nout\n\nblank\n----\n----\nx\n\ny\n----\n----\n"
    chunks = parse(text)
    assert render(chunks, lambda c: c.expected) == text
    cases = [c for c in chunks if isinstance(c, Case)]
    assert [(c.command, c.expected) for c in cases] == [("cmd", "out"), ("blank", "x\n\ny")]
    assert cases[0].args[0].vals == ("1", "2") and cases[0].input == ("in",)
    assert render(chunks, lambda c: "new") == "# c\n\ncmd a=(1,2) b=3\nin\n----\nnew\n\nblank\n----\nnew\n"
    for path in SCRIPTS:
        assert render(parse(path.read_text()), lambda c: c.expected) == path.read_text()
