"""Clean-up requests that must finish even though the request that started them was canceled."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from etcdpy.pkg import zaplog

log = zaplog.get("concurrency")
# Strong references: the event loop keeps only weak ones to running tasks.
_running: set[asyncio.Task[Any]] = set()


def run_detached(coro: Coroutine[Any, Any, Any]) -> None:
    """Run `coro` to the end on its own; a failure is logged, not raised."""
    task = asyncio.get_running_loop().create_task(coro)
    _running.add(task)
    task.add_done_callback(_finished)


def _finished(task: asyncio.Task[Any]) -> None:
    _running.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.warning("clean-up request failed", error=str(task.exception()))
