"""Tunables of the peer transport. Defaults suit a LAN cluster under etcd's default limits."""

from __future__ import annotations

import ssl
from dataclasses import dataclass

from etcdpy.pkg.tlsutil import TLSInfo

_MIB = 1 << 20
# Protobuf framing of a MsgApp beyond its entries' data: message fields and per-entry tags.
_FRAME_OVERHEAD = 64 * 1024


@dataclass(frozen=True, slots=True)
class TransportConfig:
    # Largest encoded raftpb.Message accepted or sent; a larger frame closes the connection.
    max_frame_bytes: int = 8 * _MIB
    # Per-peer bound on messages waiting for the stream; beyond either, new messages are dropped.
    max_queue_messages: int = 4096
    max_queue_bytes: int = 64 * _MIB
    # Bytes the socket's user-space buffer may hold before writes pause and messages batch up.
    write_buffer_bytes: int = 256 * 1024
    dial_timeout: float = 1.0
    # Bound on the hello/verdict exchange, for both sides.
    handshake_timeout: float = 5.0
    # Reconnect delay after a failed dial or refusal: doubles from min to max, reset on success.
    backoff_min: float = 0.05
    backoff_max: float = 1.0
    snapshot_chunk_bytes: int = _MIB
    # A snapshot transfer fails when no progress is possible for this long.
    snapshot_io_timeout: float = 30.0
    # Peer TLS: the listener's context (None: plain), the context for dialling https:// peer URLs,
    # and the CN a peer's client certificate must have ("" accepts any verified one).
    server_ssl: ssl.SSLContext | None = None
    client_ssl: ssl.SSLContext | None = None
    allowed_cn: str = ""

    def __post_init__(self) -> None:
        if self.snapshot_chunk_bytes > self.max_frame_bytes:
            raise ValueError("snapshot_chunk_bytes must not exceed max_frame_bytes")
        if not 0 < self.backoff_min <= self.backoff_max:
            raise ValueError("need 0 < backoff_min <= backoff_max")
        if self.max_queue_messages < 1 or self.max_queue_bytes < 1:
            raise ValueError("queue bounds must be positive")

    @classmethod
    def for_limits(
        cls, max_request_bytes: int, max_size_per_msg: int, tls: TLSInfo | None = None
    ) -> TransportConfig:
        """A frame limit that fits any MsgApp Raft builds: up to `max_size_per_msg` of entries plus the
        one entry always included, itself at most a request of `max_request_bytes`. With `tls` holding a
        certificate, the peer port serves TLS and https:// peers are dialled with it."""
        secure = tls is not None and not tls.empty()
        return cls(
            max_frame_bytes=max(
                max_request_bytes + max_size_per_msg + _FRAME_OVERHEAD, _MIB + _FRAME_OVERHEAD
            ),
            server_ssl=tls.server_context() if tls is not None and secure else None,
            client_ssl=tls.client_context() if tls is not None and secure else None,
            allowed_cn=tls.allowed_cn if tls is not None else "",
        )
