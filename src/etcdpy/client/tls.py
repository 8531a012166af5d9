"""TLS settings of a client connection, and the gRPC channel credentials they make.

Which endpoints use TLS follows clientv3: `https://` (and `unixs://`) endpoints always do,
with the system's CA roots when no `TLSConfig` is given; `http://` (and `unix://`) never
do; a bare `host:port` does exactly when a `TLSConfig` is given.

Files are read, and a client certificate checked against its key, when the client is
made; problems are raised as `ValueError` with the messages etcdctl prints for them.
"""

from __future__ import annotations

import os
import socket
import ssl
from dataclasses import dataclass

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID

from etcdpy.client import _endpoints

# gRPC channel argument naming the host a server certificate must be issued for.
_NAME_OVERRIDE = "grpc.ssl_target_name_override"
ChannelOptions = list[tuple[str, str]]


@dataclass(frozen=True)
class TLSConfig:
    """How a client authenticates servers and itself over TLS.

    `ca_file`: PEM bundle of the CAs trusted to sign server certificates (None: the system's).
    `cert_file`/`key_file`: the client's certificate and key, for servers that require one
    (both or neither). `server_name`: the name the server certificate must carry, instead of
    the endpoint's host. `insecure_skip_verify`: accept whatever certificate a server
    presents (for tests only): it is fetched when the connection is made and trusted as is;
    its validity period is still checked.
    """

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    server_name: str | None = None
    insecure_skip_verify: bool = False

    def __post_init__(self) -> None:
        if bool(self.cert_file) != bool(self.key_file):
            raise ValueError(
                "KeyFile and CertFile must both be present"
                f"[key: {self.key_file or ''}, cert: {self.cert_file or ''}]"
            )


def _read(path: str) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as err:
        reason = os.strerror(err.errno).lower() if err.errno else str(err)
        raise ValueError(f"open {path}: {reason}") from None


def _check_pair(cert_pem: bytes, key_pem: bytes) -> None:
    try:
        cert = x509.load_pem_x509_certificate(cert_pem)
    except ValueError:
        raise ValueError("tls: failed to find any PEM data in certificate input") from None
    try:
        key = serialization.load_pem_private_key(key_pem, password=None)
    except (ValueError, TypeError):
        raise ValueError("tls: failed to find any PEM data in key input") from None
    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if cert.public_key().public_bytes(*spki) != key.public_key().public_bytes(*spki):
        raise ValueError("tls: private key does not match public key")


def _check_roots(ca_pem: bytes) -> None:
    try:
        x509.load_pem_x509_certificates(ca_pem)
    except ValueError as err:
        raise ValueError(f"x509: malformed certificate ({err})") from None


def uses_tls(endpoint: str, tls: TLSConfig | None) -> bool:
    scheme = endpoint.strip().partition("://")[0] if "://" in endpoint else ""
    if scheme in ("https", "unixs"):
        return True
    if scheme in ("http", "unix"):
        return False
    return tls is not None


def _presented_certificate(target: str, identity: tuple[str, str] | None, timeout: float) -> bytes:
    """The PEM certificate the server at `target` presents, unverified."""
    host, _, port = target.rpartition(":")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    if identity is not None:
        context.load_cert_chain(*identity)
    with (
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout) as sock,
        context.wrap_socket(sock) as conn,
    ):
        der = conn.getpeercert(binary_form=True)
    if der is None:
        raise ssl.SSLError("the server presented no certificate")
    return ssl.DER_cert_to_PEM_cert(der).encode()


def _certificate_name(pem: bytes) -> str | None:
    """A name `pem` is issued for: its first subject alternative name, else its common name."""
    cert = x509.load_pem_x509_certificate(pem)
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        san = None
    if san is not None:
        for kind in (x509.DNSName, x509.IPAddress):
            names = san.get_values_for_type(kind)
            if names:
                return str(names[0])
    common = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(common[0].value) if common else None


class ChannelSecurity:
    """The credentials files of one `TLSConfig`, read once, turned into per-endpoint channel
    credentials."""

    def __init__(self, tls: TLSConfig | None) -> None:
        self.tls = tls
        self._roots: bytes | None = None
        self._key: bytes | None = None
        self._chain: bytes | None = None
        if tls is None:
            return
        if tls.ca_file:
            self._roots = _read(tls.ca_file)
            _check_roots(self._roots)
        if tls.cert_file and tls.key_file:
            self._chain, self._key = _read(tls.cert_file), _read(tls.key_file)
            _check_pair(self._chain, self._key)

    def for_endpoint(
        self, endpoint: str, dial_timeout: float
    ) -> tuple[grpc.ChannelCredentials | None, ChannelOptions]:
        """(credentials, extra channel options) for `endpoint`; None credentials: plaintext."""
        if not uses_tls(endpoint, self.tls):
            return None, []
        tls = self.tls or TLSConfig()
        options: ChannelOptions = []
        roots = self._roots
        if tls.insecure_skip_verify:
            roots, name = self._pin_presented(endpoint, dial_timeout)
            if name is not None:
                options.append((_NAME_OVERRIDE, name))
        if tls.server_name:
            options = [(_NAME_OVERRIDE, tls.server_name)]
        creds = grpc.ssl_channel_credentials(roots, self._key, self._chain)
        return creds, options

    def _pin_presented(self, endpoint: str, timeout: float) -> tuple[bytes | None, str | None]:
        """The server's own certificate as the only root, and a name it is issued for; the
        configured roots if the server cannot be reached now (the connection then fails
        verification, as it would without the option)."""
        tls = self.tls or TLSConfig()
        identity = (tls.cert_file, tls.key_file) if tls.cert_file and tls.key_file else None
        try:
            pem = _presented_certificate(_endpoints.grpc_target(endpoint), identity, timeout)
        except (OSError, ValueError):
            return self._roots, None
        return pem, _certificate_name(pem)
