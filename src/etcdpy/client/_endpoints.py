"""Endpoint strings as etcd clients accept them, turned into gRPC targets."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

_SCHEMES = ("http://", "https://", "unix://", "unixs://")


def grpc_target(endpoint: str) -> str:
    """`host:port`, `http://host:port` or `https://host:port` -> the gRPC target `host:port`.

    `unix://path` endpoints become gRPC's `unix:path` target.
    """
    ep = endpoint.strip()
    for scheme in _SCHEMES:
        if ep.startswith(scheme):
            rest = ep[len(scheme) :]
            if scheme.startswith("unix"):
                return "unix:" + rest
            return rest.rstrip("/")
    return ep


def normalize(endpoints: str | Iterable[str]) -> Sequence[str]:
    """A comma-separated string or an iterable of endpoints -> a non-empty tuple of trimmed endpoints."""
    items = endpoints.split(",") if isinstance(endpoints, str) else list(endpoints)
    eps = tuple(e.strip() for e in items if e.strip())
    if not eps:
        raise ValueError("at least one endpoint is required")
    return eps
