"""Members serving clients over https for the end-to-end security tests: server-only TLS (any
client, no certificate asked) or mutual TLS (`tests.tls_certs.TLSEtcd`)."""

from __future__ import annotations

from pathlib import Path

import grpc

from tests.servers import EtcdProcess
from tests.tls_certs import TLSEtcd, TLSFiles


class ServerOnlyTLSEtcd(TLSEtcd):
    """A member serving clients over https with the server certificate only: clients verify it,
    the member asks for no client certificate."""

    def __init__(self, kind: str, data_dir: Path, tls: TLSFiles, **kw: object) -> None:
        EtcdProcess.__init__(self, kind, data_dir, **kw)  # type: ignore[arg-type]
        self.tls = tls
        self.extra_args += ["--cert-file", str(tls.server.cert), "--key-file", str(tls.server.key)]

    def credentials(self) -> grpc.ChannelCredentials:
        return grpc.ssl_channel_credentials(self.tls.ca.read_bytes())


def tls_member(kind: str, data_dir: Path, tls: TLSFiles, *, mutual: bool, **kw: object) -> TLSEtcd:
    return (TLSEtcd if mutual else ServerOnlyTLSEtcd)(kind, data_dir, tls, **kw)
