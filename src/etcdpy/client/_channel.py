"""Channel settings shared by the sync and asyncio clients."""

from __future__ import annotations


def channel_options(dial_timeout: float) -> list[tuple[str, int]]:
    """gRPC channel arguments; a connection attempt gives up after `dial_timeout` seconds."""
    dial_ms = max(1, int(dial_timeout * 1000))
    return [
        # etcd servers accept up to --max-request-bytes; responses (big ranges) may be larger still.
        ("grpc.max_receive_message_length", -1),
        ("grpc.max_send_message_length", -1),
        # The minimum connect timeout: an unreachable endpoint fails over after the dial timeout.
        ("grpc.min_reconnect_backoff_ms", dial_ms),
        # Retry a member that went away quickly, instead of gRPC's default 1 s..120 s backoff.
        ("grpc.initial_reconnect_backoff_ms", 100),
        ("grpc.max_reconnect_backoff_ms", 1000),
        ("grpc.keepalive_time_ms", 30_000),
        ("grpc.keepalive_timeout_ms", 10_000),
    ]
