"""The simulated network: per-message latency, loss, duplication and directed link cuts.

Delivery order is by simulated arrival time, so independent latencies reorder messages. A cut link
loses what is in flight on it too (the arrival is judged when it happens).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from etcdpy.raft.raftpb import Message


@dataclass(frozen=True, slots=True)
class Faults:
    """Per-message probabilities; all zero in a calm network."""

    drop: float = 0.0
    duplicate: float = 0.0
    long_delay: float = 0.0


CALM = Faults()
SHORT_DELAY = (1, 5)
LONG_DELAY = (10, 80)


@dataclass(frozen=True, slots=True)
class Flight:
    msg: Message
    sender_incarnation: int


class Network:
    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self.faults = CALM
        self._cut: set[tuple[int, int]] = set()

    def latencies(self) -> list[int]:
        """Arrival delays for one sent message: two when it is duplicated."""
        rng, f = self._rng, self.faults
        copies = 2 if f.duplicate and rng.random() < f.duplicate else 1
        out = []
        for _ in range(copies):
            lo, hi = LONG_DELAY if f.long_delay and rng.random() < f.long_delay else SHORT_DELAY
            out.append(rng.randint(lo, hi))
        return out

    def lost(self) -> bool:
        """Whether an arriving message is lost (judged on arrival, so the sender can be told of a lost
        snapshot as etcd's transport would)."""
        return bool(self.faults.drop) and self._rng.random() < self.faults.drop

    def linked(self, frm: int, to: int) -> bool:
        return (frm, to) not in self._cut

    def partition(self, side: set[int], rest: set[int]) -> None:
        """Heal, then cut every link between the two sides, both ways."""
        self._cut.clear()
        for a in side:
            for b in rest:
                self._cut.add((a, b))
                self._cut.add((b, a))

    def cut_one_way(self, frm: int, to: int) -> None:
        self._cut.add((frm, to))

    def heal(self) -> None:
        self._cut.clear()

    def cuts(self) -> list[tuple[int, int]]:
        return sorted(self._cut)
