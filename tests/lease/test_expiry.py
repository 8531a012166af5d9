"""The expiry loop against a lessor on a fake clock (its sleeps are real but at most 0.5 s)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from etcdpy.lease import expiry
from etcdpy.lease.expiry import MAX_PENDING_REVOKES, run_expiry
from tests.lease._fixtures import RETRY, Member, member_at


@pytest.fixture
def m(tmp_path: Path) -> Iterator[Member]:
    yield from member_at(tmp_path)


async def wait_for(cond: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


def test_expired_leases_are_revoked_and_live_ones_kept(m: Member) -> None:
    m.lessor.promote(0)
    for lease_id, ttl in ((1, 5), (2, 5), (3, 60)):
        m.lessor.grant(lease_id, ttl)
    m.put(b"k", lease=1)
    m.clock.advance(5)
    revoked: list[int] = []

    async def revoke(lease_id: int) -> None:
        revoked.append(lease_id)
        m.lessor.revoke(lease_id, m.next_index())

    async def scenario() -> None:
        task = asyncio.create_task(run_expiry(m.lessor, revoke))
        try:
            await wait_for(lambda: len(revoked) == 2)
            await asyncio.sleep(0.05)
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(scenario())
    assert sorted(revoked) == [1, 2]
    assert m.keys() == []
    assert [lease.id for lease in m.lessor.leases()] == [3]


def test_a_failed_revocation_is_retried_after_the_retry_interval(m: Member) -> None:
    m.lessor.promote(0)
    m.lessor.grant(1, 5)
    m.clock.advance(5)
    attempts: list[int] = []

    async def revoke(lease_id: int) -> None:
        attempts.append(lease_id)
        if len(attempts) == 1:
            raise RuntimeError("proposal failed")
        m.lessor.revoke(lease_id, m.next_index())

    async def scenario() -> None:
        task = asyncio.create_task(run_expiry(m.lessor, revoke))
        try:
            await wait_for(lambda: len(attempts) == 1)
            await asyncio.sleep(0.1)
            assert attempts == [1]  # not retried before the interval
            m.clock.advance(RETRY)
            await wait_for(lambda: len(attempts) == 2)
        finally:
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task

    asyncio.run(scenario())
    assert not m.lessor.exists(1)


def test_revocations_in_flight_are_bounded_and_cancelled_with_the_loop(
    m: Member, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(expiry, "_BATCH", 100)
    m.lessor.promote(0)
    for lease_id in range(1, 41):
        m.lessor.grant(lease_id, 5)
    m.clock.advance(5)
    in_flight = 0
    peak = 0
    cancelled = 0

    async def revoke(lease_id: int) -> None:
        nonlocal in_flight, peak, cancelled
        in_flight += 1
        peak = max(peak, in_flight)
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled += 1
            raise
        finally:
            in_flight -= 1

    async def scenario() -> None:
        task = asyncio.create_task(run_expiry(m.lessor, revoke))
        await wait_for(lambda: in_flight == MAX_PENDING_REVOKES)
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert peak == MAX_PENDING_REVOKES
    assert cancelled == MAX_PENDING_REVOKES
    assert in_flight == 0


def test_non_primary_revokes_nothing(m: Member) -> None:
    m.lessor.grant(1, 5)
    m.clock.advance(100)
    revoked: list[int] = []

    async def revoke(lease_id: int) -> None:
        revoked.append(lease_id)

    async def scenario() -> None:
        task = asyncio.create_task(run_expiry(m.lessor, revoke))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(scenario())
    assert revoked == []
