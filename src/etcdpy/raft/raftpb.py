"""Raft's persistent data types: log entries, the hard state, snapshot metadata.

Entries carry opaque bytes; the raft package knows nothing of what the server
puts in them. The WAL persists these types; the consensus core produces them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class EntryType(enum.IntEnum):
    NORMAL = 0
    CONF_CHANGE = 1
    CONF_CHANGE_V2 = 2


@dataclass(frozen=True, slots=True)
class Entry:
    term: int
    index: int
    type: EntryType = EntryType.NORMAL
    data: bytes = b""


@dataclass(frozen=True, slots=True)
class HardState:
    """State that must be on stable storage before any message is sent.

    Invariant: term never decreases; vote is 0 or a member ID voted for in `term`;
    commit never decreases and never exceeds the last durable log index.
    """

    term: int = 0
    vote: int = 0
    commit: int = 0

    def is_empty(self) -> bool:
        return self.term == 0 and self.vote == 0 and self.commit == 0


@dataclass(frozen=True, slots=True)
class SnapshotMeta:
    """Where a snapshot cuts the log: every entry up to `index` (of `term`) is in it."""

    index: int = 0
    term: int = 0


@dataclass(frozen=True, slots=True)
class Ready:
    """What the consensus core asks its driver to do, in this order:

    1. persist `hard_state` (if not None) and `entries`, syncing when `must_sync`;
    2. send messages (none for a single member);
    3. apply `committed_entries`, which are already durable on a quorum;
    4. call advance(ready).
    Committed entries may be applied while step 1 is in flight: they were made
    durable by an earlier Ready.
    """

    hard_state: HardState | None
    entries: tuple[Entry, ...]
    committed_entries: tuple[Entry, ...]
    must_sync: bool
