"""Where things are in the checkout, and the environment a child Python needs to import etcdpy."""

from __future__ import annotations

import os
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent.parent
REPO_ROOT = BENCH_DIR.parent
SRC_DIR = REPO_ROOT / "src"
RESULTS_DIR = BENCH_DIR / "results"


def python_env() -> dict[str, str]:
    """The current environment with the checkout's src/ first on PYTHONPATH."""
    env = dict(os.environ)
    inherited = env.get("PYTHONPATH")
    env["PYTHONPATH"] = f"{SRC_DIR}{os.pathsep}{inherited}" if inherited else str(SRC_DIR)
    return env
