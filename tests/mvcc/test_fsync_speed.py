"""The driver's judgement of the WAL fsync: one stall of the disk does not make it slow."""

from __future__ import annotations

from etcdpy.server.fsync_speed import INLINE_SYNC_MAX, WINDOW, FsyncSpeed

FAST = INLINE_SYNC_MAX / 5
STALL = INLINE_SYNC_MAX * 60


def test_fast_until_told_otherwise() -> None:
    assert FsyncSpeed().fast


def test_a_single_stall_keeps_it_fast() -> None:
    speed = FsyncSpeed()
    for _ in range(WINDOW):
        speed.observe(FAST)
    speed.observe(STALL)
    assert speed.fast


def test_slow_once_most_recent_fsyncs_are_slow_and_fast_again_after() -> None:
    speed = FsyncSpeed()
    for _ in range(WINDOW // 2 + 1):
        speed.observe(STALL)
    assert not speed.fast
    for _ in range(WINDOW // 2 + 1):
        speed.observe(FAST)
    assert speed.fast
