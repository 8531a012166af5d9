"""Start a member in-process: the server, its gRPC services, and its listeners.

The gRPC services run in a grpc.aio server on a private unix socket. The
client URLs are bound here and served by a child process (`ClientPortProcess`)
that serves the JSON gateway itself and relays HTTP/2 (gRPC) connections to
that socket; see docs/design.md for why one port is shared this way.

TLS: https:// client URLs are served with TLS by that child; https:// peer
URLs by the peer transport. With --auto-tls / --peer-auto-tls and no
certificate given, certificates are generated in <data-dir>/fixtures/client
and /peer, as etcd does.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import os
import shutil
import socket
import tempfile
from urllib.parse import urlsplit

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from etcdpy.api.gateway.process import ClientPortProcess
from etcdpy.api.internal import METRICS_METHOD
from etcdpy.api.pb.etcdserverpb import rpc_pb2_grpc
from etcdpy.api.pb.v3electionpb import v3election_pb2_grpc
from etcdpy.api.pb.v3lockpb import v3lock_pb2_grpc
from etcdpy.api.v3rpc.auth import AuthService
from etcdpy.api.v3rpc.cluster import ClusterService
from etcdpy.api.v3rpc.election import ElectionService
from etcdpy.api.v3rpc.kv import KVService
from etcdpy.api.v3rpc.lease import LeaseService
from etcdpy.api.v3rpc.lock import LockService
from etcdpy.api.v3rpc.maintenance import MaintenanceService
from etcdpy.api.v3rpc.registration import generic_handlers
from etcdpy.api.v3rpc.unimplemented import UnknownMethods
from etcdpy.api.v3rpc.watch import WatchService
from etcdpy.pkg import zaplog
from etcdpy.pkg.netutil import bind
from etcdpy.pkg.tlsutil import TLSConfigError, TLSInfo, self_cert
from etcdpy.server.config import ConfigError, ServerConfig
from etcdpy.server.server import EtcdServer

log = zaplog.get("embed")

# gRPC accepts this much beyond --max-request-bytes, so that an oversize request
# reaches the server and gets etcd's "request is too large" instead of a transport error.
GRPC_OVERHEAD_BYTES = 512 * 1024


_SERVICES = {
    "etcdserverpb.KV", "etcdserverpb.Watch", "etcdserverpb.Lease", "etcdserverpb.Cluster",
    "etcdserverpb.Maintenance", "etcdserverpb.Auth", "v3lockpb.Lock", "v3electionpb.Election",
    "grpc.health.v1.Health",
}


_SOCKET_DIR_PREFIX = "etcdpy-"


def _remove_stale_socket_dirs() -> None:
    """Delete the socket directories of members that died without cleaning up (kill -9)."""
    tmp = tempfile.gettempdir()
    for name in os.listdir(tmp):
        pid_text = name[len(_SOCKET_DIR_PREFIX):].partition("-")[0]
        if not name.startswith(_SOCKET_DIR_PREFIX) or not pid_text.isdigit():
            continue
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            shutil.rmtree(os.path.join(tmp, name), ignore_errors=True)
        except PermissionError:  # alive, another user's
            pass


def _host_port(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    return host, parts.port or (443 if parts.scheme == "https" else 80)


class ListenerError(RuntimeError):
    """A listener's TLS settings are unusable (a missing or mismatched certificate or key)."""


def _auto_tls(info: TLSInfo, directory: str, urls: list[str], validity_years: int, side: str) -> TLSInfo:
    """`info` with generated certificates when its auto TLS applies (etcd's SelfCert)."""
    if not info.auto_tls:
        return info
    if not info.empty():
        log.warning(f"ignoring {side} auto TLS since certs given")
        return info
    not_after = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=365 * validity_years)
    bound = not_after.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    log.warning("automatically generate certificates", **{"certificate-validity-bound-not-after": bound})
    exists = os.path.exists(os.path.join(directory, "cert.pem"))
    cert, key = self_cert(directory, [_host_port(u)[0] for u in urls], validity_years)
    if not exists:
        log.info("created cert file", path=os.path.abspath(cert))
        log.info("created key file", path=os.path.abspath(key))
    return info.with_self_cert(cert, key)


def _check_tls(info: TLSInfo, urls: list[str], side: str) -> None:
    """etcd's start-up checks of one side's TLS settings against its URLs; logs what it starts with."""
    secure = [u for u in urls if urlsplit(u).scheme == "https"]
    if not secure:
        return
    if info.empty():
        flags = "--cert-file, --key-file" if side == "client" else "--peer-cert-file, --peer-key-file"
        raise ConfigError(
            f"TLS key/cert ({flags}) must be provided for {side} url {secure[0]} with HTTPS scheme"
        )
    try:
        info.server_context()
        if side == "peer":
            info.client_context()
    except (OSError, ValueError, TLSConfigError) as exc:
        raise ListenerError(str(exc)) from None
    tls_info = (
        f"cert = {info.cert_file}, key = {info.key_file}, client-cert={info.cert_file}, "
        f"client-key={info.key_file}, trusted-ca = {info.trusted_ca_file}, "
        f"client-cert-auth = {str(info.client_cert_auth).lower()}, crl-file = "
    )
    log.info(f"starting with {side} TLS", **{"tls-info": tls_info, "cipher-suites": list(info.cipher_suites)})


def _prepare_tls(cfg: ServerConfig) -> ServerConfig:
    fixtures = os.path.join(cfg.data_dir, "fixtures")
    validity = cfg.self_signed_cert_validity
    peer = _auto_tls(cfg.peer_tls, os.path.join(fixtures, "peer"), cfg.listen_peer_urls, validity, "peer")
    _check_tls(peer, cfg.listen_peer_urls, "peer")
    client = _auto_tls(cfg.client_tls, os.path.join(fixtures, "client"), cfg.listen_client_urls, validity,
                       "client")
    _check_tls(client, cfg.listen_client_urls, "client")
    return dataclasses.replace(cfg, client_tls=client, peer_tls=peer)


class MemberFailedError(RuntimeError):
    """A task the member cannot work without failed."""


class Etcd:
    """A running member. `await Etcd.start(cfg)`, then `await etcd.stop()`."""

    def __init__(self, cfg: ServerConfig) -> None:
        cfg = _prepare_tls(cfg)
        self.cfg = cfg
        self.server = EtcdServer(cfg)
        self._grpc: grpc.aio.Server | None = None
        self._client_sockets: list[socket.socket] = []
        self._client_port: ClientPortProcess | None = None
        self._peer_sockets: list[socket.socket] = []
        # A private directory (mode 0700) for the gRPC socket: only this user may bypass the client port.
        _remove_stale_socket_dirs()
        self._sock_dir = tempfile.mkdtemp(prefix=f"{_SOCKET_DIR_PREFIX}{os.getpid()}-")
        self.grpc_target = f"unix:{self._sock_dir}/grpc.sock"

    @classmethod
    async def start(cls, cfg: ServerConfig) -> Etcd:
        etcd = cls(cfg)
        try:
            await etcd._start()
        except BaseException:
            await etcd.stop()
            raise
        return etcd

    async def _start(self) -> None:
        cfg = self.cfg
        log.info("configuring peer listeners", **{"listen-peer-urls": cfg.listen_peer_urls})
        for url in cfg.listen_peer_urls:
            self._peer_sockets += bind(*_host_port(url))
        log.info("configuring client listeners", **{"listen-client-urls": cfg.listen_client_urls})
        await self.server.start(self._peer_sockets)
        limit = cfg.max_request_bytes + GRPC_OVERHEAD_BYTES
        self._grpc = grpc.aio.server(options=[
            ("grpc.max_receive_message_length", limit),
            ("grpc.max_send_message_length", 2**31 - 1),
            # grpc core takes a signed 32-bit value: etcd's default (2^32-1) means no bound.
            ("grpc.max_concurrent_streams", min(cfg.max_concurrent_streams, 2**31 - 1)),
            ("grpc.keepalive_time_ms", int(cfg.grpc_keepalive_interval * 1000)),
            ("grpc.keepalive_timeout_ms", int(cfg.grpc_keepalive_timeout * 1000)),
            ("grpc.http2.min_ping_interval_without_data_ms", int(cfg.grpc_keepalive_min_time * 1000)),
            ("grpc.so_reuseport", 0),
        ])
        s = self.server
        # The standard health service, as etcd registers it: SERVING while the member serves.
        self.health = health.aio.HealthServicer()  # type: ignore[attr-defined]
        await self.health.set("", health_pb2.HealthCheckResponse.SERVING)
        # Looked up in this order: the busiest services first.
        watch = WatchService(s, fragment_bytes=limit)
        services = [
            *generic_handlers(rpc_pb2_grpc.add_KVServicer_to_server, KVService(s)),
            *generic_handlers(rpc_pb2_grpc.add_WatchServicer_to_server, watch),
            *generic_handlers(rpc_pb2_grpc.add_LeaseServicer_to_server, LeaseService(s)),
            *generic_handlers(rpc_pb2_grpc.add_MaintenanceServicer_to_server, MaintenanceService(s)),
            *generic_handlers(rpc_pb2_grpc.add_ClusterServicer_to_server, ClusterService(s)),
            *generic_handlers(rpc_pb2_grpc.add_AuthServicer_to_server, AuthService(s)),
            *generic_handlers(v3lock_pb2_grpc.add_LockServicer_to_server, LockService(s)),
            *generic_handlers(v3election_pb2_grpc.add_ElectionServicer_to_server, ElectionService(s)),
            *generic_handlers(health_pb2_grpc.add_HealthServicer_to_server, self.health),
            self._internal_methods(),
            UnknownMethods(_SERVICES),
        ]
        self._grpc.add_generic_rpc_handlers(services)
        self._grpc.add_insecure_port(self.grpc_target)
        await self._grpc.start()
        plain: list[socket.socket] = []
        secure: list[socket.socket] = []
        for url in cfg.listen_client_urls:
            sockets = bind(*_host_port(url))
            self._client_sockets += sockets
            tls = urlsplit(url).scheme == "https"
            (secure if tls else plain).extend(sockets)
            for sock in sockets:
                address = sock.getsockname()
                if tls:
                    log.info("serving client traffic securely", address=f"{address[0]}:{address[1]}")
                else:
                    log.warning("serving client traffic insecurely; this is strongly discouraged!",
                                address=f"{address[0]}:{address[1]}")
        self._client_port = ClientPortProcess(
            plain, self.grpc_target, tls_sockets=secure, tls=cfg.client_tls,
            max_request_bytes=cfg.max_request_bytes,
            cors=cfg.cors, log_outputs=cfg.log_outputs, log_level=cfg.log_level,
        )
        await self._client_port.start()
        log.info("ready to serve client requests")

    @property
    def client_ports(self) -> list[int]:
        """The bound client ports, in --listen-client-urls order."""
        return [sock.getsockname()[1] for sock in self._client_sockets]

    def _internal_methods(self) -> grpc.GenericRpcHandler:  # type: ignore[type-arg]
        service, _, method = METRICS_METHOD.lstrip("/").rpartition("/")

        async def metrics(request: bytes, context: grpc.aio.ServicerContext) -> bytes:  # type: ignore[type-arg]
            return self.server.metrics.exposition()

        handler = grpc.unary_unary_rpc_method_handler(metrics)
        return grpc.method_handlers_generic_handler(service, {method: handler})

    async def stop(self) -> None:
        if self._client_port is not None:
            await self._client_port.stop()
        for sock in self._client_sockets:
            sock.close()
        if self._grpc is not None:
            await self._grpc.stop(grace=1.0)
        await self.server.stop()
        for sock in self._peer_sockets:
            sock.close()
        shutil.rmtree(self._sock_dir, ignore_errors=True)

    async def wait_failed(self) -> None:
        """Return when the cluster removed this member; raise when it can no longer serve (its client
        port process died, or a task it cannot work without failed)."""
        assert self._client_port is not None
        failed = asyncio.ensure_future(self._client_port.wait_failed())
        removed = asyncio.ensure_future(self.server.removed.wait())
        crashed = asyncio.ensure_future(self.server.failed.wait())
        try:
            await asyncio.wait((failed, removed, crashed), return_when=asyncio.FIRST_COMPLETED)
        finally:
            failed.cancel()
            removed.cancel()
            crashed.cancel()
        error = failed.exception() if failed.done() and not failed.cancelled() else None
        if error is not None:
            raise error
        if self.server.failed.is_set():
            raise MemberFailedError(self.server.failure)
