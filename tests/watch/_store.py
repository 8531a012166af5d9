"""Helpers for the watchable-store unit tests: a store on a temporary backend, writes, reading a stream."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from etcdpy.mvcc.kvstore import KVStore
from etcdpy.mvcc.watch_stream import WatchStream
from etcdpy.mvcc.watchable_store import WatchableStore
from etcdpy.mvcc.watcher import WatchResponse
from etcdpy.pkg import timeouts
from etcdpy.storage.backend import Backend


@contextlib.asynccontextmanager
async def watchable(tmp_path: Path) -> AsyncIterator[WatchableStore]:
    """A running WatchableStore on a fresh KVStore (revision 1)."""
    backend = Backend(str(tmp_path / "db"), map_size=1 << 30)
    store = WatchableStore(KVStore(backend))
    store.start()
    try:
        yield store
    finally:
        await store.stop()
        backend.close()


def put(kv: KVStore, *pairs: tuple[bytes, bytes]) -> int:
    """Put every (key, value) in one revision; returns it."""
    with kv.write() as w:
        for key, value in pairs:
            w.put(key, value)
        w.end()
    return kv.rev


def delete(kv: KVStore, key: bytes, end: bytes = b"") -> int:
    with kv.write() as w:
        w.delete_range(key, end)
        w.end()
    return kv.rev


async def take(stream: WatchStream, timeout: float = 2.0) -> WatchResponse:
    return await timeouts.wait_for(stream.get(), timeout)


async def queued(stream: WatchStream, settle: float = 0.05) -> list[WatchResponse]:
    """Every response the stream yields until none comes for `settle` seconds."""
    out = []
    while True:
        try:
            out.append(await timeouts.wait_for(stream.get(), settle))
        except TimeoutError:
            return out


async def until(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        await asyncio.sleep(0.005)
