"""The shared conformance checks (real etcd3, aetcd and etcd3gw clients) against etcd-py.

Every check must pass except the ones listed in EXPECTED_FAILURES, each with
the reason. The list is exact: a listed check that starts passing fails this
test too, so the list shrinks as features land.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

from tests.servers import REPO, EtcdProcess

SHARED = REPO.parent / "shared" / "conformance"
VENVS = os.environ.get("ETCDPY_CLIENT_VENVS", "/tmp/etcd-client-venvs")

EXPECTED_FAILURES: dict[str, str] = {
    # Deliberate: etcd answers 405 to PUT on the gateway; etcd-py accepts PUT as well as POST
    # (issue 2: the example people copy uses requests.put).
    "[etcd3gw] http_put_method_405": "etcd-py accepts PUT on /v3 paths by design",
}


def test_third_party_clients(etcdpy_server: EtcdProcess) -> None:
    assert SHARED.is_dir(), f"{SHARED} is missing"
    for client in ("etcd3", "aetcd", "etcd3gw"):
        assert Path(VENVS, client, "bin", "python").exists(), f"no venv for {client}: run scripts/test.sh"
    out = subprocess.run(["bash", str(SHARED / "run_all.sh"), etcdpy_server.endpoint, VENVS],
                         capture_output=True, text=True, timeout=900)
    text = out.stdout + out.stderr
    results = dict(
        (f"[{m.group(1)}] {m.group(3)}", m.group(2))
        for m in re.finditer(r"^\[(\w+)\] (PASS|FAIL) ([\w.-]+)", out.stdout, re.M)
    )
    assert len(results) >= 60, f"too few checks ran:\n{text}"
    failed = {name for name, res in results.items() if res == "FAIL"}
    unexpected = sorted(failed - EXPECTED_FAILURES.keys())
    now_passing = sorted(n for n in EXPECTED_FAILURES if results.get(n) == "PASS")
    assert not unexpected, "checks failing:\n" + "\n".join(
        line for line in text.splitlines() if any(line.startswith(u.split()[0]) and u.split()[1] in line
                                                   for u in unexpected))
    assert not now_passing, f"now passing, remove from EXPECTED_FAILURES: {now_passing}"
