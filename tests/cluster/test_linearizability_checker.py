"""The linearizability checker on small hand-made histories, linearizable and not."""

from __future__ import annotations

import random

import pytest

from tests.cluster._linearizability import (
    INF,
    Cas,
    Get,
    Op,
    Put,
    Read,
    Written,
    check_history,
    check_key,
    check_revision_order,
    reduce_unknowns,
)


def put(client: int, value: str, invoke: float, ret: float, rev: int | None, key: str = "k") -> Op:
    if rev is None:
        return Op(client, key, Put(value), invoke, INF, None)
    return Op(client, key, Put(value), invoke, ret, Written(rev), rev)


def get(
    client: int,
    value: str | None,
    invoke: float,
    ret: float,
    mod_rev: int,
    key: str = "k",
    header: int | None = None,
) -> Op:
    return Op(
        client, key, Get(), invoke, ret, Read(value, mod_rev), header if header is not None else mod_rev
    )


def cas(
    client: int, expect: str | None, value: str, invoke: float, ret: float, out: Written | Read | None
) -> Op:
    revision = out.revision if isinstance(out, Written) else None
    return Op(client, "k", Cas(expect, value), invoke, INF if out is None else ret, out, revision)


def test_sequential_history_is_linearizable() -> None:
    ops = [put(1, "a", 0, 1, 2), get(2, "a", 2, 3, 2), put(1, "b", 4, 5, 3), get(2, "b", 6, 7, 3)]
    assert check_history(ops) == []


def test_read_of_an_absent_key() -> None:
    assert check_history([get(1, None, 0, 1, 0)]) == []
    assert len(check_history([get(1, "a", 0, 1, 0)])) == 1


def test_concurrent_writes_may_be_ordered_either_way() -> None:
    # b's revision is lower, so b took effect first; the reads see b then a.
    ops = [put(1, "a", 0, 10, 3), put(2, "b", 1, 9, 2), get(3, "b", 2, 3, 2), get(3, "a", 4, 11, 3)]
    assert check_history(ops) == []


def test_stale_read_is_not_linearizable() -> None:
    # b was acknowledged before the read started, yet the read returns a.
    ops = [put(1, "a", 0, 1, 2), put(1, "b", 2, 3, 3), get(2, "a", 4, 5, 2)]
    [violation] = check_history(ops)
    assert violation.key == "k"
    assert [op.input for op in violation.linearized] == [Put("a"), Put("b")]
    assert violation.stuck[0].input == Get()
    assert "get k -> read a" in violation.describe()


def test_read_concurrent_with_the_write_may_see_either_value() -> None:
    ops = [put(1, "a", 0, 1, 2), put(1, "b", 2, 5, 3), get(2, "a", 3, 4, 2), get(3, "b", 3, 4.5, 3)]
    assert check_history(ops) == []


def test_lost_write_is_not_linearizable() -> None:
    # b was acknowledged, then a later read sees the older value a.
    ops = [put(1, "a", 0, 1, 2), put(2, "b", 1.5, 2, 3), get(3, "b", 3, 4, 3), get(3, "a", 5, 6, 2)]
    assert len(check_history(ops)) == 1


def test_write_acknowledged_but_never_visible_is_lost() -> None:
    ops = [put(1, "a", 0, 1, 2), get(2, "a", 2, 3, 2)]
    ops += [put(1, "b", 4, 5, 3), get(2, "a", 6, 7, 2)]
    assert len(check_history(ops)) == 1


def test_reads_must_not_go_back_in_time() -> None:
    # Two reads overlapping a write: the later read (invoked after the first returned) sees older data.
    ops = [put(1, "a", 0, 1, 2), put(1, "b", 2, 10, 3), get(2, "b", 3, 4, 3), get(3, "a", 5, 6, 2)]
    assert len(check_history(ops)) == 1


def test_mod_revision_mismatch_is_caught() -> None:
    ops = [put(1, "a", 0, 1, 5), get(2, "a", 2, 3, 4)]
    assert len(check_history(ops)) == 1


def test_per_key_mod_revisions_must_increase() -> None:
    ops = [put(1, "a", 0, 1, 5), put(1, "b", 2, 3, 4)]
    assert len(check_history(ops)) == 1


def test_compare_and_set_success_and_failure() -> None:
    ops = [
        put(1, "a", 0, 1, 2),
        cas(2, "a", "b", 2, 3, Written(3)),
        cas(3, "a", "c", 4, 5, Read("b", 3)),
        cas(1, None, "d", 6, 7, Read("b", 3)),
    ]
    assert check_history(ops) == []


def test_two_concurrent_compare_and_sets_cannot_both_win() -> None:
    ops = [put(1, "a", 0, 1, 2), cas(2, "a", "b", 2, 5, Written(3)), cas(3, "a", "c", 2, 5, Written(4))]
    assert len(check_history(ops)) == 1


def test_cas_on_an_absent_key() -> None:
    assert check_history([cas(1, None, "a", 0, 1, Written(2)), get(2, "a", 2, 3, 2)]) == []
    assert len(check_history([put(1, "x", 0, 1, 2), cas(2, None, "a", 2, 3, Written(3))])) == 1


def linearizable(ops: list[Op]) -> bool:
    """The verdict on one key's history with unknown outcomes, which must not depend on
    whether `reduce_unknowns` ran first."""
    raw = check_key(ops) is None
    assert raw == (check_key(reduce_unknowns(ops)) is None)
    return raw


def test_unknown_write_may_take_effect_late() -> None:
    # a timed out; a read long after its invocation sees it.
    ops = [put(1, "x", 0, 1, 2), put(2, "a", 1, 0, None), get(3, "x", 2, 3, 2), get(3, "a", 10, 11, 4)]
    assert linearizable(ops)


def test_unknown_write_may_never_take_effect() -> None:
    ops = [put(1, "x", 0, 1, 2), put(2, "a", 1, 0, None), get(3, "x", 50, 51, 2)]
    assert linearizable(ops)


def test_unknown_write_cannot_take_effect_before_its_invocation() -> None:
    assert not linearizable([get(3, "a", 0, 1, 2), put(2, "a", 5, 0, None)])


def test_unknown_write_takes_effect_once() -> None:
    # a shows up, is overwritten by b, and cannot show up again.
    ops = [put(2, "a", 0, 0, None), get(3, "a", 1, 2, 3), put(1, "b", 3, 4, 4), get(3, "a", 5, 6, 3)]
    assert not linearizable(ops)


def test_unknown_compare_and_set_may_or_may_not_apply() -> None:
    base = [put(1, "a", 0, 1, 2), cas(2, "a", "b", 2, 3, None)]
    assert linearizable([*base, get(3, "a", 4, 5, 2)])
    assert linearizable([*base, get(3, "b", 4, 5, 3)])
    assert linearizable([*base, get(3, "b", 4, 5, 3), put(1, "c", 6, 7, 4), get(3, "c", 8, 9, 4)])
    # It can only apply while the value is still "a".
    ops = [put(1, "a", 0, 1, 2), put(1, "c", 2, 3, 3), cas(2, "a", "b", 4, 5, None), get(3, "b", 6, 7, 4)]
    assert not linearizable(ops)


def test_reduction_drops_unobserved_unknowns_and_bounds_observed_ones() -> None:
    ops = [
        put(1, "a", 0, 0, None),
        put(2, "b", 0, 0, None),
        Op(3, "k", Get(), 0, INF, None),
        get(4, "a", 1, 7, 9),
    ]
    reduced = reduce_unknowns(ops)
    assert [op.input for op in reduced] == [Put("a"), Get()]
    assert reduced[0].ret == 7 and reduced[0].unknown


def test_values_must_be_unique() -> None:
    with pytest.raises(ValueError):
        check_history([put(1, "a", 0, 1, 2), put(2, "a", 2, 3, 3)])


def test_keys_are_checked_separately() -> None:
    ops = [
        put(1, "a", 0, 1, 2, key="x"),
        put(1, "a", 0, 1, 3, key="y"),
        get(2, "a", 2, 3, 2, key="x"),
        get(2, None, 2, 3, 0, key="y"),
    ]
    assert [v.key for v in check_history(ops)] == ["y"]


def test_revisions_follow_real_time_across_keys() -> None:
    ok = [
        put(1, "a", 0, 1, 2, key="x"),
        put(2, "b", 2, 3, 3, key="y"),
        get(3, "a", 4, 5, 2, key="x", header=3),
    ]
    assert check_revision_order(ok) == []
    # A read of another key, started after a write was acknowledged, from an older revision.
    stale = [
        put(1, "a", 0, 1, 2, key="x"),
        put(2, "b", 2, 3, 3, key="y"),
        get(3, "a", 4, 5, 2, key="x", header=2),
    ]
    assert [(a.key, b.key) for a, b in check_revision_order(stale)] == [("y", "x")]
    # A write acknowledged at the revision an earlier write already made.
    dup = [put(1, "a", 0, 1, 2, key="x"), put(2, "b", 2, 3, 2, key="y")]
    assert len(check_revision_order(dup)) == 1


def _register_history(rng: random.Random, clients: int, n: int) -> list[Op]:
    """A linearizable history: operations applied atomically at a random instant inside
    their [invoke, return] window; some writes are left with an unknown outcome."""
    value: str | None = None
    revision = 1
    ops = []
    now = 0.0
    for i in range(n):
        now += rng.random()
        client = i % clients
        invoke = now - rng.random() * 2
        kind = rng.random()
        if kind < 0.4:
            revision += 1
            value = f"v{i}"
            if rng.random() < 0.1:
                ops.append(Op(client, "k", Put(value), invoke, INF, None))
            else:
                ops.append(
                    Op(client, "k", Put(value), invoke, now + rng.random() * 2, Written(revision), revision)
                )
        elif kind < 0.7:
            ops.append(
                Op(
                    client,
                    "k",
                    Get(),
                    invoke,
                    now + rng.random() * 2,
                    Read(value, revision if value else 0),
                    revision,
                )
            )
        else:
            expect = value if rng.random() < 0.5 else "nope"
            if value == expect:
                revision += 1
                value = f"v{i}"
                out: Written | Read = Written(revision)
            else:
                out = Read(value, revision if value else 0)
            ops.append(Op(client, "k", Cas(expect, f"v{i}"), invoke, now + rng.random() * 2, out, revision))
    return ops


@pytest.mark.parametrize("seed", range(20))
def test_generated_linearizable_histories_pass(seed: int) -> None:
    ops = _register_history(random.Random(seed), clients=5, n=200)
    assert check_key(reduce_unknowns(ops)) is None


@pytest.mark.parametrize("seed", range(5))
def test_generated_histories_pass_without_reduction(seed: int) -> None:
    assert check_key(_register_history(random.Random(seed), clients=4, n=80)) is None


@pytest.mark.parametrize("seed", range(20))
def test_generated_histories_with_one_corrupted_read_fail(seed: int) -> None:
    rng = random.Random(seed)
    ops = _register_history(rng, clients=5, n=200)
    reads = [i for i, op in enumerate(ops) if isinstance(op.input, Get) and op.output != Read(None, 0)]
    i = rng.choice(reads)
    ops[i] = Op(ops[i].client, "k", Get(), ops[i].invoke, ops[i].ret, Read("never-written", 7), 7)
    assert check_key(reduce_unknowns(ops)) is not None
