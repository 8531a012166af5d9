"""The lessor on a real backend with a fake clock: no test here sleeps."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from etcdpy.api import errors
from etcdpy.api.pb.mvccpb.kv_pb2 import Event
from etcdpy.lease import bucket
from etcdpy.lease.lessor import LEASE_REVOKE_RATE, MAX_LEASE_TTL, NotPrimary, min_lease_ttl
from tests.lease._fixtures import MIN_TTL, RETRY, Member, member_at


@pytest.fixture
def m(tmp_path: Path) -> Iterator[Member]:
    yield from member_at(tmp_path)


@pytest.mark.parametrize(
    ("election_ms", "heartbeat_ms", "expected"),
    [(1000, 100, 2), (1000, 300, 2), (5000, 500, 8), (100, 10, 1), (1500, 100, 3)],
)
def test_min_ttl_is_one_and_a_half_election_timeouts_in_whole_ticks(
    election_ms: int, heartbeat_ms: int, expected: int
) -> None:
    assert min_lease_ttl(election_ms, heartbeat_ms) == expected


# ---- grant ----------------------------------------------------------------------


def test_grant_raises_small_ttls_to_the_minimum(m: Member) -> None:
    assert m.lessor.grant(1, 1).ttl == MIN_TTL
    assert m.lessor.grant(2, -5).ttl == MIN_TTL
    assert m.lessor.grant(3, 0).ttl == MIN_TTL
    assert m.lessor.grant(4, 60).ttl == 60
    assert m.lessor.grant(5, MAX_LEASE_TTL).ttl == MAX_LEASE_TTL


def test_grant_errors(m: Member) -> None:
    m.lessor.grant(7, 10)
    with pytest.raises(errors.EtcdError) as e:
        m.lessor.grant(7, 10)
    assert e.value == errors.LEASE_EXIST
    with pytest.raises(errors.EtcdError) as e:
        m.lessor.grant(8, MAX_LEASE_TTL + 1)
    assert e.value == errors.LEASE_TTL_TOO_LARGE
    # The TTL is checked before existence, as etcd does.
    with pytest.raises(errors.EtcdError) as e:
        m.lessor.grant(7, MAX_LEASE_TTL + 1)
    assert e.value == errors.LEASE_TTL_TOO_LARGE
    with pytest.raises(errors.EtcdError) as e:
        m.lessor.grant(0, 10)
    assert e.value == errors.LEASE_NOT_FOUND
    assert not m.lessor.exists(8)


def test_grant_persists_negative_and_large_ids(m: Member) -> None:
    m.lessor.grant(-7, 10)
    m.lessor.grant(2**63 - 1, 20)
    m.reopen()
    assert sorted(bucket.load(m.kv.backend)) == [
        bucket.LeaseRecord(-7, 10, 0),
        bucket.LeaseRecord(2**63 - 1, 20, 0),
    ]
    assert m.lessor.exists(-7) and m.lessor.exists(2**63 - 1)


# ---- attachments ------------------------------------------------------------------


def test_puts_attach_move_and_detach_keys(m: Member) -> None:
    m.lessor.grant(1, 10)
    m.lessor.grant(2, 10)
    m.put(b"b", lease=1)
    m.put(b"a", lease=1)
    m.put(b"c", lease=2)
    assert m.lessor.keys(1) == [b"a", b"b"]
    m.put(b"a", lease=2)  # moves
    m.put(b"b")  # a put without a lease detaches
    m.delete(b"c")  # a delete detaches
    assert m.lessor.keys(1) == []
    assert m.lessor.keys(2) == [b"a"]
    m.put(b"z", lease=2)
    m.delete(b"a", b"\0")  # range deletes detach every key
    assert m.lessor.keys(2) == []


def test_tracking_is_off_without_leases(m: Member) -> None:
    assert not m.lessor.tracking
    m.lessor.grant(1, 10)
    assert m.lessor.tracking


def test_track_reads_events_without_prev_kv(m: Member) -> None:
    """Txn changes come from KVStore.events, which carry no prev_kv."""
    m.lessor.grant(1, 10)
    m.put(b"k", lease=1)
    with m.kv.write() as w:
        w.delete_range(b"k")
        w.put(b"j", b"v", 1)
        w.end(m.next_index())
    m.lessor.track(m.kv.events(m.kv.rev))
    assert m.lessor.keys(1) == [b"j"]


def test_restart_reattaches_keys(m: Member) -> None:
    m.lessor.grant(1, 10)
    m.put(b"k1", lease=1)
    m.put(b"k2", lease=1)
    m.put(b"k2")
    m.reopen()
    assert m.lessor.keys(1) == [b"k1"]


# ---- revoke -----------------------------------------------------------------------


def test_revoke_deletes_every_key_in_one_revision_in_key_order(m: Member) -> None:
    m.lessor.grant(1, 10)
    for key in (b"c", b"a", b"b"):
        m.put(key, lease=1)
    m.put(b"other")
    rev = m.kv.rev
    m.lessor.revoke(1, m.next_index())
    assert m.kv.rev == rev + 1
    events = m.kv.events(rev + 1)
    assert [(e.type, e.kv.key, e.kv.mod_revision) for e in events] == [
        (Event.DELETE, key, rev + 1) for key in (b"a", b"b", b"c")
    ]
    assert m.keys() == [b"other"]
    assert not m.lessor.exists(1)
    assert m.kv.consistent_index == m.index
    m.reopen()
    assert not m.lessor.exists(1)
    assert m.keys() == [b"other"]


def test_revoke_without_keys_makes_no_revision(m: Member) -> None:
    m.lessor.grant(1, 10)
    rev = m.kv.rev
    index = m.next_index()
    m.lessor.revoke(1, index)
    assert m.kv.rev == rev
    assert m.kv.consistent_index == index


def test_revoke_unknown_lease(m: Member) -> None:
    with pytest.raises(errors.EtcdError) as e:
        m.lessor.revoke(5, m.next_index())
    assert e.value == errors.LEASE_NOT_FOUND


def test_replayed_revoke_after_a_crash_between_its_writes_deletes_the_keys(m: Member) -> None:
    """The lease left the bucket but the keys did not go: on restart the keys are orphans, and
    the revoke, replayed from the log, deletes them."""
    m.lessor.grant(1, 10)
    m.put(b"a", lease=1)
    m.put(b"b", lease=1)
    bucket.delete(m.kv.backend, 1)  # the revoke's first write, then the crash
    m.reopen()
    assert not m.lessor.exists(1)
    assert m.lessor.tracking
    rev = m.kv.rev
    m.lessor.revoke(1, m.next_index())
    assert m.keys() == []
    assert m.kv.rev == rev + 1
    assert not m.lessor.tracking
    with pytest.raises(errors.EtcdError):
        m.lessor.revoke(1, m.next_index())


# ---- expiry -------------------------------------------------------------------------


def test_nothing_expires_before_promotion(m: Member) -> None:
    m.lessor.grant(1, 5)
    m.clock.advance(1000)
    assert m.lessor.expired(10) == []
    assert m.lessor.next_due() is None


def test_promotion_gives_every_lease_extend_plus_its_ttl(m: Member) -> None:
    m.lessor.grant(1, 5)
    m.lessor.grant(2, 10)
    m.lessor.promote(1.0)
    m.clock.advance(5.99)
    assert m.lessor.expired(10) == []
    assert m.lessor.next_due() == pytest.approx(m.clock.now + 0.01)
    m.clock.advance(0.01)
    assert m.lessor.expired(10) == [1]
    m.clock.advance(5)
    assert m.lessor.expired(10) == [2]


def test_grant_on_primary_expires_after_ttl(m: Member) -> None:
    m.lessor.promote(1.0)
    m.lessor.grant(1, 3)
    m.clock.advance(2.9)
    assert m.lessor.expired(10) == []
    m.clock.advance(0.1)
    assert m.lessor.expired(10) == [1]


def test_expired_lease_is_reported_again_after_the_retry_interval(m: Member) -> None:
    m.lessor.promote(0)
    m.lessor.grant(1, 3)
    m.clock.advance(3)
    assert m.lessor.expired(10) == [1]
    assert m.lessor.expired(10) == []
    m.clock.advance(RETRY)
    assert m.lessor.expired(10) == [1]
    m.lessor.revoke(1, m.next_index())
    m.clock.advance(RETRY)
    assert m.lessor.expired(10) == []


def test_expired_respects_the_limit_oldest_first(m: Member) -> None:
    m.lessor.promote(0)
    for i in range(1, 6):
        m.lessor.grant(i, 2 + i)
    m.clock.advance(100)
    assert m.lessor.expired(3) == [1, 2, 3]
    assert m.lessor.expired(3) == [4, 5]


def test_restart_resets_expiry_to_a_full_ttl(m: Member) -> None:
    m.lessor.promote(0)
    m.lessor.grant(1, 10)
    m.clock.advance(9)
    m.reopen()
    m.lessor.promote(1.0)
    assert m.lessor.time_to_live(1, False).TTL == 11
    m.clock.advance(10.5)
    assert m.lessor.expired(10) == []
    m.clock.advance(0.5)
    assert m.lessor.expired(10) == [1]


def test_checkpointed_remaining_ttl_sets_the_expiry_after_promotion(m: Member) -> None:
    m.lessor.grant(1, 100)
    m.lessor.checkpoint(1, 20)
    m.lessor.checkpoint(99, 20)  # unknown: ignored
    m.lessor.promote(0)
    m.clock.advance(20)
    assert m.lessor.expired(10) == [1]


def test_demote_stops_expiry(m: Member) -> None:
    m.lessor.promote(0)
    m.lessor.grant(1, 3)
    m.lessor.demote()
    m.clock.advance(100)
    assert m.lessor.expired(10) == []
    assert m.lessor.time_to_live(1, False).TTL == 9223372036


def test_promotion_spreads_piled_up_expiries_below_the_revoke_rate(m: Member) -> None:
    n = 2 * LEASE_REVOKE_RATE
    for i in range(1, n + 1):
        m.lessor.grant(i, 10)
    m.lessor.promote(1.0)
    remaining = sorted(lease.remaining(m.clock.now) for lease in m.lessor.leases())
    allowance = 3 * LEASE_REVOKE_RATE // 4
    assert remaining[allowance - 1] == pytest.approx(11.0)
    assert remaining[allowance] > 11.0
    assert remaining[-1] == pytest.approx(11.0 + n / allowance)
    # No one-second window holds more than the allowance (plus rounding at its edge).
    for start in remaining:
        in_window = sum(1 for r in remaining if start <= r < start + 1.0)
        assert in_window <= allowance + 1


# ---- renew, time to live, list --------------------------------------------------------


def test_renew_restarts_the_ttl(m: Member) -> None:
    m.lessor.promote(0)
    m.lessor.grant(1, 10)
    m.clock.advance(8)
    assert asyncio.run(m.lessor.renew(1)) == 10
    m.clock.advance(9.9)
    assert m.lessor.expired(10) == []
    m.clock.advance(0.1)
    assert m.lessor.expired(10) == [1]


def test_renew_unknown_lease(m: Member) -> None:
    m.lessor.promote(0)
    with pytest.raises(errors.EtcdError) as e:
        asyncio.run(m.lessor.renew(3))
    assert e.value == errors.LEASE_NOT_FOUND


def test_renew_on_a_non_primary(m: Member) -> None:
    m.lessor.grant(1, 10)
    with pytest.raises(NotPrimary):
        asyncio.run(m.lessor.renew(1))


def test_renew_of_an_expired_lease_waits_for_its_revocation(m: Member) -> None:
    m.lessor.promote(0)
    m.lessor.grant(1, 3)
    m.clock.advance(3)

    async def scenario() -> None:
        renewal = asyncio.create_task(m.lessor.renew(1))
        second = asyncio.create_task(m.lessor.renew(1))
        await asyncio.sleep(0)
        assert not renewal.done()
        m.lessor.revoke(1, m.next_index())
        for task in (renewal, second):
            with pytest.raises(errors.EtcdError) as e:
                await task
            assert e.value == errors.LEASE_NOT_FOUND

    asyncio.run(scenario())


def test_demote_fails_renewals_waiting_on_expired_leases(m: Member) -> None:
    m.lessor.promote(0)
    m.lessor.grant(1, 3)
    m.clock.advance(3)

    async def scenario() -> None:
        renewal = asyncio.create_task(m.lessor.renew(1))
        await asyncio.sleep(0)
        m.lessor.demote()
        with pytest.raises(NotPrimary):
            await renewal

    asyncio.run(scenario())


def test_time_to_live_truncates_and_lists_keys_sorted(m: Member) -> None:
    m.lessor.promote(0)
    m.lessor.grant(1, 10)
    m.put(b"y", lease=1)
    m.put(b"x", lease=1)
    resp = m.lessor.time_to_live(1, True)
    assert (resp.ID, resp.TTL, resp.grantedTTL, list(resp.keys)) == (1, 10, 10, [b"x", b"y"])
    m.clock.advance(0.5)
    assert m.lessor.time_to_live(1, False).TTL == 9
    assert list(m.lessor.time_to_live(1, False).keys) == []
    m.clock.advance(10.7)  # expired, not yet revoked: Go truncates towards zero
    assert m.lessor.time_to_live(1, False).TTL == -1
    with pytest.raises(errors.EtcdError) as e:
        m.lessor.time_to_live(2, True)
    assert e.value == errors.LEASE_NOT_FOUND


def test_leases_are_listed_soonest_expiry_first(m: Member) -> None:
    m.lessor.promote(0)
    m.lessor.grant(1, 30)
    m.lessor.grant(2, 10)
    m.lessor.grant(3, 20)
    m.clock.advance(1)
    m.lessor.grant(4, 10)
    assert [lease.id for lease in m.lessor.leases()] == [2, 4, 3, 1]
