"""The shared third-party clients (etcd3, aetcd, etcd3gw, in the venvs scripts/test.sh makes) over
server-only and mutual TLS: put/get/delete, a watch and a lease against etcd-py, and the same
script against reference etcd 3.5.1 to show the script itself is right."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.tls._members import tls_member
from tests.tls_certs import TLSEtcd, TLSFiles, generate

pytestmark = pytest.mark.reference

VENVS = Path(os.environ.get("ETCDPY_CLIENT_VENVS", "/tmp/etcd-client-venvs"))
SCRIPTS = Path(__file__).parent / "_client_scripts"
CLIENTS = ("etcd3", "aetcd", "etcd3gw")
# requests lets these override a session's CA file (etcd3gw's ca_cert): keep them from the clients.
_CA_BUNDLE_VARS = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    return generate(tmp_path_factory.mktemp("certs"), client_cn="client")


@pytest.fixture(scope="module", params=["etcdpy", "reference"])
def kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module", params=["server-only", "mutual"])
def member(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, files: TLSFiles, kind: str
) -> Iterator[TLSEtcd]:
    mode = str(request.param)
    m = tls_member(kind, tmp_path_factory.mktemp(f"{kind}-{mode}") / "m.etcd", files, mutual=mode == "mutual")
    m.start()
    try:
        yield m
    finally:
        m.stop()


@pytest.mark.parametrize("client", CLIENTS)
def test_client_over_tls(member: TLSEtcd, client: str) -> None:
    python = VENVS / client / "bin" / "python"
    assert python.exists(), f"no venv for {client} at {python.parent.parent}: run scripts/test.sh"
    mutual = "--client-cert-auth" in member.extra_args
    pair = [str(member.tls.client.cert), str(member.tls.client.key)] if mutual else []
    cmd = [str(python), str(SCRIPTS / f"{client}_tls.py"), "127.0.0.1", str(member.client_port),
           str(member.tls.ca), *pair]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k not in _CA_BUNDLE_VARS}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    assert (done.returncode, done.stdout) == (0, "ok\n"), done.stderr[-3000:]
