"""The raft log: conflicts, appends, commit / apply cursors, stable tail, compaction, slicing."""

from __future__ import annotations

import pytest

from etcdpy.raft.errors import CompactedError
from etcdpy.raft.log import RaftLog
from etcdpy.raft.log_unstable import Unstable
from etcdpy.raft.raftpb import ConfState, Entry, Snapshot, SnapshotMeta
from etcdpy.raft.storage import MemoryStorage
from etcdpy.raft.util import NO_LIMIT, entry_size


def ents(*pairs: tuple[int, int]) -> list[Entry]:
    """Entries from (index, term) pairs."""
    return [Entry(term, index) for index, term in pairs]


def log_with(*pairs: tuple[int, int]) -> RaftLog:
    log = RaftLog(MemoryStorage())
    log.append(ents(*pairs))
    return log


def snapshot(index: int, term: int) -> Snapshot:
    return Snapshot(metadata=SnapshotMeta(index, term, ConfState(voters=(1,))))


BASE = ((1, 1), (2, 2), (3, 3))


@pytest.mark.parametrize(
    ("new", "conflict"),
    [
        ((), 0),
        (((1, 1), (2, 2), (3, 3)), 0),
        (((2, 2), (3, 3)), 0),
        (((3, 3),), 0),
        # new entries past the end
        (((1, 1), (2, 2), (3, 3), (4, 4), (5, 4)), 4),
        (((4, 4), (5, 4)), 4),
        # a term mismatch
        (((1, 4), (2, 4)), 1),
        (((2, 1), (3, 4), (4, 4)), 2),
        (((3, 1), (4, 2), (5, 4), (6, 4)), 3),
    ],
)
def test_find_conflict(new: tuple[tuple[int, int], ...], conflict: int) -> None:
    assert log_with(*BASE).find_conflict(ents(*new)) == conflict


@pytest.mark.parametrize(
    ("last_index", "term", "up_to_date"),
    [
        (2, 4, True),
        (3, 4, True),
        (4, 4, True),
        (2, 2, False),
        (3, 2, False),
        (4, 2, False),
        (2, 3, False),
        (3, 3, True),
        (4, 3, True),
    ],
)
def test_is_up_to_date(last_index: int, term: int, up_to_date: bool) -> None:
    assert log_with(*BASE).is_up_to_date(last_index, term) is up_to_date


@pytest.mark.parametrize(
    ("new", "last", "result", "unstable_offset"),
    [
        ((), 2, ((1, 1), (2, 2)), 3),
        (((3, 2),), 3, ((1, 1), (2, 2), (3, 2)), 3),
        # conflicts with index 1: everything from 1 is replaced
        (((1, 2),), 1, ((1, 2),), 1),
        # conflicts with index 2
        (((2, 3), (3, 3)), 3, ((1, 1), (2, 3), (3, 3)), 2),
    ],
)
def test_append_over_storage(
    new: tuple[tuple[int, int], ...], last: int, result: tuple[tuple[int, int], ...], unstable_offset: int
) -> None:
    storage = MemoryStorage()
    storage.append(ents((1, 1), (2, 2)))
    log = RaftLog(storage)
    assert log.append(ents(*new)) == last
    assert log.all_entries() == ents(*result)
    assert log.unstable.offset == unstable_offset


LAST_INDEX, LAST_TERM, COMMIT = 3, 3, 1


@pytest.mark.parametrize(
    ("index", "log_term", "committed", "new", "last_new", "commit"),
    [
        # no match: nothing appended, nothing committed
        (LAST_INDEX, LAST_TERM - 1, LAST_INDEX, ((LAST_INDEX + 1, 4),), None, COMMIT),
        (LAST_INDEX + 1, LAST_TERM, LAST_INDEX, ((LAST_INDEX + 2, 4),), None, COMMIT),
        # match with the last entry: commit up to min(committed, last new)
        (LAST_INDEX, LAST_TERM, LAST_INDEX, (), LAST_INDEX, LAST_INDEX),
        (LAST_INDEX, LAST_TERM, LAST_INDEX + 1, (), LAST_INDEX, LAST_INDEX),
        (LAST_INDEX, LAST_TERM, LAST_INDEX - 1, (), LAST_INDEX, LAST_INDEX - 1),
        (LAST_INDEX, LAST_TERM, 0, (), LAST_INDEX, COMMIT),
        (
            LAST_INDEX,
            LAST_TERM,
            LAST_INDEX + 2,
            ((LAST_INDEX + 1, 4), (LAST_INDEX + 2, 4)),
            LAST_INDEX + 2,
            LAST_INDEX + 2,
        ),
        # match in the middle; new entries replace the conflicting tail
        (LAST_INDEX - 1, LAST_TERM - 1, LAST_INDEX, ((LAST_INDEX, 4),), LAST_INDEX, LAST_INDEX),
        (LAST_INDEX - 2, LAST_TERM - 2, LAST_INDEX, ((LAST_INDEX - 1, 4),), LAST_INDEX - 1, LAST_INDEX - 1),
        (
            LAST_INDEX - 2,
            LAST_TERM - 2,
            LAST_INDEX,
            ((LAST_INDEX - 1, 4), (LAST_INDEX, 4)),
            LAST_INDEX,
            LAST_INDEX,
        ),
    ],
)
def test_maybe_append(
    index: int,
    log_term: int,
    committed: int,
    new: tuple[tuple[int, int], ...],
    last_new: int | None,
    commit: int,
) -> None:
    log = log_with(*BASE)
    log.committed = COMMIT
    assert log.maybe_append(index, log_term, committed, ents(*new)) == last_new
    assert log.committed == commit
    if last_new is not None and new:
        assert log.slice(log.last_index() - len(new) + 1, log.last_index() + 1, NO_LIMIT) == ents(*new)


def test_maybe_append_refuses_to_overwrite_committed_entries() -> None:
    log = log_with(*BASE)
    log.committed = 2
    with pytest.raises(AssertionError):
        log.maybe_append(1, 1, 3, ents((2, 4)))


@pytest.mark.parametrize(
    ("index", "term", "want"),
    [
        # the follower's log is (1,1) (2,2) (3,3) ... probing below an index jumps over higher terms
        (6, 2, 2),
        (6, 3, 3),
        (6, 5, 5),
        (6, 4, 3),
        (4, 3, 3),
        (0, 0, 0),
        (8, 9, 8),  # beyond the last index: returned as is
    ],
)
def test_find_conflict_by_term(index: int, term: int, want: int) -> None:
    log = log_with((1, 1), (2, 2), (3, 3), (4, 5), (5, 5), (6, 6))
    assert log.find_conflict_by_term(index, term) == want


def test_find_conflict_by_term_stops_at_compaction() -> None:
    storage = MemoryStorage()
    storage.apply_snapshot(snapshot(10, 3))
    log = RaftLog(storage)
    log.append(ents((11, 5), (12, 6)))
    assert log.find_conflict_by_term(12, 4) == 10
    assert log.find_conflict_by_term(12, 5) == 11


def test_unstable_entries_become_stable() -> None:
    storage = MemoryStorage()
    storage.append(ents((1, 1), (2, 2)))
    log = RaftLog(storage)
    log.append(ents((3, 3), (4, 4)))
    assert log.unstable_entries() == ents((3, 3), (4, 4))
    storage.append(log.unstable_entries())
    log.stable_to(4, 4)
    assert log.unstable_entries() == []
    assert log.unstable.offset == 5


@pytest.mark.parametrize(
    ("stable_index", "stable_term", "unstable_left"),
    [(1, 1, 1), (2, 2, 0), (2, 1, 2), (3, 1, 2)],  # a mismatched term or unknown index changes nothing
)
def test_stable_to(stable_index: int, stable_term: int, unstable_left: int) -> None:
    log = log_with((1, 1), (2, 2))
    log.stable_to(stable_index, stable_term)
    assert len(log.unstable_entries()) == unstable_left


def test_stable_to_ignores_indexes_below_a_restored_snapshot() -> None:
    storage = MemoryStorage()
    storage.apply_snapshot(snapshot(5, 2))
    log = RaftLog(storage)
    log.append(ents((6, 3), (7, 3)))
    log.stable_to(5, 2)
    assert len(log.unstable_entries()) == 2
    log.stable_to(6, 3)
    assert log.unstable_entries() == ents((7, 3))


def test_commit_to_never_decreases_and_never_passes_last_index() -> None:
    log = log_with(*BASE)
    log.committed = 2
    log.commit_to(1)
    assert log.committed == 2
    log.commit_to(3)
    assert log.committed == 3
    with pytest.raises(AssertionError):
        log.commit_to(4)


def test_maybe_commit_only_entries_of_the_given_term() -> None:
    log = log_with(*BASE)
    assert not log.maybe_commit(2, 3)
    assert log.maybe_commit(3, 3)
    assert log.committed == 3
    assert not log.maybe_commit(3, 3)


def test_next_ents_and_applied_cursor() -> None:
    storage = MemoryStorage()
    storage.apply_snapshot(snapshot(3, 1))
    log = RaftLog(storage)
    log.append(ents((4, 1), (5, 1), (6, 1)))
    log.commit_to(5)
    assert log.has_next_ents()
    assert log.next_ents() == ents((4, 1), (5, 1))
    log.applied_to(4)
    assert log.next_ents() == ents((5, 1))
    log.applied_to(5)
    assert not log.has_next_ents() and log.next_ents() == []
    with pytest.raises(AssertionError):
        log.applied_to(6)


def test_next_ents_respects_the_size_limit() -> None:
    storage = MemoryStorage()
    log = RaftLog(storage, max_next_ents_size=2 * entry_size(Entry(1, 1, data=b"x" * 10)))
    log.append([Entry(1, i, data=b"x" * 10) for i in range(1, 6)])
    log.commit_to(5)
    assert [e.index for e in log.next_ents()] == [1, 2]


def test_slice_across_storage_and_unstable() -> None:
    storage = MemoryStorage()
    storage.apply_snapshot(snapshot(3, 3))
    storage.append(ents(*((i, i) for i in range(4, 7))))
    log = RaftLog(storage)
    log.append(ents(*((i, i) for i in range(7, 10))))
    assert log.first_index() == 4 and log.last_index() == 9
    assert log.slice(5, 8, NO_LIMIT) == ents((5, 5), (6, 6), (7, 7))
    assert log.slice(7, 9, NO_LIMIT) == ents((7, 7), (8, 8))
    assert log.slice(4, 4, NO_LIMIT) == []
    one = entry_size(Entry(5, 5))
    assert log.slice(4, 10, 0) == ents((4, 4))
    assert log.slice(4, 10, 2 * one) == ents((4, 4), (5, 5))
    assert log.slice(5, 10, 3 * one) == ents((5, 5), (6, 6), (7, 7))
    with pytest.raises(CompactedError):
        log.slice(3, 5, NO_LIMIT)
    with pytest.raises(IndexError):
        log.slice(5, 11, NO_LIMIT)


def test_term_lookups() -> None:
    storage = MemoryStorage()
    storage.apply_snapshot(snapshot(3, 2))
    storage.append(ents((4, 3), (5, 3)))
    log = RaftLog(storage)
    log.append(ents((6, 4)))
    assert [log.term(i) for i in range(1, 8)] == [0, 0, 2, 3, 3, 4, 0]
    assert log.last_term() == 4
    assert log.match_term(3, 2) and not log.match_term(3, 3)


def test_restore_resets_the_log_to_the_snapshot() -> None:
    log = log_with(*BASE)
    log.restore(snapshot(100, 50))
    assert (log.committed, log.first_index(), log.last_index(), log.term(100)) == (100, 101, 100, 50)
    assert log.unstable.offset == 101 and log.unstable.snapshot is not None
    log.append(ents((101, 51)))
    assert log.last_index() == 101 and log.term(101) == 51
    log.stable_snap_to(100)
    assert log.unstable.snapshot is None


def test_unstable_truncate_and_append() -> None:
    u = Unstable(5)
    u.truncate_and_append(ents((5, 1)))
    u.truncate_and_append(ents((6, 1), (7, 1)))
    assert (u.offset, [e.index for e in u.entries]) == (5, [5, 6, 7])
    u.truncate_and_append(ents((6, 2)))  # truncates inside the tail
    assert [(e.index, e.term) for e in u.entries] == [(5, 1), (6, 2)]
    u.truncate_and_append(ents((4, 2), (5, 2)))  # replaces it from before its start
    assert (u.offset, [(e.index, e.term) for e in u.entries]) == (4, [(4, 2), (5, 2)])
