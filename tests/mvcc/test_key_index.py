"""KeyIndex against the worked example in its module doc."""

from __future__ import annotations

import pytest

from etcdpy.mvcc import revision
from etcdpy.mvcc.index import Index
from etcdpy.mvcc.key_index import KeyIndex


def r(main: int, sub: int = 0) -> bytes:
    return revision.encode(main, sub)


def at(main: int) -> bytes:
    """The bound for a read at revision `main`."""
    return revision.bound(main + 1)


def example() -> KeyIndex:
    ki = KeyIndex(b"k", r(2))
    ki.put(r(3))
    ki.tombstone(r(5, 1))
    ki.put(r(6))
    ki.tombstone(r(8))
    return ki


def test_example_layout() -> None:
    assert example().generations == [[r(2), r(3), r(5, 1)], [r(6), r(8)], []]


@pytest.mark.parametrize(
    ("read_at", "expected"),
    [(1, None), (2, r(2)), (4, r(3)), (5, None), (6, r(6)), (7, r(6)), (8, None), (9, None)],
)
def test_example_get(read_at: int, expected: bytes | None) -> None:
    assert example().get(at(read_at)) == expected


@pytest.mark.parametrize(
    ("compact_at", "generations", "kept"),
    [
        (1, [[r(2), r(3), r(5, 1)], [r(6), r(8)], []], set()),
        (2, [[r(2), r(3), r(5, 1)], [r(6), r(8)], []], {r(2)}),
        (3, [[r(3), r(5, 1)], [r(6), r(8)], []], {r(3)}),
        (4, [[r(3), r(5, 1)], [r(6), r(8)], []], {r(3)}),
        (5, [[r(6), r(8)], []], set()),
        (6, [[r(6), r(8)], []], {r(6)}),
        (7, [[r(6), r(8)], []], {r(6)}),
        (8, [[]], set()),
        (9, [[]], set()),
    ],
)
def test_example_compact(compact_at: int, generations: list[list[bytes]], kept: set[bytes]) -> None:
    ki = example()
    would_keep: set[bytes] = set()
    ki.keep(at(compact_at), would_keep)
    available: set[bytes] = set()
    ki.compact(at(compact_at), available)
    assert ki.generations == generations
    assert available == kept == would_keep
    assert ki.is_empty() == (generations == [[]])


def test_compaction_keeps_reads_at_and_after_the_revision() -> None:
    for c in range(1, 10):
        ki = example()
        ki.compact(at(c), set())
        for read_at in range(c, 10):
            assert ki.get(at(read_at)) == example().get(at(read_at)), (c, read_at)


def test_lone_tombstone_generation_is_dropped() -> None:
    ki = KeyIndex(b"k", r(2))
    ki.tombstone(r(3))
    ki.put(r(4))
    ki.generations[0] = [r(3)]  # as left by restoring a store whose put at 2 was compacted away
    available: set[bytes] = set()
    ki.compact(at(2), available)
    assert ki.generations == [[r(4)]]
    assert available == set()


def test_undo() -> None:
    ki = example()
    ki.put(r(9))
    ki.undo_put()
    assert ki.generations == example().generations
    ki.put(r(9))
    ki.tombstone(r(10))
    ki.undo_tombstone()
    ki.undo_put()
    assert ki.generations == example().generations


def test_index_range_and_count() -> None:
    index = Index()
    for i, key in enumerate([b"a", b"b", b"c", b"d"], start=2):
        index.put(key, r(i))
    assert index.tombstone(b"b", r(6))
    assert not index.tombstone(b"b", r(7))
    assert not index.tombstone(b"zz", r(7))
    keys = [ki.key for ki, _ in index.revisions(b"a", None, at(6))]
    assert keys == [b"a", b"c", b"d"]
    assert [ki.key for ki, _ in index.revisions(b"a", None, at(5))] == [b"a", b"b", b"c", b"d"]
    assert [ki.key for ki, _ in index.revisions(b"b", b"d", at(5))] == [b"b", b"c"]
    assert index.revisions(b"d", b"b", at(5)) == []
    assert index.count(b"a", None, at(6)) == 3
    assert index.count(b"a", b"c", at(3)) == 2
    assert index.get(b"b", at(5)) == r(3)
    assert index.get(b"b", at(6)) is None
    assert index.get(b"q", at(6)) is None
    assert index.compact(at(6)) == {r(2), r(4), r(5)}
    assert len(index) == 3
