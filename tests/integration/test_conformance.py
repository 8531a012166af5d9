"""The shared conformance checks (real etcd3, aetcd and etcd3gw clients) pass against etcd-py."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from tests.servers import REPO, EtcdProcess

SHARED = REPO.parent / "shared" / "conformance"
VENVS = os.environ.get("ETCDPY_CLIENT_VENVS", "/tmp/etcd-client-venvs")


def test_third_party_clients(etcdpy_server: EtcdProcess) -> None:
    assert SHARED.is_dir(), f"{SHARED} is missing"
    for client in ("etcd3", "aetcd", "etcd3gw"):
        assert Path(VENVS, client, "bin", "python").exists(), f"no venv for {client}: run scripts/test.sh"
    out = subprocess.run(["bash", str(SHARED / "run_all.sh"), etcdpy_server.endpoint, VENVS],
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout + out.stderr
