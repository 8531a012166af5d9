"""Resident memory of a member and its client-port child, sampled while a load runs."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from tests.fuzz._target import children, status_field

KiB = 1
MiB = 1024 * KiB


def rss_anon_kib(pid: int) -> int:
    """Anonymous resident memory: the heap, not the database's file pages (which the kernel can drop)."""
    return status_field(pid, "RssAnon")


class PeakSampler:
    """Samples RssAnon of each process every `interval` seconds and keeps the peaks."""

    def __init__(self, pids: dict[str, int], interval: float = 0.05) -> None:
        self.pids = pids
        self.peak = {name: rss_anon_kib(pid) for name, pid in pids.items()}
        self.start = dict(self.peak)
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            for name, pid in self.pids.items():
                try:
                    self.peak[name] = max(self.peak[name], rss_anon_kib(pid))
                except (OSError, KeyError):
                    return

    def report(self) -> str:
        return ", ".join(
            f"{name}: {self.start[name] // 1024} -> peak {self.peak[name] // 1024} MiB" for name in self.pids
        )

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def member_pids(pid: int) -> dict[str, int]:
    (child,) = children(pid)
    return {"member": pid, "client-port": child}


@contextmanager
def sampling(pid: int) -> Iterator[PeakSampler]:
    with PeakSampler(member_pids(pid)) as sampler:
        yield sampler
