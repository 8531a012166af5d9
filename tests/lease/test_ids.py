from __future__ import annotations

from etcdpy.lease.ids import LeaseIDGenerator, hex_id


def test_ids_carry_the_member_prefix_and_the_clock() -> None:
    # Observed from etcd 3.5.1: member 65fac1a18dba2ea0 granted 2ea0a213b89c7305 (its fifth ID).
    gen = LeaseIDGenerator(0x65FAC1A18DBA2EA0, 0x1A213B89C73)
    assert [gen.next() for _ in range(5)][-1] == 0x2EA0A213B89C7305


def test_ids_are_positive_unique_and_never_zero() -> None:
    gen = LeaseIDGenerator(0xFFFF, (1 << 40) - 1)  # high prefix bit set; the counter about to wrap
    ids = [gen.next() for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert all(0 < i < 2**63 for i in ids)
    # With a zero prefix the wrapped counter would give ID 0: it is skipped.
    gen = LeaseIDGenerator(0, (1 << 40) - 1)
    ids = [gen.next() for _ in range(256)]
    assert ids[-2:] == [(1 << 48) - 1, 1]


def test_hex_id_prints_twos_complement() -> None:
    assert hex_id(1000) == "00000000000003e8"
    assert hex_id(-7) == "fffffffffffffff9"
