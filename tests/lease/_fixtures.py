"""A lessor on a real backend in a temp dir, with a clock the test moves by hand."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from etcdpy.lease.lessor import Lessor
from etcdpy.mvcc.kvstore import KVStore
from etcdpy.storage.backend import Backend

MIN_TTL = 2
RETRY = 7.0


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Member:
    """A backend, its KVStore and a lessor on it; `reopen` simulates a restart."""

    path: Path
    clock: FakeClock = field(default_factory=FakeClock)
    backend: Backend | None = None
    kv: KVStore = field(init=False)
    lessor: Lessor = field(init=False)
    index: int = 0  # the last "log index" handed to an apply

    def __post_init__(self) -> None:
        self.reopen()

    def reopen(self) -> None:
        if self.backend is not None:
            self.backend.close()
        self.backend = Backend(str(self.path))
        self.kv = KVStore(self.backend)
        self.lessor = Lessor(self.kv, min_ttl=MIN_TTL, retry_interval=RETRY, clock=self.clock)

    def next_index(self) -> int:
        self.index += 1
        return self.index

    def put(self, key: bytes, value: bytes = b"v", lease: int = 0) -> None:
        """A put as the applier does it: the write, then the lessor follows its changes."""
        with self.kv.write() as w:
            w.put(key, value, lease)
            w.end(self.next_index())
        self.lessor.track(w.changes)

    def delete(self, key: bytes, end: bytes | None = None) -> None:
        with self.kv.write() as w:
            w.delete_range(key, end)
            w.end(self.next_index())
        self.lessor.track(w.changes)

    def keys(self) -> list[bytes]:
        return [kv.key for kv in self.kv.range(b"\0", b"\0").kvs]

    def close(self) -> None:
        if self.backend is not None:
            self.backend.close()
            self.backend = None


def member_at(tmp_path: Path) -> Iterator[Member]:
    m = Member(tmp_path / "db")
    try:
        yield m
    finally:
        m.close()
