"""Micro-benchmark: the gRPC relay's cost, put through etcd's `benchmark` tool.

Runs bench/noop_server.py twice over: listening on TCP and hit directly, and
listening on a unix socket behind a ClientListener (uvloop) that the tool
hits instead. Rounds alternate so background load spreads over both.

    PYTHONPATH=src python tests/gateway/bench_relay.py [--rounds 3] [--total 20000]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BENCHMARK = "/opt/etcd-bench/bin/benchmark"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, deadline: float = 15.0) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {port}")


def wait_path(path: str, deadline: float = 15.0) -> None:
    end = time.monotonic() + deadline
    while not os.path.exists(path):
        if time.monotonic() > end:
            raise TimeoutError(f"no socket at {path}")
        time.sleep(0.05)


@contextlib.contextmanager
def process(*args: str) -> Iterator[subprocess.Popen[bytes]]:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def serve_listener(port: int, upstream: str) -> None:
    import uvloop

    from etcdpy.api.gateway import ClientListener

    async def main() -> None:
        listener = ClientListener("127.0.0.1", port, upstream)
        await listener.start()
        await asyncio.Event().wait()

    uvloop.run(main())


def run_benchmark(port: int, total: int) -> float:
    out = subprocess.run(
        [
            BENCHMARK,
            f"--endpoints=127.0.0.1:{port}",
            "--conns=100",
            "--clients=1000",
            "put",
            "--key-size=8",
            "--sequential-keys",
            f"--total={total}",
            "--val-size=256",
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    ).stdout
    m = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    if m is None:
        raise RuntimeError(f"no Requests/sec in benchmark output:\n{out}")
    return float(m.group(1))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--total", type=int, default=20000)
    p.add_argument("--serve-listener", nargs=2, metavar=("PORT", "UPSTREAM"), help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.serve_listener:
        serve_listener(int(args.serve_listener[0]), args.serve_listener[1])
        return
    noop = str(REPO / "bench" / "noop_server.py")
    direct, relayed = [], []
    with tempfile.TemporaryDirectory() as tmp:
        sock = os.path.join(tmp, "noop.sock")
        direct_port, relay_port = free_port(), free_port()
        with (
            process(sys.executable, noop, "--listen", f"127.0.0.1:{direct_port}"),
            process(sys.executable, noop, "--listen", f"unix:{sock}"),
            process(sys.executable, __file__, "--serve-listener", str(relay_port), f"unix:{sock}"),
        ):
            wait_port(direct_port)
            wait_path(sock)
            wait_port(relay_port)
            run_benchmark(direct_port, 2000)  # warm both paths up
            run_benchmark(relay_port, 2000)
            for _ in range(args.rounds):
                direct.append(run_benchmark(direct_port, args.total))
                relayed.append(run_benchmark(relay_port, args.total))
    best_direct, best_relayed = max(direct), max(relayed)
    print("direct  req/s:", " ".join(f"{x:.0f}" for x in direct))
    print("relayed req/s:", " ".join(f"{x:.0f}" for x in relayed))
    print(f"best relayed / best direct = {best_relayed / best_direct:.1%}")


if __name__ == "__main__":
    main()
