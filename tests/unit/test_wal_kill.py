"""SIGKILL a process appending to a WAL at random moments: every save() that returned survives.

The child prints `BEGIN first count term` before each save and `DONE` after it returns (flushed),
so the parent knows which saves returned and which one, if any, was in flight. A save that was in
flight may survive as any prefix of its entries, never as anything else.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import etcdpy
from etcdpy.raft.raftpb import Entry, HardState
from etcdpy.storage.wal import WAL

ROUNDS = 6
SEGMENT_BYTES = 64 * 1024

CHILD = """
import random, sys
from etcdpy.raft.raftpb import Entry, HardState
from etcdpy.storage.wal import WAL

path, seed, segment_bytes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = random.Random(seed)
if WAL.exists(path):
    wal = WAL.open(path, segment_bytes=segment_bytes)
    _, hs, entries = wal.read_all()
    term = max([hs.term] + [e.term for e in entries[-1:]])
else:
    wal = WAL.create(path, b"kill-test", segment_bytes=segment_bytes)
    term = 1
last = wal.last_index
print("READY", flush=True)
while True:
    first = max(1, last + 1 - rng.choice([0, 0, 0, 0, 0, 0, 1, 5]))
    if first <= last:
        term += 1
    count = rng.randint(1, 12)
    batch = [Entry(term, i, data=f"{term}/{i}/".encode() * 10) for i in range(first, first + count)]
    print(f"BEGIN {first} {count} {term}", flush=True)
    wal.save(HardState(term, 1, first - 1), batch)
    print("DONE", flush=True)
    last = first + count - 1
"""


def batch(first: int, count: int, term: int) -> list[Entry]:
    return [Entry(term, i, data=f"{term}/{i}/".encode() * 10) for i in range(first, first + count)]


def apply(log: list[Entry], entries: list[Entry]) -> list[Entry]:
    return log[: entries[0].index - 1] + entries


def is_crash_outcome(
    got: tuple[list[Entry], HardState],
    done: tuple[list[Entry], HardState],
    pending: tuple[list[Entry], HardState] | None,
) -> bool:
    """Whether `got` is what the returned saves `done` leave, plus a prefix of the `pending` save."""
    if got == done:
        return True
    if pending is None:
        return False
    (got_log, got_state), (done_log, done_state), (entries, pending_state) = got, done, pending
    kept = entries[0].index - 1  # the pending save truncates the log here
    k = len(got_log) - kept  # how many of its entries landed
    if not 1 <= k <= len(entries) or got_log[:kept] != done_log[:kept] or got_log[kept:] != entries[:k]:
        return False
    # its hard state record follows its entries in the same write
    return got_state == done_state or (k == len(entries) and got_state == pending_state)


@pytest.fixture
def spawn() -> Iterator[list[subprocess.Popen[str]]]:
    procs: list[subprocess.Popen[str]] = []
    try:
        yield procs
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
            if p.stdout:
                p.stdout.close()


def test_sigkill_loses_no_returned_save(tmp_path: Path, spawn: list[subprocess.Popen[str]]) -> None:
    path = tmp_path / "wal"
    env = {**os.environ, "PYTHONPATH": str(Path(etcdpy.__file__).parents[1])}
    rng = random.Random(20240611)
    log: list[Entry] = []
    state = HardState()
    returned = 0
    for rnd in range(ROUNDS):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(path), str(rnd), str(SEGMENT_BYTES)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env=env,
        )
        spawn.append(child)
        assert child.stdout is not None
        assert child.stdout.readline() == "READY\n", f"round {rnd}: child failed to start"
        time.sleep(rng.uniform(0.05, 0.3))
        child.send_signal(signal.SIGKILL)
        child.wait()
        lines = child.stdout.read().splitlines()

        done_log, done_state, pending = log, state, None
        for line in lines:
            if line.startswith("BEGIN "):
                first, count, term = map(int, line.split()[1:])
                pending = (batch(first, count, term), HardState(term, 1, first - 1))
            elif line == "DONE":
                assert pending is not None
                done_log, done_state = apply(done_log, pending[0]), pending[1]
                pending = None
                returned += 1

        with WAL.open(str(path), segment_bytes=SEGMENT_BYTES) as wal:
            _, got_state, got_log = wal.read_all()
        ok = is_crash_outcome((got_log, got_state), (done_log, done_state), pending)
        assert ok, (
            f"round {rnd}: recovered {len(got_log)} entries and {got_state}; returned saves give "
            f"{len(done_log)} and {done_state}, in flight: {pending and len(pending[0])}"
        )
        log, state = got_log, got_state
    assert returned > 10 * ROUNDS
    assert len(os.listdir(path)) > 1  # the log spans segment cuts
