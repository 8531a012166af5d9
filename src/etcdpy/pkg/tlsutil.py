"""TLS settings as etcd's flags give them, turned into `ssl.SSLContext`s; self-signed certificates.

`TLSInfo` is one listener's (client or peer) side of etcd's TLS flags. etcd's rules carried over:
a trusted CA file or client-cert-auth makes a server require and verify client certificates;
a member dialling a peer presents its peer certificate as client certificate, verifies the peer
against the peer CA (hostname included), and verifies nothing when the certificates are generated
(auto TLS). Cipher suites are named as Go names them and apply to TLS 1.2 and lower only (Go does
not make TLS 1.3's configurable either).
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from cryptography import x509

# Go's crypto/tls cipher suite names (secure and insecure lists, plus etcd's two legacy aliases) ->
# OpenSSL's names; None for TLS 1.3 suites, which are always enabled.
GO_CIPHER_SUITES: Final[Mapping[str, str | None]] = {
    "TLS_RSA_WITH_RC4_128_SHA": "RC4-SHA",
    "TLS_RSA_WITH_3DES_EDE_CBC_SHA": "DES-CBC3-SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA": "AES128-SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA": "AES256-SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA256": "AES128-SHA256",
    "TLS_RSA_WITH_AES_128_GCM_SHA256": "AES128-GCM-SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384": "AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA": "ECDHE-ECDSA-RC4-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA": "ECDHE-ECDSA-AES128-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA": "ECDHE-ECDSA-AES256-SHA",
    "TLS_ECDHE_RSA_WITH_RC4_128_SHA": "ECDHE-RSA-RC4-SHA",
    "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA": "ECDHE-RSA-DES-CBC3-SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA": "ECDHE-RSA-AES128-SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA": "ECDHE-RSA-AES256-SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256": "ECDHE-ECDSA-AES128-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256": "ECDHE-RSA-AES128-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": "ECDHE-RSA-AES128-GCM-SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256": "ECDHE-ECDSA-AES128-GCM-SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384": "ECDHE-RSA-AES256-GCM-SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384": "ECDHE-ECDSA-AES256-GCM-SHA384",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305": "ECDHE-RSA-CHACHA20-POLY1305",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305": "ECDHE-ECDSA-CHACHA20-POLY1305",
    "TLS_AES_128_GCM_SHA256": None,
    "TLS_AES_256_GCM_SHA384": None,
    "TLS_CHACHA20_POLY1305_SHA256": None,
}

# etcd's --tls-min-version / --tls-max-version values; "" leaves the choice to the TLS library.
TLS_VERSIONS: Final[Mapping[str, ssl.TLSVersion]] = {
    "TLS1.2": ssl.TLSVersion.TLSv1_2,
    "TLS1.3": ssl.TLSVersion.TLSv1_3,
}

# ALPN offered by the client port, in server-preference order: a client offering both (curl) gets
# HTTP/1.1 for the JSON gateway, a gRPC client offering only h2 gets h2.
CLIENT_PORT_ALPN: Final = ("http/1.1", "h2")


class TLSConfigError(ValueError):
    """A TLS flag value etcd would refuse."""


def cipher_suites(names: Sequence[str]) -> tuple[str, ...]:
    """Validate Go cipher suite names (etcd's --cipher-suites); the names, unchanged."""
    for name in names:
        if name not in GO_CIPHER_SUITES:
            raise TLSConfigError(f'unexpected TLS cipher suite "{name}"')
    return tuple(names)


def tls_version(name: str) -> ssl.TLSVersion | None:
    """etcd's TLS version name; None for "" (the library's default)."""
    if not name:
        return None
    version = TLS_VERSIONS.get(name)
    if version is None:
        raise TLSConfigError(f'unexpected TLS version "{name}" (must be one of: TLS1.2, TLS1.3)')
    return version


def check_versions(min_name: str, max_name: str, suites: Sequence[str]) -> None:
    """etcd's checks of the version flags against each other and the cipher suites."""
    lo, hi = tls_version(min_name), tls_version(max_name)
    if lo is not None and hi is not None and lo > hi:
        raise TLSConfigError(f"min version ({min_name}) is greater than max version ({max_name})")
    if lo == ssl.TLSVersion.TLSv1_3 and suites:
        raise TLSConfigError("cipher suites cannot be configured when only TLS1.3 is enabled")


@dataclass(frozen=True)
class TLSInfo:
    """One side's TLS settings. `self_signed` marks generated certificates (nothing is verified)."""

    cert_file: str = ""
    key_file: str = ""
    trusted_ca_file: str = ""
    client_cert_auth: bool = False
    auto_tls: bool = False
    allowed_cn: str = ""
    cipher_suites: tuple[str, ...] = ()
    min_version: str = "TLS1.2"
    max_version: str = ""
    self_signed: bool = False

    def empty(self) -> bool:
        """No certificate configured (auto TLS has not generated one yet)."""
        return not self.cert_file and not self.key_file

    def requires_client_cert(self) -> bool:
        return bool(self.trusted_ca_file) or self.client_cert_auth

    def with_self_cert(self, cert_file: str, key_file: str) -> TLSInfo:
        return replace(self, cert_file=cert_file, key_file=key_file, self_signed=True)

    def server_context(self, alpn: Sequence[str] = ()) -> ssl.SSLContext:
        """A server context: OSError for missing files, ssl.SSLError for unusable ones."""
        ctx = self._base(ssl.PROTOCOL_TLS_SERVER)
        if self.requires_client_cert():
            ctx.verify_mode = ssl.CERT_REQUIRED
            if self.trusted_ca_file:
                ctx.load_verify_locations(cafile=self.trusted_ca_file)
            else:
                ctx.load_default_certs(ssl.Purpose.CLIENT_AUTH)
        if alpn:
            ctx.set_alpn_protocols(list(alpn))
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """A context for dialling a peer: this side's certificate as client certificate."""
        ctx = self._base(ssl.PROTOCOL_TLS_CLIENT)
        if self.self_signed:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        elif self.trusted_ca_file:
            ctx.load_verify_locations(cafile=self.trusted_ca_file)
        else:
            ctx.load_default_certs(ssl.Purpose.SERVER_AUTH)
        return ctx

    def _base(self, protocol: ssl._SSLMethod) -> ssl.SSLContext:
        if not self.cert_file or not self.key_file:
            raise TLSConfigError(
                f"KeyFile and CertFile must both be present[key: {self.key_file}, cert: {self.cert_file}]"
            )
        ctx = ssl.SSLContext(protocol)
        for path in (self.cert_file, self.key_file):
            if not os.path.exists(path):
                raise FileNotFoundError(f"open {path}: no such file or directory")
        try:
            ctx.load_cert_chain(self.cert_file, self.key_file)
        except ssl.SSLError as exc:
            raise TLSConfigError(f"tls: failed to load key pair ({exc.reason or exc})") from None
        ctx.minimum_version = tls_version(self.min_version) or ssl.TLSVersion.TLSv1_2
        maximum = tls_version(self.max_version)
        if maximum is not None:
            ctx.maximum_version = maximum
        openssl = [name for s in self.cipher_suites if (name := GO_CIPHER_SUITES[s]) is not None]
        if openssl:
            try:
                ctx.set_ciphers(":".join(openssl))
            except ssl.SSLError:
                raise TLSConfigError(
                    f"none of the cipher suites {list(self.cipher_suites)} is available"
                ) from None
        return ctx


def peer_common_name(peercert: Mapping[str, Any] | None) -> str | None:
    """The subject CN of a verified peer certificate (ssl's getpeercert() form), None without one."""
    if not peercert:
        return None
    for rdn in peercert.get("subject", ()):
        for key, value in rdn:
            if key == "commonName":
                return str(value)
    return None


def subject_alt_name(host: str) -> x509.GeneralName:
    """A certificate's SAN entry for `host`: an IP address entry for an address, else a DNS name."""
    from cryptography import x509

    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def self_cert(directory: str, hosts: Sequence[str], validity_years: int) -> tuple[str, str]:
    """`directory`/cert.pem and key.pem, as etcd's auto TLS makes them (ECDSA P-521, organization
    "etcd", the hosts as SANs, valid `validity_years`); existing ones are kept. (cert, key) paths."""
    cert_path = os.path.join(directory, "cert.pem")
    key_path = os.path.join(directory, "key.pem")
    if os.path.exists(cert_path) and os.path.exists(key_path):
        return cert_path, key_path
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    os.makedirs(directory, mode=0o700, exist_ok=True)
    key = ec.generate_private_key(ec.SECP521R1())
    sans = [subject_alt_name(host) for host in hosts]
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "etcd")])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=365 * validity_years))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=True,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
            critical=False,
        )
    )
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(key, hashes.SHA512())
    with open(cert_path, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(key_pem)
    return cert_path, key_path
