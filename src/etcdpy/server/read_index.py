"""Linearizable reads by ReadIndex, batched (etcd's linearizableReadLoop).

A read waits in `barrier()`. One loop serves all waiting reads with a single ReadIndex request:
raft answers with the leader's commit index as of a moment after every waiting read began (the
leader confirmed its leadership with a heartbeat round); once this member has applied up to that
index, each of those reads sees every write acknowledged before it started. Reads that arrive
meanwhile wait for the next round. A request unanswered after RETRY_SECONDS (no leader, a lost
message) is sent again; a batch unanswered after its deadline fails with etcd's timeout.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Awaitable, Callable
from typing import Final

from etcdpy.api import errors
from etcdpy.pkg import timeouts

RETRY_SECONDS: Final = 0.5


class LinearizableReads:
    def __init__(self, request: Callable[[bytes], None], wait_applied: Callable[[int], Awaitable[None]],
                 timeout: float) -> None:
        """`request(ctx)` asks raft for a read index tagged `ctx`; its answer comes to `answered`."""
        self._request = request
        self._wait_applied = wait_applied
        self._timeout = timeout
        self._waiting: list[asyncio.Future[None]] = []
        self._wake = asyncio.Event()
        self._pending: dict[bytes, asyncio.Future[int]] = {}
        self._ids = itertools.count(1)

    async def barrier(self) -> None:
        """Return once a read made now is linearizable; errors.TIMEOUT if that cannot be known in time."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(fut)
        self._wake.set()
        await fut

    def answered(self, ctx: bytes, index: int) -> None:
        """Raft's ReadState for `ctx`."""
        fut = self._pending.pop(ctx, None)
        if fut is not None and not fut.done():
            fut.set_result(index)

    async def run(self) -> None:
        """Serve rounds until cancelled."""
        loop = asyncio.get_running_loop()
        while True:
            await self._wake.wait()
            self._wake.clear()
            batch, self._waiting = self._waiting, []
            if not batch:
                continue
            try:
                index = await self._read_index(loop.time() + self._timeout)
                await self._wait_applied(index)
            except errors.EtcdError as e:
                for fut in batch:
                    if not fut.done():
                        fut.set_exception(e)
                continue
            for fut in batch:
                if not fut.done():
                    fut.set_result(None)

    async def _read_index(self, deadline: float) -> int:
        loop = asyncio.get_running_loop()
        while True:
            ctx = next(self._ids).to_bytes(8, "big")
            answer: asyncio.Future[int] = loop.create_future()
            self._pending[ctx] = answer
            self._request(ctx)
            wait = min(RETRY_SECONDS, deadline - loop.time())
            try:
                return await timeouts.wait_for(answer, max(wait, 0.0))
            except TimeoutError:
                self._pending.pop(ctx, None)
                if loop.time() >= deadline:
                    raise errors.TIMEOUT from None
