"""Deadlines on awaits that never lose a cancellation.

Python 3.11's `asyncio.wait_for` returns the result when the awaited operation completes in the
same loop iteration as the caller is cancelled, and the cancellation is lost (bpo-42130). A
task cancelled that way keeps running: a stopping member's peer stream once went on redialling
forever while `stop()` waited for it. `wait_for` here runs the awaitable under `asyncio.timeout`,
which lets an outside cancellation through in every case.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def wait_for(aw: Awaitable[T], seconds: float | None) -> T:
    """Await `aw`; raise TimeoutError after `seconds` (None: no deadline)."""
    async with asyncio.timeout(seconds):
        return await aw
