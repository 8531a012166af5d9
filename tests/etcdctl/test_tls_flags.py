"""etcdctl's TLS flags (--cacert, --cert, --key, --insecure-skip-tls-verify, --insecure-transport
and their ETCDCTL_* forms): etcd-py's etcdctl and the real etcdctl 3.5.1 against one reference
etcd 3.5.1 serving https with client certificate authentication."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.etcdctl._harness import OUR_ETCDCTL, run
from tests.servers import reference_etcdctl
from tests.tls_certs import TLSEtcd, generate

pytestmark = pytest.mark.reference


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TLSEtcd]:
    tmp = tmp_path_factory.mktemp("tls")
    files = generate(tmp / "certs")
    p = TLSEtcd("reference", tmp / "tls.etcd", files)
    p.start()
    try:
        yield p
    finally:
        p.stop()


def _log_line(line: str) -> str:
    """A log line without what varies between runs and Go's exact dial error."""
    try:
        entry = json.loads(line)
    except ValueError:
        return line
    entry.pop("ts", None)
    entry["target"] = re.sub(r"0x[0-9a-f]+", "0xP", str(entry.get("target", "")))
    entry["error"] = re.sub(r"(desc = ).*", r"\1<detail>", str(entry.get("error", "")))
    return json.dumps(entry, sort_keys=True)


def _both(args: list[str], env: dict[str, str], cwd: Path) -> list[tuple[str, str, int]]:
    """(stdout, stderr, exit code) of the real etcdctl and of ours."""
    results = []
    for command in ([reference_etcdctl()], OUR_ETCDCTL):
        result = run(command, args, b"", env, cwd)
        stderr = "\n".join(_log_line(line) for line in result.stderr.decode().split("\n"))
        results.append((result.stdout.decode(), stderr, result.code))
    return results


def _args(server: TLSEtcd, spec: list[str]) -> list[str]:
    names = {
        "{CA}": server.tls.ca,
        "{CERT}": server.tls.client.cert,
        "{KEY}": server.tls.client.key,
        "{SERVERKEY}": server.tls.server.key,
    }
    return ["--endpoints", server.endpoint, *(str(names.get(a, a)) for a in spec)]


FULL = ["--cacert", "{CA}", "--cert", "{CERT}", "--key", "{KEY}"]
QUICK = ["--command-timeout=1s", "--dial-timeout=1s"]
IDENTITY = ["--cert", "{CERT}", "--key", "{KEY}"]

CASES: list[tuple[str, list[str]]] = [
    ("verified", [*FULL, "get", "k"]),
    ("skip verify", ["--insecure-skip-tls-verify", *IDENTITY, "get", "k"]),
    ("plaintext to tls", [*QUICK, "get", "k"]),
    ("no client certificate", [*QUICK, "--cacert", "{CA}", "get", "k"]),
    (
        "system roots",
        [*QUICK, "--insecure-transport=false", "--cert", "{CERT}", "--key", "{KEY}", "get", "k"],
    ),
    ("missing ca file", ["--cacert", "/nonexistent/ca.crt", "get", "k"]),
    ("cert without key", ["--cacert", "{CA}", "--cert", "{CERT}", "get", "k"]),
    ("key without cert", ["--cacert", "{CA}", "--key", "{KEY}", "get", "k"]),
    (
        "key of another certificate",
        ["--cacert", "{CA}", "--cert", "{CERT}", "--key", "{SERVERKEY}", "get", "k"],
    ),
    ("empty cacert", ["--cacert=", "get", "k"]),
]


@pytest.mark.parametrize(("name", "spec"), CASES, ids=[c[0] for c in CASES])
def test_same_as_etcdctl(name: str, spec: list[str], server: TLSEtcd, tmp_path: Path) -> None:
    ref, ours = _both(_args(server, spec), {}, tmp_path)
    assert ours == ref


def test_https_endpoint(server: TLSEtcd, tmp_path: Path) -> None:
    ref, ours = _both(["--endpoints", server.url, *_args(server, FULL)[2:], "get", "k"], {}, tmp_path)
    assert ours == ref and ours[2] == 0


def test_environment_forms(server: TLSEtcd, tmp_path: Path) -> None:
    tls = server.tls
    identity = {"ETCDCTL_CERT": str(tls.client.cert), "ETCDCTL_KEY": str(tls.client.key)}
    endpoint = ["--endpoints", server.endpoint]
    ref, ours = _both([*endpoint, "put", "k", "v"], {"ETCDCTL_CACERT": str(tls.ca), **identity}, tmp_path)
    assert ours == ref and ours[2] == 0
    env = {"ETCDCTL_INSECURE_SKIP_TLS_VERIFY": "true", **identity}
    ref, ours = _both([*endpoint, "get", "k"], env, tmp_path)
    assert ours == ref and ours[0] == "k\nv\n"
