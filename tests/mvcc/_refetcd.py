"""A throwaway reference etcd 3.5.1 for the store's differential tests (started by tests.servers)."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path

import grpc

from tests.servers import running


@contextlib.contextmanager
def reference_etcd() -> Iterator[grpc.Channel]:
    """A fresh single-member reference etcd; yields a gRPC channel to it and stops it afterwards."""
    with tempfile.TemporaryDirectory(prefix="refetcd-") as tmp, running("reference", Path(tmp)) as ref:
        channel = grpc.insecure_channel(ref.endpoint)
        try:
            yield channel
        finally:
            channel.close()
