"""Sorting that orders equal elements exactly as etcd 3.5.1 does.

etcd sorts range results with Go's `sort.Sort` (Go 1.16: an introsort — median
of three / Tukey's ninther pivots with a guard against many duplicates,
heapsort past a depth limit, and for slices of at most 12 a shell pass of gap 6
then insertion sort). It is not stable, so elements with equal sort keys end
up in an order clients can see. When all sort keys are distinct every correct
sort agrees and Python's own is used; otherwise this module replays Go's
algorithm, comparison for comparison, so ties come out as they do in etcd.
"""

from __future__ import annotations

from typing import Generic, Protocol, Self, TypeVar


class _Comparable(Protocol):
    def __lt__(self, other: Self, /) -> bool: ...


K = TypeVar("K", bound=_Comparable)
V = TypeVar("V")


def go_sort(keys: list[K], values: list[V], *, descending: bool = False) -> list[V]:
    """values ordered by keys (values[i] has key keys[i]) as Go's sort.Sort would order them."""
    if len(set(keys)) == len(keys):
        order = sorted(range(len(keys)), key=keys.__getitem__, reverse=descending)
        return [values[i] for i in order]
    data = _Data(list(keys), list(values), descending)
    _quick_sort(data, 0, len(keys), _max_depth(len(keys)))
    return data.values


class _Data(Generic[K, V]):
    """Go's sort.Interface over parallel lists; `descending` is sort.Reverse."""

    __slots__ = ("descending", "keys", "values")

    def __init__(self, keys: list[K], values: list[V], descending: bool) -> None:
        self.keys = keys
        self.values = values
        self.descending = descending

    def less(self, i: int, j: int) -> bool:
        keys = self.keys
        return keys[j] < keys[i] if self.descending else keys[i] < keys[j]

    def swap(self, i: int, j: int) -> None:
        keys, values = self.keys, self.values
        keys[i], keys[j] = keys[j], keys[i]
        values[i], values[j] = values[j], values[i]


def _max_depth(n: int) -> int:
    return 2 * n.bit_length()


def _quick_sort(data: _Data[K, V], a: int, b: int, depth: int) -> None:
    while b - a > 12:
        if depth == 0:
            _heap_sort(data, a, b)
            return
        depth -= 1
        mid_lo, mid_hi = _do_pivot(data, a, b)
        # Recurse into the smaller part, loop on the larger.
        if mid_lo - a < b - mid_hi:
            _quick_sort(data, a, mid_lo, depth)
            a = mid_hi
        else:
            _quick_sort(data, mid_hi, b, depth)
            b = mid_lo
    if b - a > 1:
        for i in range(a + 6, b):
            if data.less(i, i - 6):
                data.swap(i, i - 6)
        _insertion_sort(data, a, b)


def _insertion_sort(data: _Data[K, V], a: int, b: int) -> None:
    for i in range(a + 1, b):
        j = i
        while j > a and data.less(j, j - 1):
            data.swap(j, j - 1)
            j -= 1


def _sift_down(data: _Data[K, V], lo: int, hi: int, first: int) -> None:
    root = lo
    while True:
        child = 2 * root + 1
        if child >= hi:
            return
        if child + 1 < hi and data.less(first + child, first + child + 1):
            child += 1
        if not data.less(first + root, first + child):
            return
        data.swap(first + root, first + child)
        root = child


def _heap_sort(data: _Data[K, V], a: int, b: int) -> None:
    hi = b - a
    for i in range((hi - 1) // 2, -1, -1):
        _sift_down(data, i, hi, a)
    for i in range(hi - 1, -1, -1):
        data.swap(a, a + i)
        _sift_down(data, 0, i, a)


def _median_of_three(data: _Data[K, V], m1: int, m0: int, m2: int) -> None:
    """Leaves the median of the three at m1 (and data[m0] <= data[m1] <= data[m2])."""
    if data.less(m1, m0):
        data.swap(m1, m0)
    if data.less(m2, m1):
        data.swap(m2, m1)
        if data.less(m1, m0):
            data.swap(m1, m0)


def _do_pivot(data: _Data[K, V], lo: int, hi: int) -> tuple[int, int]:
    """Partitions [lo, hi) around a pivot; returns (mid_lo, mid_hi) with [mid_lo, mid_hi) equal to it."""
    m = (lo + hi) // 2
    if hi - lo > 40:
        s = (hi - lo) // 8
        _median_of_three(data, lo, lo + s, lo + 2 * s)
        _median_of_three(data, m, m - s, m + s)
        _median_of_three(data, hi - 1, hi - 1 - s, hi - 1 - 2 * s)
    _median_of_three(data, lo, m, hi - 1)

    # The pivot sits at lo. Afterwards: (lo, a) < pivot, [a, b) <= pivot, [c, hi-1) > pivot.
    pivot = lo
    a, c = lo + 1, hi - 1
    while a < c and data.less(a, pivot):
        a += 1
    b = a
    while True:
        while b < c and not data.less(pivot, b):
            b += 1
        while b < c and data.less(pivot, c - 1):
            c -= 1
        if b >= c:
            break
        data.swap(b, c - 1)
        b += 1
        c -= 1

    # Few elements above the pivot suggest many equal to it: gather those into the middle.
    protect = hi - c < 5
    if not protect and hi - c < (hi - lo) // 4:
        dups = 0
        if not data.less(pivot, hi - 1):
            data.swap(c, hi - 1)
            c += 1
            dups += 1
        if not data.less(b - 1, pivot):
            b -= 1
            dups += 1
        if not data.less(m, pivot):
            data.swap(m, b - 1)
            b -= 1
            dups += 1
        protect = dups > 1
    if protect:
        while True:
            while a < b and not data.less(b - 1, pivot):
                b -= 1
            while a < b and data.less(a, pivot):
                a += 1
            if a >= b:
                break
            data.swap(a, b - 1)
            a += 1
            b -= 1
    data.swap(pivot, b - 1)
    return b - 1, c
