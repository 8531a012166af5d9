"""The set of asyncio tasks a transport runs, so that stopping it leaves none behind."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any

from etcdpy.pkg import zaplog

log = zaplog.get("rafthttp")


class TaskSet:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coro: Coroutine[Any, Any, None], name: str) -> asyncio.Task[None]:
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self.adopt(task)
        return task

    def adopt(self, task: asyncio.Task[Any]) -> None:
        """Track a task created elsewhere (a connection handler started by asyncio's server)."""
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("transport task failed", task=task.get_name(), error=task.exception())

    async def cancel_all(self) -> None:
        while self._tasks:
            tasks = list(self._tasks)
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
