"""The workloads, in etcd's `benchmark` syntax. Request totals are etcd's documented ones
(op-guide/performance.md) times the run's --scale.

Adding a workload means one more Workload in WORKLOADS; `setup` prepares the target's data
(it gets the target's endpoints) before the load tool starts. On a cluster the load tool gets every
member's endpoint and spreads its connections over them, except for a `leader_only` workload, which
it sends to the leader alone (--target-leader), as etcd's guide measures a single client.

The watch and lease workloads have no counterpart in etcd's guide; their shapes are those of the
issue asking for them: one writer fanned out to 1000 watchers, and keep-alives from 1000 clients.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from . import kvclient

# etcd's documented read benchmark reads one key of 8 bytes holding 256 bytes.
RANGE_KEY = b"rangekey"
RANGE_VALUE = b"v" * 256


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    conns: int
    clients: int
    command: tuple[str, ...]  # benchmark subcommand and its flags, without --total
    base_total: int
    setup: Callable[[Sequence[str]], None] | None = None
    leader_only: bool = False
    # Every one of the --total requests reaches all clients (a put each watcher sees), so the tool
    # counts total x clients results and one request already lets every client take part.
    fanout: bool = False

    def total(self, scale: float) -> int:
        """Requests at `scale`; at least one per client (one in all for a fan-out) so every client
        takes part."""
        return max(1 if self.fanout else self.clients, round(self.base_total * scale))

    def args(self, scale: float, members: int = 1) -> list[str]:
        """benchmark's arguments after --endpoints and the harness's own flags, for a target of
        `members` servers."""
        return [
            *(["--target-leader"] if self.leader_only and members > 1 else []),
            f"--conns={self.conns}",
            f"--clients={self.clients}",
            *self.command,
            f"--total={self.total(scale)}",
        ]


def _put_range_key(endpoints: Sequence[str]) -> None:
    kvclient.put(endpoints[0], RANGE_KEY, RANGE_VALUE)


_PUT = ("put", "--key-size=8", "--sequential-keys", "--val-size=256")
# watch-latency waits for every watcher's event before the next put, so the put rate never binds
# at this setting: the loop runs as fast as the server fans out.
_UNLIMITED_PUT_RATE = 100_000

WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in (
        Workload(
            "put-1client",
            "put, 1 client over 1 connection (to the leader)",
            1,
            1,
            _PUT,
            10_000,
            leader_only=True,
        ),
        Workload("put-1000clients", "put, 1000 clients over 100 connections", 100, 1000, _PUT, 100_000),
        Workload(
            "range-l",
            "linearizable range of one key, 1000 clients over 100 connections",
            100,
            1000,
            ("range", RANGE_KEY.decode(), "--consistency=l"),
            100_000,
            setup=_put_range_key,
        ),
        Workload(
            "range-s",
            "serializable range of one key, 1000 clients over 100 connections",
            100,
            1000,
            ("range", RANGE_KEY.decode(), "--consistency=s"),
            100_000,
            setup=_put_range_key,
        ),
        Workload(
            "txn-put",
            "txn with one put, 1000 clients over 100 connections",
            100,
            1000,
            ("txn-put", "--key-size=8", "--val-size=256"),
            100_000,
        ),
        Workload(
            "watch-fanout",
            "1 writer putting one key watched by 1000 watchers (1000 clients, 100 connections); "
            "req/s is events delivered per second",
            100,
            1000,
            ("watch-latency", "--key-size=8", "--val-size=256", f"--put-rate={_UNLIMITED_PUT_RATE}"),
            1_000,
            fanout=True,
        ),
        Workload(
            "lease-keepalive",
            "lease keep-alive (each client grants one lease, then renews it), 1000 clients over "
            "100 connections",
            100,
            1000,
            ("lease-keepalive",),
            100_000,
        ),
    )
}
