"""MemoryStorage: the Storage contract (terms, entries, compaction, snapshots, appends)."""

from __future__ import annotations

import pytest

from etcdpy.raft.errors import CompactedError, SnapOutOfDateError, UnavailableError
from etcdpy.raft.raftpb import ConfState, Entry, HardState, Snapshot, SnapshotMeta
from etcdpy.raft.storage import MemoryStorage
from etcdpy.raft.util import NO_LIMIT, entry_size

CS = ConfState(voters=(1, 2, 3))


def storage_3_to_5() -> MemoryStorage:
    """Snapshot at (3, 3), entries 4 and 5 of terms 4 and 5."""
    s = MemoryStorage()
    s.apply_snapshot(Snapshot(metadata=SnapshotMeta(3, 3, CS)))
    s.append([Entry(4, 4), Entry(5, 5)])
    return s


def test_term() -> None:
    s = storage_3_to_5()
    with pytest.raises(CompactedError):
        s.term(2)
    assert [s.term(i) for i in (3, 4, 5)] == [3, 4, 5]
    with pytest.raises(UnavailableError):
        s.term(6)


def test_entries() -> None:
    s = storage_3_to_5()
    s.append([Entry(6, 6)])
    with pytest.raises(CompactedError):
        s.entries(2, 6, NO_LIMIT)
    with pytest.raises(CompactedError):
        s.entries(3, 4, NO_LIMIT)
    assert s.entries(4, 5, NO_LIMIT) == [Entry(4, 4)]
    assert s.entries(4, 7, NO_LIMIT) == [Entry(4, 4), Entry(5, 5), Entry(6, 6)]
    one = entry_size(Entry(4, 4))
    assert s.entries(4, 7, 0) == [Entry(4, 4)]  # at least one entry
    assert s.entries(4, 7, 2 * one) == [Entry(4, 4), Entry(5, 5)]
    assert s.entries(4, 7, 3 * one - 1) == [Entry(4, 4), Entry(5, 5)]


def test_indexes_and_initial_state() -> None:
    s = storage_3_to_5()
    assert (s.first_index(), s.last_index()) == (4, 5)
    s.set_hard_state(HardState(5, 1, 4))
    assert s.initial_state() == (HardState(5, 1, 4), CS)
    assert MemoryStorage(CS).initial_state() == (HardState(), CS)


@pytest.mark.parametrize(
    ("index", "error", "first", "length"),
    [(2, True, 4, 2), (3, True, 4, 2), (4, False, 5, 1), (5, False, 6, 0)],
)
def test_compact(index: int, error: bool, first: int, length: int) -> None:
    s = storage_3_to_5()
    if error:
        with pytest.raises(CompactedError):
            s.compact(index)
    else:
        s.compact(index)
    assert s.first_index() == first
    assert s.last_index() - s.first_index() + 1 == length
    assert s.term(first - 1) == first - 1


def test_create_snapshot() -> None:
    s = storage_3_to_5()
    snap = s.create_snapshot(4, ConfState(voters=(1, 2)), b"data")
    assert snap.metadata == SnapshotMeta(4, 4, ConfState(voters=(1, 2)))
    assert snap.data == b"data" and s.snapshot() == snap
    with pytest.raises(SnapOutOfDateError):
        s.create_snapshot(4, None, b"")
    assert s.create_snapshot(5, None, b"").metadata.conf_state == ConfState(voters=(1, 2))


def test_apply_snapshot() -> None:
    s = MemoryStorage()
    s.apply_snapshot(Snapshot(b"a", SnapshotMeta(4, 4, CS)))
    assert (s.first_index(), s.last_index()) == (5, 4)
    with pytest.raises(SnapOutOfDateError):
        s.apply_snapshot(Snapshot(b"b", SnapshotMeta(3, 3, CS)))


@pytest.mark.parametrize(
    ("append", "want"),
    [
        ([(3, 3), (4, 4), (5, 5)], [(4, 4), (5, 5)]),
        ([(3, 3), (4, 6), (5, 6)], [(4, 6), (5, 6)]),
        ([(3, 3), (4, 4), (5, 5), (6, 5)], [(4, 4), (5, 5), (6, 5)]),
        # entries before the snapshot are skipped
        ([(2, 3), (3, 3), (4, 5)], [(4, 5)]),
        ([(4, 5)], [(4, 5)]),  # truncates the existing tail
        ([(6, 5)], [(4, 4), (5, 5), (6, 5)]),  # appends directly
        ([(1, 1)], [(4, 4), (5, 5)]),  # entirely compacted: ignored
    ],
)
def test_append(append: list[tuple[int, int]], want: list[tuple[int, int]]) -> None:
    s = storage_3_to_5()
    s.append([Entry(term, index) for index, term in append])
    assert [(e.index, e.term) for e in s.entries(s.first_index(), s.last_index() + 1, NO_LIMIT)] == want


def test_append_with_a_gap_fails() -> None:
    s = storage_3_to_5()
    with pytest.raises(ValueError):
        s.append([Entry(7, 7)])
