from __future__ import annotations

import random

from hypothesis import given
from hypothesis import strategies as st

from etcdpy.lease.lease_queue import ExpiryQueue


def test_pops_in_due_order_with_registrations_superseded() -> None:
    q = ExpiryQueue()
    q.register(1, 30.0)
    q.register(2, 10.0)
    q.register(3, 20.0)
    q.register(2, 40.0)  # supersedes 10.0
    q.remove(3)
    assert len(q) == 2
    assert q.peek() == (30.0, 1)
    assert q.pop() == (30.0, 1)
    assert q.pop() == (40.0, 2)
    assert q.pop() is None
    assert q.peek() is None


def test_same_time_registered_twice_pops_once() -> None:
    q = ExpiryQueue()
    q.register(1, 5.0)
    q.register(1, 5.0)
    assert q.pop() == (5.0, 1)
    assert q.pop() is None


def test_heap_stays_proportional_to_live_ids() -> None:
    q = ExpiryQueue()
    for i in range(10_000):
        q.register(i % 10, float(i))
    assert len(q) == 10
    assert len(q._heap) <= 2 * 10 + 64 + 1
    assert [q.pop() for _ in range(10)] == [(float(9990 + i), i) for i in range(10)]


@given(st.lists(st.tuples(st.sampled_from(["reg", "rm", "pop"]), st.integers(0, 8), st.integers(0, 50))))
def test_matches_a_dict_model(ops: list[tuple[str, int, int]]) -> None:
    q = ExpiryQueue()
    model: dict[int, float] = {}
    for op, lease_id, due in ops:
        if op == "reg":
            q.register(lease_id, float(due))
            model[lease_id] = float(due)
        elif op == "rm":
            q.remove(lease_id)
            model.pop(lease_id, None)
        else:
            got = q.pop()
            if not model:
                assert got is None
            else:
                assert got is not None
                assert got[0] == min(model.values()) and model[got[1]] == got[0]
                del model[got[1]]
        assert len(q) == len(model)


def test_clear() -> None:
    q = ExpiryQueue()
    for i in range(5):
        q.register(i, random.random())
    q.clear()
    assert q.peek() is None and len(q) == 0
