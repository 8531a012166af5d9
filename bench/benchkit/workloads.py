"""The workloads, in etcd's `benchmark` syntax. Request totals are etcd's documented ones
(op-guide/performance.md) times the run's --scale.

Adding a workload means one more Workload in WORKLOADS; `setup` prepares the target's data
(it gets the target's endpoints) before the load tool starts. On a cluster the load tool gets every
member's endpoint and spreads its connections over them, except for a `leader_only` workload, which
it sends to the leader alone (--target-leader), as etcd's guide measures a single client.
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

    def total(self, scale: float) -> int:
        """Requests at `scale`; at least one per client so every client takes part."""
        return max(self.clients, round(self.base_total * scale))

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
    )
}
