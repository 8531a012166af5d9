"""The leader's expiry loop: revoke every lease whose time is up."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

from etcdpy.lease.ids import hex_id
from etcdpy.lease.lessor import LEASE_REVOKE_RATE, Lessor
from etcdpy.pkg import zaplog

log = zaplog.get("lessor")

# Revocations in flight at once.
MAX_PENDING_REVOKES = 16
# The loop looks at least this often, and reports at most LEASE_REVOKE_RATE leases per second.
CHECK_INTERVAL = 0.5
_BATCH = int(LEASE_REVOKE_RATE * CHECK_INTERVAL)
# Shortest sleep, so that a due time a hair in the future cannot make the loop spin.
_MIN_SLEEP = 0.001


async def run_expiry(lessor: Lessor, revoke: Callable[[int], Awaitable[object]]) -> None:
    """Until cancelled: find expired leases and `revoke` each (a LeaseRevoke proposal).

    Sleeps until the next lease is due, at most CHECK_INTERVAL. A failed revocation
    is logged; the lessor reports the lease again after its retry interval.
    """
    slots = asyncio.Semaphore(MAX_PENDING_REVOKES)
    pending: set[asyncio.Task[None]] = set()

    async def revoke_one(lease_id: int) -> None:
        try:
            await revoke(lease_id)
        except Exception as e:
            log.warning("failed to revoke lease", **{"lease-id": hex_id(lease_id)}, error=str(e))
        finally:
            slots.release()

    try:
        while True:
            expired = lessor.expired(_BATCH) if lessor.primary else []
            for lease_id in expired:
                await slots.acquire()
                task = asyncio.create_task(revoke_one(lease_id), name=f"revoke-lease-{lease_id:x}")
                pending.add(task)
                task.add_done_callback(pending.discard)
            delay = CHECK_INTERVAL
            due = lessor.next_due()
            if due is not None and len(expired) < _BATCH:
                delay = min(delay, max(due - lessor.clock(), _MIN_SLEEP))
            await asyncio.sleep(delay)
    finally:
        for task in pending:
            task.cancel()
        for task in list(pending):
            with contextlib.suppress(asyncio.CancelledError):
                await task
