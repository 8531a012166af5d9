from __future__ import annotations

import random

from etcdpy.mvcc import go_sort as gs


def test_shell_pass_reorders_ties_like_go() -> None:
    # Create revisions of k1..k7 as in test_reference's range test; reference etcd returns k7 before k6.
    creates = [3, 5, 2, 4, 6, 10, 10]
    names = ["k1", "k2", "k3", "k4", "k5", "k6", "k7"]
    assert gs.go_sort(creates, names, descending=True) == ["k7", "k6", "k5", "k2", "k4", "k1", "k3"]


def test_sorts_and_permutes() -> None:
    rand = random.Random(3)
    for n in (0, 1, 5, 12, 13, 40, 41, 200, 1000):
        for distinct in (2, 5, n + 1):
            keys = [rand.randrange(distinct) for _ in range(n)]
            values = list(range(n))
            for descending in (False, True):
                out = gs.go_sort(keys, values, descending=descending)
                assert sorted(out) == values
                ordered = [keys[v] for v in out]
                assert ordered == sorted(keys, reverse=descending)


def test_heap_sort_fallback() -> None:
    keys = [random.Random(5).randrange(4) for _ in range(100)]
    data = gs._Data(list(keys), list(range(100)), False)
    gs._quick_sort(data, 0, 100, 0)
    assert data.keys == sorted(keys)
    assert sorted(data.values) == list(range(100))
