"""The Raft consensus core: a deterministic state machine with no I/O, clock or randomness inside.

Time arrives as RawNode.tick(), randomness as Config.rand, messages as RawNode.step(); everything the core
wants done leaves through a Ready. See docs/raft.md for the contract.
"""

from etcdpy.raft.config import Config
from etcdpy.raft.errors import (
    CompactedError,
    ConfigError,
    ProposalDroppedError,
    RaftError,
    SnapOutOfDateError,
    SnapshotTemporarilyUnavailableError,
    StepLocalMsgError,
    StepPeerNotFoundError,
    UnavailableError,
)
from etcdpy.raft.rawnode import Peer, RawNode
from etcdpy.raft.read_only import ReadOnlyOption
from etcdpy.raft.status import Status
from etcdpy.raft.storage import MemoryStorage, Storage

__all__ = [
    "CompactedError",
    "Config",
    "ConfigError",
    "MemoryStorage",
    "Peer",
    "ProposalDroppedError",
    "RaftError",
    "RawNode",
    "ReadOnlyOption",
    "SnapOutOfDateError",
    "SnapshotTemporarilyUnavailableError",
    "Status",
    "StepLocalMsgError",
    "StepPeerNotFoundError",
    "Storage",
    "UnavailableError",
]
