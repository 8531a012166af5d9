"""etcd-py's client port over TLS, driven by etcdctl 3.5.1, urllib, curl and raw TLS clients."""

from __future__ import annotations

import json
import socket
import ssl
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.servers import EtcdProcess, reference_etcdctl, wait_until
from tests.tls_certs import CertificateAuthority, TLSEtcd, TLSFiles, generate


class HttpsEtcd(EtcdProcess):
    """An etcd-py member whose client URL is https://; readiness by a TLS connection that completes."""

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.client_port}"

    def is_ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"exited with {self.proc.returncode}; log:\n{self.log_tail()}")
        try:
            socket.create_connection(("127.0.0.1", self.client_port), timeout=0.5).close()
        except OSError:
            return False
        return "ready to serve client requests" in (self.log_path.read_text() if self.log_path else "")


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    return generate(tmp_path_factory.mktemp("certs"), client_cn="alice")


@pytest.fixture(scope="module")
def mtls(tmp_path_factory: pytest.TempPathFactory, files: TLSFiles) -> Iterator[TLSEtcd]:
    member = TLSEtcd("etcdpy", tmp_path_factory.mktemp("mtls") / "m.etcd", files)
    member.start()
    try:
        yield member
    finally:
        member.stop()


def _etcdctl(endpoint: str, *args: str) -> subprocess.CompletedProcess[str]:
    timeouts = ["--dial-timeout", "2s", "--command-timeout", "3s"]
    cmd = [reference_etcdctl(), "--endpoints", endpoint, *timeouts, *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30)


def _client_context(files: TLSFiles, cert: bool = True) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(files.ca))
    if cert:
        ctx.load_cert_chain(str(files.client.cert), str(files.client.key))
    return ctx


@pytest.mark.reference
def test_etcdctl_put_get_with_client_certificate(mtls: TLSEtcd, files: TLSFiles) -> None:
    creds = ["--cacert", str(files.ca), "--cert", str(files.client.cert), "--key", str(files.client.key)]
    put = _etcdctl(mtls.url, *creds, "put", "foo", "bar")
    assert put.returncode == 0 and put.stdout == "OK\n", put.stderr
    got = _etcdctl(mtls.url, *creds, "get", "foo")
    assert got.stdout == "foo\nbar\n"


@pytest.mark.reference
def test_etcdctl_without_client_certificate_is_refused(mtls: TLSEtcd, files: TLSFiles) -> None:
    got = _etcdctl(mtls.url, "--cacert", str(files.ca), "get", "foo")
    assert got.returncode == 1
    assert "context deadline exceeded" in got.stderr
    wait_until(lambda: '"msg":"rejected connection"' in mtls.log_tail(200), 5, "the refusal to be logged")


def test_gateway_over_https(mtls: TLSEtcd, files: TLSFiles) -> None:
    ctx = _client_context(files)
    with urllib.request.urlopen(f"{mtls.url}/version", context=ctx, timeout=5) as resp:
        assert json.loads(resp.read())["etcdserver"] == "3.5.1"
    body = b'{"key":"Z3c=","value":"dg=="}'
    req = urllib.request.Request(f"{mtls.url}/v3/kv/put", data=body, method="POST")
    with urllib.request.urlopen(req, context=ctx, timeout=5) as resp:
        assert "header" in json.loads(resp.read())


def test_curl_gets_http1_for_the_gateway(mtls: TLSEtcd, files: TLSFiles) -> None:
    out = subprocess.run(
        ["curl", "-sS", "--http2", "--cacert", str(files.ca), "--cert", str(files.client.cert),
         "--key", str(files.client.key), "-w", " %{http_version}", f"{mtls.url}/health"],
        capture_output=True, text=True, timeout=20,
    )  # fmt: skip
    assert out.stdout.endswith(" 1.1"), out.stderr
    assert json.loads(out.stdout[: -len(" 1.1")])["health"] == "true"


def _handshake(port: int, ctx: ssl.SSLContext) -> None:
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as raw,
        ctx.wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        tls.sendall(b"GET /version HTTP/1.1\r\nHost: x\r\n\r\n")
        if not tls.recv(100).startswith(b"HTTP/1.1 200"):
            raise ConnectionError("no answer")


def test_no_certificate_or_other_ca_is_refused_at_the_handshake(
    mtls: TLSEtcd, files: TLSFiles, tmp_path: Path
) -> None:
    _handshake(mtls.client_port, _client_context(files))
    with pytest.raises((ssl.SSLError, ConnectionError)):
        _handshake(mtls.client_port, _client_context(files, cert=False))
    other = CertificateAuthority(tmp_path, "other").issue("rogue", "alice", client=True)
    ctx = _client_context(files, cert=False)
    ctx.load_cert_chain(str(other.cert), str(other.key))
    with pytest.raises((ssl.SSLError, ConnectionError)):
        _handshake(mtls.client_port, ctx)


def _start(tmp_path: Path, *args: str) -> HttpsEtcd:
    member = HttpsEtcd("etcdpy", tmp_path / "m.etcd", extra_args=list(args))
    member.start()
    return member


def test_server_only_tls_with_tls13_minimum_and_ciphers(tmp_path: Path, files: TLSFiles) -> None:
    member = _start(
        tmp_path, "--cert-file", str(files.server.cert), "--key-file", str(files.server.key),
        "--tls-min-version", "TLS1.3",
    )  # fmt: skip
    try:
        _handshake(member.client_port, _client_context(files, cert=False))
        tls12 = _client_context(files, cert=False)
        tls12.maximum_version = ssl.TLSVersion.TLSv1_2
        with pytest.raises(ssl.SSLError):
            _handshake(member.client_port, tls12)
    finally:
        member.stop()


def test_cipher_suites_limit_tls12(tmp_path: Path, files: TLSFiles) -> None:
    member = _start(
        tmp_path, "--cert-file", str(files.server.cert), "--key-file", str(files.server.key),
        "--tls-max-version", "TLS1.2", "--cipher-suites", "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    )  # fmt: skip
    try:
        ok = _client_context(files, cert=False)
        ok.set_ciphers("ECDHE-ECDSA-AES256-GCM-SHA384")
        _handshake(member.client_port, ok)
        other = _client_context(files, cert=False)
        other.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256")
        with pytest.raises(ssl.SSLError):
            _handshake(member.client_port, other)
    finally:
        member.stop()


def test_auto_tls_generates_certificates_in_the_data_dir(tmp_path: Path) -> None:
    member = _start(tmp_path, "--auto-tls", "--self-signed-cert-validity", "2")
    try:
        fixtures = member.data_dir / "fixtures" / "client"
        assert (fixtures / "cert.pem").exists() and (fixtures / "key.pem").stat().st_mode & 0o777 == 0o600
        ctx = ssl.create_default_context()
        ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
        _handshake(member.client_port, ctx)
        assert "automatically generate certificates" in member.log_tail(200)
    finally:
        member.stop()


def test_missing_key_file_fails_the_start(tmp_path: Path, files: TLSFiles) -> None:
    args = ["--cert-file", str(files.server.cert), "--key-file", "nokey.pem"]
    member = HttpsEtcd("etcdpy", tmp_path / "m.etcd", extra_args=args)
    member.start(wait=False)
    assert member.proc is not None
    assert member.proc.wait(timeout=30) == 1
    assert '"msg":"listener failed","error":"open nokey.pem: no such file or directory"' in member.log_tail()


def test_https_url_without_certificate_fails_the_start(tmp_path: Path) -> None:
    member = HttpsEtcd("etcdpy", tmp_path / "m.etcd")
    member.start(wait=False)
    assert member.proc is not None
    assert member.proc.wait(timeout=30) == 1
    expected = "TLS key/cert (--cert-file, --key-file) must be provided for client url https://"
    assert expected in member.log_tail()
