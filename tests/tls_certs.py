"""Test certificates: a CA, server certificates for loopback and client certificates with a
chosen common name, written as PEM files (EC P-256 keys, quick to make).

    files = generate(tmp_path, client_cn="root")
    files.ca, files.server.cert, files.server.key, files.client.cert, files.client.key

`CertificateAuthority` issues more (other CNs, other hosts, expired or not yet valid ones);
`TLSEtcd` is a member serving clients over https with these files.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from etcdpy.api.pb.etcdserverpb import rpc_pb2, rpc_pb2_grpc
from etcdpy.pkg.tlsutil import subject_alt_name
from tests.servers import EtcdProcess

LOOPBACK_HOSTS = ("127.0.0.1", "localhost")
# Certificates start being valid a little in the past, so clock skew between the test
# and the process reading them does not matter.
_BACKDATE = datetime.timedelta(minutes=5)


@dataclass(frozen=True)
class KeyPair:
    cert: Path
    key: Path


@dataclass(frozen=True)
class TLSFiles:
    ca: Path
    server: KeyPair
    client: KeyPair


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "etcd-py tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    path.chmod(0o600)


class CertificateAuthority:
    """A self-signed CA whose certificate and key live in `directory` as `<name>.crt`/`.key`."""

    def __init__(self, directory: Path, name: str = "ca", *, days: int = 1) -> None:
        self.directory = directory
        self._key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.datetime.now(datetime.UTC)
        subject = _name(f"{name} (etcd-py test CA)")
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        self.cert_path = directory / f"{name}.crt"
        self.cert_path.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))
        _write_key(directory / f"{name}.key", self._key)

    def issue(
        self,
        name: str,
        common_name: str,
        *,
        hosts: Sequence[str] = (),
        server: bool = False,
        client: bool = False,
        valid_from: datetime.datetime | None = None,
        days: float = 1,
    ) -> KeyPair:
        """A certificate for `common_name`, signed by this CA, written as `<name>.crt`/`.key`.

        `hosts` become its subject alternative names (IP addresses or DNS names); `server` and
        `client` set the extended key usages. `valid_from` (default: just now) and `days` set the
        validity window, so expired (`days` < 0 from now) or not-yet-valid certificates can be made.
        """
        key = ec.generate_private_key(ec.SECP256R1())
        start = valid_from or datetime.datetime.now(datetime.UTC) - _BACKDATE
        end = start + datetime.timedelta(days=days)
        if end <= start:
            start, end = end - datetime.timedelta(days=1), end
        usages = [
            *([ExtendedKeyUsageOID.SERVER_AUTH] if server else []),
            *([ExtendedKeyUsageOID.CLIENT_AUTH] if client else []),
        ]
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(self.certificate.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False
            )
        )
        if usages:
            builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        if hosts:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([subject_alt_name(h) for h in hosts]), critical=False
            )
        cert = builder.sign(self._key, hashes.SHA256())
        pair = KeyPair(self.directory / f"{name}.crt", self.directory / f"{name}.key")
        pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(pair.key, key)
        return pair


def generate(directory: Path, *, client_cn: str = "root", days: float = 1) -> TLSFiles:
    """A CA, a server certificate for 127.0.0.1/localhost (usable as a peer's too: it allows
    both key usages) and a client certificate for `client_cn`, all in `directory`."""
    directory.mkdir(parents=True, exist_ok=True)
    ca = CertificateAuthority(directory)
    server = ca.issue("server", "etcd-server", hosts=LOOPBACK_HOSTS, server=True, client=True, days=days)
    client = ca.issue(f"client-{client_cn}", client_cn, client=True, days=days)
    return TLSFiles(ca.cert_path, server, client)


class TLSEtcd(EtcdProcess):
    """A member ("reference" or "etcdpy") serving clients over https only, requiring client
    certificates signed by `tls.ca` (peers stay on plain http)."""

    def __init__(self, kind: str, data_dir: Path, tls: TLSFiles, **kw: object) -> None:
        super().__init__(kind, data_dir, **kw)  # type: ignore[arg-type]
        self.tls = tls
        self.extra_args += [
            "--cert-file", str(tls.server.cert),
            "--key-file", str(tls.server.key),
            "--trusted-ca-file", str(tls.ca),
            "--client-cert-auth",
        ]  # fmt: skip

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.client_port}"

    def credentials(self) -> grpc.ChannelCredentials:
        """gRPC credentials of the client certificate."""
        return grpc.ssl_channel_credentials(
            self.tls.ca.read_bytes(), self.tls.client.key.read_bytes(), self.tls.client.cert.read_bytes()
        )

    def is_ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"{self.kind} exited with {self.proc.returncode}; log:\n{self.log_tail()}")
        try:
            with grpc.secure_channel(self.endpoint, self.credentials()) as ch:
                rpc_pb2_grpc.MaintenanceStub(ch).Status(rpc_pb2.StatusRequest(), timeout=0.5)
            return True
        except grpc.RpcError:
            return False
