"""How hostile one run is and how its nodes are configured: drawn from the seed at the start."""

from __future__ import annotations

import random
from dataclasses import dataclass

from tests.raft.sim.network import Faults

_ONE_ENTRY_PER_MSG = 0


@dataclass(frozen=True, slots=True)
class Profile:
    faults: Faults
    pre_vote: bool
    check_quorum: bool
    max_size_per_msg: int
    max_inflight: int
    action_gap: int
    """Upper bound of the simulated time between two driver actions."""
    crash_weight: int
    """How often a chaos action is a crash, against 40 for client requests and 15 for operator actions."""
    crash_before_persist: float
    """The chance that a leader dies between sending a Ready that has entries and persisting it."""
    fresh_snapshots: bool
    """Send the state as applied now in place of the storage's snapshot, as etcd's server does (its
    "merged snapshot"): the snapshot then carries the current configuration, new members included."""

    @classmethod
    def draw(cls, rng: random.Random) -> Profile:
        return cls(
            Faults(
                drop=rng.choice([0.0, 0.02, 0.1, 0.25]),
                duplicate=rng.choice([0.0, 0.02, 0.1]),
                long_delay=rng.choice([0.0, 0.05, 0.2]),
            ),
            pre_vote=rng.random() < 0.7,
            check_quorum=rng.random() < 0.7,
            max_size_per_msg=rng.choice([1 << 20, 64, _ONE_ENTRY_PER_MSG]),
            max_inflight=rng.choice([256, 4, 1]),
            action_gap=rng.choice([4, 10, 25]),
            crash_weight=rng.choice([1, 4, 12]),
            crash_before_persist=rng.choice([0.0, 0.01, 0.05]),
            fresh_snapshots=rng.random() < 0.5,
        )
