"""Under auth, a verified client certificate's CN is the user of gRPC calls without a token, as in
etcd 3.5.1: granted keys work, others are denied, a CN that names no user is denied, a token wins
over the CN, and the JSON gateway never uses the CN. Same outcomes on etcd-py and the reference."""

from __future__ import annotations

import ssl
import subprocess
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from etcdpy.api.pb.authpb import auth_pb2
from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.api.pb.etcdserverpb import rpc_pb2_grpc as stubs
from tests.servers import reference_etcdctl
from tests.tls_certs import LOOPBACK_HOSTS, CertificateAuthority, KeyPair, TLSEtcd, TLSFiles

pytestmark = pytest.mark.reference

T = 8.0
Outcome = tuple[str, str]  # ("OK", "") or (status code name, message)


class Certs:
    def __init__(self, directory: Path) -> None:
        ca = CertificateAuthority(directory)
        server = ca.issue("server", "etcd-server", hosts=LOOPBACK_HOSTS, server=True, client=True)
        self.ca = ca.cert_path
        self.by_cn = {cn: ca.issue(f"client-{cn}", cn, client=True) for cn in ("root", "alice", "mallory")}
        self.files = TLSFiles(ca.cert_path, server, self.by_cn["root"])

    def creds(self, cn: str) -> grpc.ChannelCredentials:
        pair = self.by_cn[cn]
        return grpc.ssl_channel_credentials(
            self.ca.read_bytes(), pair.key.read_bytes(), pair.cert.read_bytes()
        )


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return Certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module", params=["etcdpy", "reference"])
def member(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, certs: Certs
) -> Iterator[TLSEtcd]:
    kind = str(request.param)
    m = TLSEtcd(kind, tmp_path_factory.mktemp(kind) / "m.etcd", certs.files,
                extra_args=["--bcrypt-cost", "4"])  # fmt: skip
    m.start()
    try:
        with grpc.secure_channel(m.endpoint, certs.creds("root")) as ch:
            auth = stubs.AuthStub(ch)
            auth.UserAdd(pb.AuthUserAddRequest(name="root", password="pw"), timeout=T)
            auth.UserGrantRole(pb.AuthUserGrantRoleRequest(user="root", role="root"), timeout=T)
            auth.RoleAdd(pb.AuthRoleAddRequest(name="a-writer"), timeout=T)
            perm = auth_pb2.Permission(permType=auth_pb2.Permission.READWRITE, key=b"a")
            auth.RoleGrantPermission(pb.AuthRoleGrantPermissionRequest(name="a-writer", perm=perm), timeout=T)
            auth.UserAdd(pb.AuthUserAddRequest(name="alice", password="pw"), timeout=T)
            auth.UserGrantRole(pb.AuthUserGrantRoleRequest(user="alice", role="a-writer"), timeout=T)
            auth.AuthEnable(pb.AuthEnableRequest(), timeout=T)
        yield m
    finally:
        m.stop()


def _grpc(member: TLSEtcd, certs: Certs, cn: str, key: bytes, *, put: bool, token: str = "") -> Outcome:
    md = (("token", token),) if token else ()
    with grpc.secure_channel(member.endpoint, certs.creds(cn)) as ch:
        kv = stubs.KVStub(ch)
        try:
            if put:
                kv.Put(pb.PutRequest(key=key, value=b"v"), metadata=md, timeout=T)
            else:
                kv.Range(pb.RangeRequest(key=key), metadata=md, timeout=T)
        except grpc.RpcError as e:
            return e.code().name, str(e.details())
    return "OK", ""


DENIED = ("PERMISSION_DENIED", "etcdserver: permission denied")


def test_cn_is_the_user_of_calls_without_token(member: TLSEtcd, certs: Certs) -> None:
    assert _grpc(member, certs, "alice", b"a", put=True) == ("OK", "")
    assert _grpc(member, certs, "alice", b"a", put=False) == ("OK", "")
    assert _grpc(member, certs, "alice", b"b", put=True) == DENIED
    assert _grpc(member, certs, "alice", b"b", put=False) == DENIED
    assert _grpc(member, certs, "root", b"b", put=True) == ("OK", "")


def test_cn_that_names_no_user_is_denied(member: TLSEtcd, certs: Certs) -> None:
    assert _grpc(member, certs, "mallory", b"a", put=True) == DENIED
    assert _grpc(member, certs, "mallory", b"a", put=False) == DENIED


def test_token_wins_over_cn(member: TLSEtcd, certs: Certs) -> None:
    with grpc.secure_channel(member.endpoint, certs.creds("mallory")) as ch:
        req = pb.AuthenticateRequest(name="root", password="pw")
        token = stubs.AuthStub(ch).Authenticate(req, timeout=T).token
    assert _grpc(member, certs, "alice", b"b", put=True, token=token) == ("OK", "")
    assert _grpc(member, certs, "alice", b"a", put=True, token="bad") == (
        "UNAUTHENTICATED",
        "etcdserver: invalid auth token",
    )


_CN_REFUSED = (
    b"CommonName of client sending a request against gateway will be ignored and not used as expected\n"
)


def _gateway(member: TLSEtcd, pair: KeyPair, path: str, token: str = "") -> tuple[int, str, bytes]:
    """POST `path` with an empty JSON body (GET /version): (status, content type, body)."""
    ctx = ssl.create_default_context(cafile=str(member.tls.ca))
    ctx.load_cert_chain(str(pair.cert), str(pair.key))
    headers = {"Authorization": token} if token else {}
    data = None if path == "/version" else b"{}"
    req = urllib.request.Request(f"{member.url}{path}", data=data, headers=headers)
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=T) as resp:
            return resp.status, resp.headers["Content-Type"], resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers["Content-Type"], e.read()


def test_gateway_refuses_certificates_with_a_cn(member: TLSEtcd, certs: Certs) -> None:
    """With --client-cert-auth and auth enabled, etcd answers every /v3/ gateway request made with a
    certificate naming a CN with 400 and a plain-text refusal, whatever the token; other paths serve."""
    with grpc.secure_channel(member.endpoint, certs.creds("root")) as ch:
        req = pb.AuthenticateRequest(name="root", password="pw")
        token = stubs.AuthStub(ch).Authenticate(req, timeout=T).token
    refused = (400, "text/plain; charset=utf-8", _CN_REFUSED)
    for cn in ("root", "alice"):
        assert _gateway(member, certs.by_cn[cn], "/v3/kv/range") == refused
        assert _gateway(member, certs.by_cn[cn], "/v3beta/kv/put") == refused
        assert _gateway(member, certs.by_cn[cn], "/v3/kv/range", token) == refused
    status, _, body = _gateway(member, certs.by_cn["root"], "/version")
    assert status == 200 and b"etcdserver" in body


def _etcdctl(member: TLSEtcd, certs: Certs, cn: str, *args: str) -> tuple[int, str, str]:
    pair = certs.by_cn[cn]
    cmd = [reference_etcdctl(), "--endpoints", member.url, "--command-timeout", "8s", "--cacert",
           str(certs.ca), "--cert", str(pair.cert), "--key", str(pair.key), *args]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
    err = "\n".join(line for line in done.stderr.splitlines() if not line.startswith("{"))
    return done.returncode, done.stdout, err


def test_etcdctl_with_certificate_and_no_user(member: TLSEtcd, certs: Certs) -> None:
    assert _etcdctl(member, certs, "alice", "put", "a", "1") == (0, "OK\n", "")
    assert _etcdctl(member, certs, "alice", "get", "a", "--print-value-only") == (0, "1\n", "")
    assert _etcdctl(member, certs, "alice", "put", "b", "1") == (
        1,
        "",
        "Error: etcdserver: permission denied",
    )
    assert _etcdctl(member, certs, "mallory", "get", "a") == (1, "", "Error: etcdserver: permission denied")
    assert _etcdctl(member, certs, "root", "role", "list") == (0, "a-writer\n", "")
