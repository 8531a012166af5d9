"""check perf: etcd's write-throughput check (rate-limited 1 KiB puts for 60 s, then a verdict)."""

from __future__ import annotations

import asyncio
import random
import statistics
import time
from collections import Counter
from dataclasses import dataclass

from etcdpy.api import errors
from etcdpy.cli.etcdctl import gofmt
from etcdpy.cli.etcdctl.command import Command
from etcdpy.cli.etcdctl.commands.unimplemented import check_datascale_command
from etcdpy.cli.etcdctl.context import ClientConfig, Invocation
from etcdpy.cli.etcdctl.exits import CommandExit, ExitCode, SilentExit
from etcdpy.cli.etcdctl.flags import Flag, Kind
from etcdpy.client import AsyncClient, Client
from etcdpy.pkg import goquote


@dataclass(frozen=True)
class Load:
    limit: int  # target writes per second
    clients: int
    duration: int  # seconds


LOADS = {
    "s": Load(150, 50, 60),
    "m": Load(1000, 200, 60),
    "l": Load(8000, 500, 60),
    "xl": Load(15000, 1000, 60),
}
_ALIASES = {
    "s": "s",
    "small": "s",
    "m": "m",
    "medium": "m",
    "l": "l",
    "large": "l",
    "xl": "xl",
    "xLarge": "xl",
}
_KEY_SIZE, _VALUE_SIZE = 256, 1024
# Workers share a few connections; etcdctl opens one per worker, which only costs sockets.
_MAX_CONNECTIONS = 8


@dataclass
class Stats:
    rps: float
    slowest: float
    stddev: float
    errors: Counter[str]


def _varint_key(buf: bytearray, number: int) -> None:
    """encoding/binary.PutVarint into the front of `buf` (zig-zag, then base-128)."""
    zigzag = (number << 1) ^ (number >> 63)
    i = 0
    while zigzag >= 0x80:
        buf[i] = (zigzag & 0x7F) | 0x80
        zigzag >>= 7
        i += 1
    buf[i] = zigzag


class _ProgressBar:
    """pb.v1's counter line as etcdctl draws it when stdout is not a terminal:
    `\\r <done> / <total> <percent>% <time left>`, and the elapsed time when finished."""

    def __init__(self, inv: Invocation, total: int) -> None:
        self.inv, self.total, self.current = inv, total, 0
        self.started = time.monotonic()

    def draw(self) -> None:
        pct = 100.0 * self.current / self.total
        left = self.total - self.current
        eta = f" {left // 60:02d}m{left % 60:02d}s" if 0 < self.current < self.total else ""
        self.inv.out(f"\r {self.current} / {self.total} {pct:7.2f}%{eta}")

    def finish(self) -> None:
        self.current = self.total
        elapsed = gofmt.format_duration(round(time.monotonic() - self.started))
        self.inv.out(f"\r {self.current} / {self.total} {100.0:7.2f}% {elapsed}\n")


async def _measure(conns: list[AsyncClient], load: Load, prefix: bytes, bar: _ProgressBar) -> Stats:
    """Rate-limited puts of random keys for `load.duration` seconds, spread over the connections."""
    queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=load.clients)
    latencies: list[float] = []
    failures: Counter[str] = Counter()
    value = bytes(_VALUE_SIZE)

    async def worker(client: AsyncClient) -> None:
        while (key := await queue.get()) is not None:
            start = time.monotonic()
            try:
                await client.put(key, value)
            except errors.EtcdError as err:
                failures[err.message] += 1
            else:
                latencies.append(time.monotonic() - start)

    async def produce() -> None:
        key = bytearray(_KEY_SIZE)
        interval = 1.0 / load.limit
        deadline = time.monotonic() + load.duration
        next_at = time.monotonic()
        while next_at < deadline:
            delay = next_at - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            _varint_key(key, random.randrange(2**63 - 1))
            await queue.put(prefix + bytes(key))
            next_at = max(next_at + interval, time.monotonic() - interval)
        for _ in range(load.clients):
            await queue.put(None)

    async def tick() -> None:
        for _ in range(load.duration):
            await asyncio.sleep(1)
            bar.current += 1
            bar.draw()

    bar.draw()
    started = time.monotonic()
    ticker = asyncio.create_task(tick())
    try:
        await asyncio.gather(produce(), *(worker(conns[i % len(conns)]) for i in range(load.clients)))
        total = time.monotonic() - started
        await ticker
    finally:
        ticker.cancel()
    return Stats(
        rps=len(latencies) / total if total else 0.0,
        slowest=max(latencies, default=0.0),
        stddev=statistics.pstdev(latencies) if latencies else 0.0,
        errors=failures,
    )


async def _run_load(inv: Invocation, cfg: ClientConfig, load: Load, prefix: bytes) -> Stats:
    conns = [
        AsyncClient(cfg.endpoints, dial_timeout=cfg.dial_timeout, user=cfg.user, password=cfg.password)
        for _ in range(min(_MAX_CONNECTIONS, load.clients))
    ]
    try:
        # Connect before the clock starts, as etcdctl's clients have by then.
        await asyncio.gather(*(conn.status() for conn in conns))
        bar = _ProgressBar(inv, load.duration)
        stats = await _measure(conns, load, prefix, bar)
    finally:
        for conn in conns:
            await conn.close()
    bar.finish()
    return stats


def _after_load(inv: Invocation, client: Client, prefix: bytes) -> None:
    endpoint = client.endpoints[0]
    deleted = inv.rpc(lambda: client.delete(prefix, prefix=True, timeout=30), endpoint)
    if inv.flag("auto-compact"):
        revision = deleted.header.revision
        inv.out(f"Compacting with revision {revision}\n")
        inv.rpc(lambda: client.compact(revision, physical=True, timeout=30), endpoint)
        inv.out(f"Compacted with revision {revision}\n")
    if inv.flag("auto-defrag"):
        for ep in client.endpoints:
            inv.out(f"Defragmenting {goquote.quote(ep)}\n")
            try:
                client.defragment(ep, timeout=30)
            except errors.EtcdError as err:
                inv.log_rpc_failure(err, ep)
                raise CommandExit(ExitCode.ERROR, err.message) from None
            inv.out(f"Defragmented {goquote.quote(ep)}\n")


def _verdict(inv: Invocation, stats: Stats, load: Load) -> bool:
    ok = True
    if stats.errors:
        inv.out("FAIL: too many errors\n")
        for message, count in stats.errors.items():
            inv.out(f"FAIL: ERROR({message}) -> {count}\n")
        ok = False
    if stats.rps / load.limit <= 0.9:
        inv.out(f"FAIL: Throughput too low: {int(stats.rps) + 1} writes/s\n")
        ok = False
    else:
        inv.out(f"PASS: Throughput is {int(stats.rps) + 1} writes/s\n")
    if stats.slowest > 0.5:
        inv.out(f"Slowest request took too long: {stats.slowest:f}s\n")
        ok = False
    else:
        inv.out(f"PASS: Slowest request took {stats.slowest:f}s\n")
    if stats.stddev > 0.1:
        inv.out(f"Stddev too high: {stats.stddev:f}s\n")
        ok = False
    else:
        inv.out(f"PASS: Stddev is {stats.stddev:f}s\n")
    return ok


def _perf(inv: Invocation) -> None:
    model = _ALIASES.get(inv.flag("load"))
    if model is None:
        raise CommandExit(ExitCode.BAD_FEATURE, f"unknown load option {inv.flag('load')}")
    load = LOADS[model]
    cfg = inv.client_config()
    prefix_text: str = inv.flag("prefix")
    prefix = prefix_text.encode("utf-8", "surrogateescape")
    client = inv.client(config=cfg)
    try:
        existing = inv.rpc(
            lambda: client.get(prefix, prefix=True, limit=1, timeout=load.duration), cfg.endpoints[0]
        )
        if existing.kvs:
            raise CommandExit(
                ExitCode.INVALID_INPUT,
                f"prefix {goquote.quote(prefix_text)} has keys. "
                f"Delete with 'etcdctl del --prefix {prefix_text}' first",
            )
        stats = asyncio.run(_run_load(inv, cfg, load, prefix))
        _after_load(inv, client, prefix)
    finally:
        client.close()
    if _verdict(inv, stats, load):
        inv.out("PASS\n")
    else:
        inv.out("FAIL\n")
        raise SilentExit(ExitCode.ERROR)


def command() -> Command:
    return Command(
        "check <subcommand>",
        "commands for checking properties of the etcd cluster",
        children=[
            Command(
                "perf [options]",
                "Check the performance of the etcd cluster",
                run=_perf,
                flags=[
                    Flag(
                        "load",
                        Kind.STRING,
                        "s",
                        "The performance check's workload model. Accepted workloads: s(small), "
                        "m(medium), l(large), xl(xLarge)",
                    ),
                    Flag(
                        "prefix",
                        Kind.STRING,
                        "/etcdctl-check-perf/",
                        "The prefix for writing the performance check's keys.",
                    ),
                    Flag(
                        "auto-compact",
                        Kind.BOOL,
                        False,
                        "Compact storage with last revision after test is finished.",
                    ),
                    Flag("auto-defrag", Kind.BOOL, False, "Defragment storage after test is finished."),
                ],
            ),
            check_datascale_command(),
        ],
    )
