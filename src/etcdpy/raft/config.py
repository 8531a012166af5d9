"""The parameters of a Raft node."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from etcdpy.raft.errors import ConfigError
from etcdpy.raft.read_only import ReadOnlyOption
from etcdpy.raft.storage import Storage
from etcdpy.raft.util import NO_LIMIT

if TYPE_CHECKING:
    import random


@dataclass(slots=True, kw_only=True)
class Config:
    """Ticks are logical: the driver decides how long one is. Sizes are in encoded entry bytes.

    `rand` is the node's only source of randomness (randomized election timeouts).
    `max_size_per_msg`: NO_LIMIT for unlimited, 0 for one entry per MsgApp.
    `max_committed_size_per_ready`: 0 means max_size_per_msg. `max_uncommitted_entries_size`: 0 means no
    limit. `applied`: the last index the state machine applied before a restart.
    """

    id: int
    storage: Storage
    rand: random.Random
    election_tick: int = 10
    heartbeat_tick: int = 1
    applied: int = 0
    max_size_per_msg: int = 1 << 20
    max_committed_size_per_ready: int = 0
    max_uncommitted_entries_size: int = 0
    max_inflight_msgs: int = 256
    check_quorum: bool = False
    pre_vote: bool = False
    read_only_option: ReadOnlyOption = ReadOnlyOption.SAFE
    disable_proposal_forwarding: bool = False

    def validate(self) -> None:
        if self.id == 0:
            raise ConfigError("cannot use none as id")
        if self.heartbeat_tick <= 0:
            raise ConfigError("heartbeat tick must be greater than 0")
        if self.election_tick <= self.heartbeat_tick:
            raise ConfigError("election tick must be greater than heartbeat tick")
        if self.max_inflight_msgs <= 0:
            raise ConfigError("max inflight messages must be greater than 0")
        if self.read_only_option == ReadOnlyOption.LEASE_BASED and not self.check_quorum:
            raise ConfigError("CheckQuorum must be enabled when ReadOnlyOption is ReadOnlyLeaseBased")

    def uncommitted_limit(self) -> int:
        return self.max_uncommitted_entries_size or NO_LIMIT

    def committed_per_ready_limit(self) -> int:
        return self.max_committed_size_per_ready or self.max_size_per_msg
