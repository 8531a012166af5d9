"""One etcd-py member under fuzzing: the data it held before, and the checks that prove it survived.

Known keys are written before any fuzzing, at revisions up to `revision`. Fuzzers may
overwrite or delete them (they send random Puts and DeleteRanges), so what must never
change is their history: each key read at `revision`, and HashKV up to `revision`. No fuzzer
compacts, so that history stays readable.

Memory is checked on the member and on its client-port child process (which relays gRPC
and serves HTTP/1.1): the resident set of each stays under `RSS_BOUND_KIB`.
"""

from __future__ import annotations

import contextlib
import hashlib
import time
from collections.abc import Iterator
from pathlib import Path

import grpc

from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.api.pb.etcdserverpb import rpc_pb2_grpc
from tests.servers import EtcdProcess, running

# Each process idles near 50 MiB; fuzzing with bounded requests must not take it past this.
RSS_BOUND_KIB = 256 * 1024
TIMEOUT = 10.0
CHANNEL_OPTIONS = [("grpc.max_send_message_length", 16 << 20), ("grpc.max_receive_message_length", 16 << 20)]


def known_items() -> dict[bytes, bytes]:
    """Keys and values written before fuzzing: binary, empty and large values among them."""
    items = {b"known/%03d" % i: hashlib.sha256(b"%d" % i).digest() * (1 + i % 7) for i in range(40)}
    items[b"known/empty"] = b""
    items[b"known/\x00\xff binary"] = bytes(range(256))
    items[b"known/large"] = b"L" * 200_000
    return items


def status_field(pid: int, name: str) -> int:
    """A "kB" field of /proc/<pid>/status (VmRSS, VmHWM), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    raise KeyError(name)


def children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(OSError):
            out += [int(c) for c in (task / "children").read_text().split()]
    return out


class Target:
    """A running member and the known data it held when fuzzing began (at `revision`, hashing to `hash`)."""

    def __init__(self, proc: EtcdProcess, channel: grpc.Channel, revision: int, hash: int) -> None:
        self.proc = proc
        self.channel = channel
        self.revision = revision
        self.hash = hash
        self.known = known_items()

    def __repr__(self) -> str:  # hypothesis prints it with every failing example
        return f"Target({self.proc.endpoint})"

    @property
    def port(self) -> int:
        return self.proc.client_port

    @property
    def kv(self) -> rpc_pb2_grpc.KVStub:
        return rpc_pb2_grpc.KVStub(self.channel)

    @property
    def maintenance(self) -> rpc_pb2_grpc.MaintenanceStub:
        return rpc_pb2_grpc.MaintenanceStub(self.channel)

    def pids(self) -> dict[str, int]:
        """The member's PID and its client-port child's."""
        assert self.proc.proc is not None
        pid = self.proc.proc.pid
        kids = children(pid)
        assert len(kids) == 1, f"expected one client-port child of {pid}, found {kids}"
        return {"member": pid, "client-port": kids[0]}

    def rss_kib(self) -> dict[str, int]:
        return {name: status_field(pid, "VmRSS") for name, pid in self.pids().items()}

    def alive(self) -> bool:
        proc = self.proc.proc
        return proc is not None and proc.poll() is None

    def assert_alive(self) -> None:
        assert self.alive(), f"the member died:\n{self.proc.log_tail(60)}"

    def assert_intact(self, rss_bound_kib: int = RSS_BOUND_KIB) -> None:
        """Alive; serves a put and a get; the known keys' history and HashKV are unchanged;
        every process under the RSS bound (its peak, VmHWM, included)."""
        self.assert_alive()
        probe = b"probe/%d" % time.monotonic_ns()
        self.kv.Put(pb.PutRequest(key=probe, value=probe), timeout=TIMEOUT)
        (kv,) = self.kv.Range(pb.RangeRequest(key=probe), timeout=TIMEOUT).kvs
        assert kv.value == probe
        got = self.kv.Range(
            pb.RangeRequest(key=b"known/", range_end=b"known0", revision=self.revision), timeout=TIMEOUT
        )
        assert {k.key: k.value for k in got.kvs} == self.known, "known keys changed at their revision"
        hashed = self.maintenance.HashKV(pb.HashKVRequest(revision=self.revision), timeout=TIMEOUT)
        assert hashed.hash == self.hash, "HashKV up to the known revision changed"
        for name, pid in self.pids().items():
            peak = status_field(pid, "VmHWM")
            assert peak < rss_bound_kib, f"{name} peaked at {peak} KiB (bound {rss_bound_kib} KiB)"


@contextlib.contextmanager
def target(tmp: Path, *extra_args: str) -> Iterator[Target]:
    """An etcd-py member holding the known keys; checked intact (and free of tracebacks) at the end."""
    with running("etcdpy", tmp, extra_args=list(extra_args)) as proc:
        channel = grpc.insecure_channel(proc.endpoint, options=CHANNEL_OPTIONS)
        try:
            kv = rpc_pb2_grpc.KVStub(channel)
            known = known_items()
            for key, value in known.items():
                kv.Put(pb.PutRequest(key=key, value=value), timeout=TIMEOUT)
            maintenance = rpc_pb2_grpc.MaintenanceStub(channel)
            revision = int(maintenance.Status(pb.StatusRequest(), timeout=TIMEOUT).header.revision)
            hashed = maintenance.HashKV(pb.HashKVRequest(revision=revision), timeout=TIMEOUT).hash
            t = Target(proc, channel, revision, int(hashed))
            yield t
            t.assert_intact()
            log = proc.log_path.read_text(errors="replace") if proc.log_path else ""
            assert "Traceback" not in log, proc.log_tail(80)
        finally:
            channel.close()
