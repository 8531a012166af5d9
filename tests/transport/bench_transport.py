"""Throughput of a loopback transport pair (not collected by pytest).

Member 1 streams messages to member 2, which acknowledges every ACK_EVERY messages with a
MsgAppResp carrying its running count; the sender keeps at most WINDOW messages unacknowledged
(as Raft's inflight limit would), sending in bursts of BURST messages per loop iteration (one
send() per burst, as one Ready's messages). Reported: frames/s and MB/s of encoded messages.

Run: PYTHONPATH=src python -m tests.transport.bench_transport [--loop uvloop] [--split] [--seconds 3]
--split runs the receiver in a child process (a core each), instead of both in one event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any

from etcdpy.raft import raftpb
from etcdpy.server.membership import Member
from etcdpy.server.transport import Transport, TransportConfig
from etcdpy.server.transport.codec import encode_message
from tests.transport._harness import listening_socket

ACK_EVERY = 64
WINDOW = 2048  # messages
WINDOW_BYTES = 16 << 20  # and bytes: well inside the transport's per-peer queue bound
BURST = 64
SNAPSHOT_MIB = 128
CLUSTER = 0xBE7C4


class _Counter:
    """Member 2's handler: counts and acknowledges."""

    def __init__(self) -> None:
        self.transport: Transport | None = None
        self.count = 0
        self.snapshot_ok: bool | None = None

    def on_message(self, msg: raftpb.Message) -> None:
        self.count += 1
        if self.count % ACK_EVERY == 0 and self.transport is not None:
            ack = raftpb.Message(raftpb.MessageType.MsgAppResp, 1, 2, term=1, index=self.count)
            self.transport.send([ack])

    def on_snapshot(self, msg: raftpb.Message, path: Path) -> None:
        path.unlink()

    def report_unreachable(self, peer_id: int) -> None: ...
    def report_snapshot(self, peer_id: int, ok: bool) -> None:
        self.snapshot_ok = ok

    def report_removed(self, peer_id: int) -> None: ...
    def is_removed(self, member_id: int) -> bool:
        return False

    def members(self) -> Sequence[Member]:
        return []

    def cluster_version(self) -> str | None:
        return None


class _Sender(_Counter):
    """Member 1's handler: remembers the highest acknowledged count."""

    def __init__(self) -> None:
        super().__init__()
        self.acked = 0
        self.wake = asyncio.Event()

    def on_message(self, msg: raftpb.Message) -> None:
        self.acked = max(self.acked, msg.index)
        self.wake.set()


def _scenarios() -> list[tuple[str, Callable[[int], raftpb.Message]]]:
    def heartbeat(i: int) -> raftpb.Message:
        return raftpb.Message(raftpb.MessageType.MsgHeartbeat, 2, 1, term=1, commit=i)

    def app(n: int, size: int) -> Callable[[int], raftpb.Message]:
        data = b"x" * size

        def make(i: int) -> raftpb.Message:
            entries = tuple(raftpb.Entry(1, i * n + k + 1, raftpb.EntryType.NORMAL, data) for k in range(n))
            return raftpb.Message(
                raftpb.MessageType.MsgApp,
                2,
                1,
                term=1,
                log_term=1,
                index=i * n,
                entries=entries,
                commit=i * n,
            )

        return make

    return [
        ("MsgHeartbeat (no entries)", heartbeat),
        ("MsgApp, 1 entry of 256 B", app(1, 256)),
        ("MsgApp, 10 entries of 256 B", app(10, 256)),
        ("MsgApp, 4 entries of 64 KiB", app(4, 64 * 1024)),
    ]


async def _run_sender(sender: _Sender, t1: Transport, seconds: float) -> None:
    for name, make in _scenarios():
        # Messages are built before timing: the numbers are the transport's cost, not the dataclasses'.
        pool = [make(i) for i in range(BURST * 8)]
        size = sum(len(encode_message(m)) for m in pool) / len(pool)
        stats = t1.stats(2)
        assert stats is not None
        base_sent, base_writes, base_drop = stats.sent_messages, stats.sent_writes, stats.dropped_messages
        window = max(ACK_EVERY + BURST, min(WINDOW, int(WINDOW_BYTES / size)))
        sent = 0
        start = time.perf_counter()
        deadline = start + seconds
        while time.perf_counter() < deadline:
            while sent - (sender.acked - base_sent) > window - BURST:
                sender.wake.clear()
                await sender.wake.wait()
            offset = (sent // BURST) % 8 * BURST
            t1.send(pool[offset : offset + BURST])
            sent += BURST
            await asyncio.sleep(0)
        # Acknowledgements come at multiples of ACK_EVERY of the receiver's running count.
        while sender.acked < (base_sent + sent) // ACK_EVERY * ACK_EVERY:
            sender.wake.clear()
            await sender.wake.wait()
        elapsed = time.perf_counter() - start
        delivered = sender.acked - base_sent
        writes = stats.sent_writes - base_writes
        print(
            f"{name:<30} {delivered / elapsed:>10,.0f} frames/s {delivered * size / elapsed / 1e6:>8.1f} MB/s"
            f"   ({size:,.0f} B/frame, {delivered / max(writes, 1):.1f} frames/write,"
            f" {stats.dropped_messages - base_drop} dropped)"
        )
        await asyncio.sleep(0.2)  # let the last messages land before the next scenario's counters are read
    await _run_snapshot(sender, t1)


async def _run_snapshot(sender: _Sender, t1: Transport) -> None:
    with tempfile.NamedTemporaryFile() as db:
        for _ in range(SNAPSHOT_MIB):
            db.write(os.urandom(1 << 20))
        db.flush()
        meta = raftpb.SnapshotMeta(index=1, term=1, conf_state=raftpb.ConfState(voters=(1, 2)))
        msg = raftpb.Message(raftpb.MessageType.MsgSnap, 2, 1, term=1, snapshot=raftpb.Snapshot(b"", meta))
        start = time.perf_counter()
        t1.send_snapshot(msg, lambda: open(db.name, "rb"))  # noqa: SIM115 (the transport closes it)
        while sender.snapshot_ok is None:
            await asyncio.sleep(0.005)
        elapsed = time.perf_counter() - start
        rate = SNAPSHOT_MIB * (1 << 20) / elapsed / 1e6
        name = f"snapshot of {SNAPSHOT_MIB} MiB"
        print(f"{name:<30} {rate:>28.1f} MB/s   (ok={sender.snapshot_ok}; hashed, written, fsync'd)")


def _config() -> TransportConfig:
    return TransportConfig(max_frame_bytes=4 << 20, backoff_min=0.01, backoff_max=0.1)


async def _pair(seconds: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        s1, s2 = listening_socket(), listening_socket()
        sender, counter = _Sender(), _Counter()
        t1 = Transport(1, CLUSTER, sender, Path(tmp), _config())
        t2 = Transport(2, CLUSTER, counter, Path(tmp), _config())
        counter.transport = t2
        t1.add_peer(2, [f"http://127.0.0.1:{s2.getsockname()[1]}"])
        t2.add_peer(1, [f"http://127.0.0.1:{s1.getsockname()[1]}"])
        t1.start([s1])
        t2.start([s2])
        while not (t1.active_since(2) and t2.active_since(1)):
            await asyncio.sleep(0.01)
        try:
            await _run_sender(sender, t1, seconds)
        finally:
            await t1.stop()
            await t2.stop()


async def _split(seconds: float, loop: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        s1 = listening_socket()
        probe = listening_socket()
        port2 = probe.getsockname()[1]
        probe.close()
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.transport.bench_transport",
                "--loop",
                loop,
                "--serve",
                str(port2),
                str(s1.getsockname()[1]),
            ],
            stdin=subprocess.PIPE,
        )
        sender = _Sender()
        t1 = Transport(1, CLUSTER, sender, Path(tmp), _config())
        t1.add_peer(2, [f"http://127.0.0.1:{port2}"])
        t1.start([s1])
        try:
            while not t1.active_since(2):
                await asyncio.sleep(0.01)
            await _run_sender(sender, t1, seconds)
        finally:
            await t1.stop()
            assert child.stdin is not None
            child.stdin.close()
            child.wait(timeout=10)


async def _serve(port: int, peer_port: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        counter = _Counter()
        t2 = Transport(2, CLUSTER, counter, Path(tmp), _config())
        counter.transport = t2
        t2.add_peer(1, [f"http://127.0.0.1:{peer_port}"])
        t2.start([listening_socket(port)])
        try:
            await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)  # until the parent is done
        finally:
            await t2.stop()


def _run(coro: Coroutine[Any, Any, None], loop: str) -> None:
    if loop == "uvloop":
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(coro)
    else:
        asyncio.run(coro)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--loop", choices=("asyncio", "uvloop"), default="asyncio")
    ap.add_argument("--split", action="store_true")
    ap.add_argument("--seconds", type=float, default=3.0)
    ap.add_argument("--serve", nargs=2, type=int, metavar=("PORT", "PEER_PORT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    logging.getLogger("etcdpy").setLevel(logging.ERROR)  # peers coming and going are expected here
    if args.serve:
        _run(_serve(*args.serve), args.loop)
        return
    mode = "receiver in a child process" if args.split else "both members in one event loop"
    print(f"loopback pair, {args.loop}, {mode}, {args.seconds:g}s per scenario")
    _run(_split(args.seconds, args.loop) if args.split else _pair(args.seconds), args.loop)


if __name__ == "__main__":
    main()
