"""The committed generated protobuf modules match the .proto files (scripts/gen_proto.sh)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.servers import REPO

PB = REPO / "src" / "etcdpy" / "api" / "pb"


def test_generated_code_is_current(tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    shutil.copytree(REPO / "scripts", copy / "scripts")
    shutil.copytree(PB, copy / "src" / "etcdpy" / "api" / "pb",
                    ignore=shutil.ignore_patterns("*_pb2*.py*", "__pycache__"))
    subprocess.run(["bash", str(copy / "scripts" / "gen_proto.sh")], check=True, capture_output=True)
    fresh = _generated(copy / "src" / "etcdpy" / "api" / "pb")
    committed = _generated(PB)
    assert fresh.keys() == committed.keys()
    stale = [str(k) for k in fresh if fresh[k] != committed[k]]
    assert not stale, f"regenerate with scripts/gen_proto.sh: {stale}"


def _generated(root: Path) -> dict[Path, bytes]:
    return {p.relative_to(root): p.read_bytes() for pattern in ("*_pb2*.py", "*_pb2*.pyi")
            for p in root.rglob(pattern) if "__pycache__" not in p.parts}
