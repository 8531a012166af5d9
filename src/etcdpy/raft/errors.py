"""The errors the Raft core raises (etcd's raft error values, as exceptions)."""

from __future__ import annotations


class RaftError(Exception):
    """Base of every error this package raises on purpose."""


class ProposalDroppedError(RaftError):
    """The proposal was not appended: no leader known, a leader transfer is in progress, forwarding is
    disabled, this node is no longer a member, or the uncommitted tail is over its size limit."""

    def __init__(self, reason: str = "raft proposal dropped") -> None:
        super().__init__(reason)


class StepLocalMsgError(RaftError, ValueError):
    """RawNode.step was given a message type that only the node itself may generate."""

    def __init__(self) -> None:
        super().__init__("raft: cannot step raft local message")


class StepPeerNotFoundError(RaftError, ValueError):
    """RawNode.step was given a response from a member this node does not track."""

    def __init__(self) -> None:
        super().__init__("raft: cannot step as peer not found")


class ConfigError(RaftError, ValueError):
    """An invalid Config, or a membership change that cannot be applied to the current configuration."""


class StorageError(RaftError):
    """Base of the errors a Storage raises."""


class CompactedError(StorageError):
    """The requested index is below the first index: it was compacted into a snapshot."""

    def __init__(self) -> None:
        super().__init__("requested index is unavailable due to compaction")


class UnavailableError(StorageError):
    """The requested index is above the last index of the storage."""

    def __init__(self) -> None:
        super().__init__("requested entry at index is unavailable")


class SnapOutOfDateError(StorageError):
    """The snapshot is not newer than the one the storage holds."""

    def __init__(self) -> None:
        super().__init__("requested index is older than the existing snapshot")


class SnapshotTemporarilyUnavailableError(StorageError):
    """The storage is preparing a snapshot; the leader retries later."""

    def __init__(self) -> None:
        super().__init__("snapshot is temporarily unavailable")
