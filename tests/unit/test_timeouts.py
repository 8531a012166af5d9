"""etcdpy.pkg.timeouts.wait_for: deadlines that never swallow a cancellation."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from etcdpy.pkg import timeouts

WaitFor = Callable[[Awaitable[Any], float], Awaitable[Any]]


async def _cancel_as_result_arrives(wait_for: WaitFor) -> asyncio.Task[Any]:
    """Cancel a task waiting under a deadline in the same loop iteration as its result arrives."""
    fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
    task = asyncio.ensure_future(wait_for(fut, 10))
    for _ in range(3):  # let the task (and any helper task) start waiting on `fut`
        await asyncio.sleep(0)
    fut.set_result(1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    return task


def test_cancellation_wins_over_a_result_of_the_same_iteration() -> None:
    task = asyncio.run(_cancel_as_result_arrives(timeouts.wait_for))
    assert task.cancelled()


def test_deadline_raises_timeout_error() -> None:
    async def main() -> None:
        never: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        with pytest.raises(TimeoutError):
            await timeouts.wait_for(never, 0.01)

    asyncio.run(main())


def test_result_within_deadline() -> None:
    async def main() -> int:
        return await timeouts.wait_for(asyncio.sleep(0, 7), 1)

    assert asyncio.run(main()) == 7
