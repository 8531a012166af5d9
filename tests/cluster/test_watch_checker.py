"""The watch-guarantee checker finds each kind of violation planted in a recorded stream."""

from __future__ import annotations

from tests.cluster._watch_record import Response, SeenEvent, check_watch


def put(rev: int, key: bytes, value: bytes, prev: bytes | None = None) -> SeenEvent:
    return SeenEvent(rev, True, key, value, prev)


def delete(rev: int, key: bytes, prev: bytes | None) -> SeenEvent:
    return SeenEvent(rev, False, key, b"", prev)


GOOD: list[Response] = [
    [put(2, b"a", b"1")],
    [put(3, b"a", b"2", b"1"), put(3, b"b", b"x")],  # one txn: both events in one response
    [delete(4, b"a", b"2")],
    [put(5, b"a", b"3")],
]


def test_a_correct_stream_passes() -> None:
    assert check_watch(GOOD) == []


def test_a_gap_is_found() -> None:
    assert any("never delivered" in p for p in check_watch([GOOD[0], GOOD[2], GOOD[3]]))


def test_a_repeat_after_resume_is_found() -> None:
    assert any("again" in p for p in check_watch([*GOOD[:3], GOOD[2], GOOD[3]]))


def test_a_split_transaction_is_found() -> None:
    split = [GOOD[0], [GOOD[1][0]], [GOOD[1][1]], *GOOD[2:]]
    assert any("again" in p for p in check_watch(split))


def test_disorder_is_found() -> None:
    assert check_watch([GOOD[0], GOOD[2], GOOD[1], GOOD[3]]) != []
    assert any("out of order" in p for p in check_watch([[put(3, b"b", b"x"), put(2, b"a", b"1")]]))


def test_wrong_prev_kv_is_found() -> None:
    wrong = [GOOD[0], [put(3, b"a", b"2", b"0"), put(3, b"b", b"x")], *GOOD[2:]]
    assert any("prev_kv" in p for p in check_watch(wrong))
    missing = [*GOOD[:3], [put(5, b"a", b"3", b"2")]]  # the key was deleted: no prev_kv
    assert any("prev_kv" in p for p in check_watch(missing))


def test_a_late_start_is_found() -> None:
    assert any("starts at revision" in p for p in check_watch(GOOD[1:]))
