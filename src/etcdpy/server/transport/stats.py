"""Per-peer traffic counters (for metrics such as etcd_network_peer_sent_bytes_total, and for tests)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class PeerStats:
    sent_writes: int = 0  # socket writes of the stream: each carries one or more messages
    sent_messages: int = 0
    sent_bytes: int = 0  # encoded message bytes, frame headers excluded
    dropped_messages: int = 0
    received_messages: int = 0
    received_bytes: int = 0
