from __future__ import annotations

from etcdpy.lease.ids import hex_id, next_lease_id
from etcdpy.pkg.idutil import IDGenerator


def test_ids_carry_the_member_prefix_and_the_clock() -> None:
    # Observed from etcd 3.5.1: member 65fac1a18dba2ea0 granted 2ea0a213b89c7305, its fifth ID
    # (requests and leases share the generator).
    gen = IDGenerator(0x65FAC1A18DBA2EA0, 0x1A213B89C73)
    assert [next_lease_id(gen) for _ in range(5)][-1] == 0x2EA0A213B89C7305


def test_members_never_share_ids_even_started_in_the_same_millisecond() -> None:
    now = 1_800_000_000_000
    a, b = IDGenerator(0x1111000000000001, now), IDGenerator(0x2222000000000002, now)
    assert not {a.next() for _ in range(1000)} & {b.next() for _ in range(1000)}


def test_lease_ids_are_positive_unique_and_never_zero() -> None:
    gen = IDGenerator(0xFFFF, (1 << 40) - 1)  # high prefix bit set; the counter about to wrap
    ids = [next_lease_id(gen) for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert all(0 < i < 2**63 for i in ids)
    # With a zero prefix the wrapped counter would give ID 0: it is skipped.
    gen = IDGenerator(0, (1 << 40) - 1)
    ids = [next_lease_id(gen) for _ in range(256)]
    assert ids[-2:] == [(1 << 48) - 1, 1]


def test_hex_id_prints_twos_complement() -> None:
    assert hex_id(1000) == "00000000000003e8"
    assert hex_id(-7) == "fffffffffffffff9"
