"""A member running in this process, on an event loop thread, so a test can look at its state."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import TypeVar

from etcdpy.embed.etcd import Etcd
from etcdpy.server.config import build_config
from tests.servers import free_port

T = TypeVar("T")


class InProcessMember:
    def __init__(self, etcd: Etcd, loop: asyncio.AbstractEventLoop, port: int) -> None:
        self.etcd = etcd
        self.loop = loop
        self.endpoint = f"127.0.0.1:{port}"

    def call(self, fn: Callable[[], T]) -> T:
        """fn() on the member's event loop thread (where its state may be read)."""
        fut: Future[T] = Future()

        def run() -> None:
            try:
                fut.set_result(fn())
            except BaseException as e:
                fut.set_exception(e)

        self.loop.call_soon_threadsafe(run)
        return fut.result(timeout=10)


@contextlib.contextmanager
def in_process(tmp_path: Path, **flags: str) -> Iterator[InProcessMember]:
    client, peer = free_port(), free_port()
    cfg = build_config(
        {
            "data-dir": str(tmp_path / "inproc.etcd"),
            "listen-client-urls": f"http://127.0.0.1:{client}",
            "advertise-client-urls": f"http://127.0.0.1:{client}",
            "listen-peer-urls": f"http://127.0.0.1:{peer}",
            "initial-advertise-peer-urls": f"http://127.0.0.1:{peer}",
            "initial-cluster": f"default=http://127.0.0.1:{peer}",
            **flags,
        }
    )
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="member-loop", daemon=True)
    thread.start()
    etcd = asyncio.run_coroutine_threadsafe(Etcd.start(cfg), loop).result(timeout=30)
    try:
        yield InProcessMember(etcd, loop, client)
    finally:
        asyncio.run_coroutine_threadsafe(etcd.stop(), loop).result(timeout=30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
