"""Raft's data types: log entries, hard state, snapshots, membership changes, messages, Ready.

Names and numbers follow etcd's raftpb. Entries carry opaque bytes: the raft package knows
nothing of what the server puts in them, except for the membership changes it encodes itself
(`ConfChange`, `ConfChangeV2`, in etcd's protobuf encoding so the WAL holds what etcd's does).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from etcdpy.raft import wire


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
class ConfState:
    """A membership configuration. Each tuple is sorted; `voters_outgoing` is non-empty only in a joint
    configuration, and so is `learners_next` (voters of the outgoing half that become learners on leaving).
    """

    voters: tuple[int, ...] = ()
    learners: tuple[int, ...] = ()
    voters_outgoing: tuple[int, ...] = ()
    learners_next: tuple[int, ...] = ()
    auto_leave: bool = False

    def equivalent(self, other: ConfState) -> bool:
        """Equal up to the order of the IDs in each set."""
        return (
            sorted(self.voters) == sorted(other.voters)
            and sorted(self.learners) == sorted(other.learners)
            and sorted(self.voters_outgoing) == sorted(other.voters_outgoing)
            and sorted(self.learners_next) == sorted(other.learners_next)
            and self.auto_leave == other.auto_leave
        )


_EMPTY_CONF_STATE = ConfState()


@dataclass(frozen=True, slots=True)
class SnapshotMeta:
    """Where a snapshot cuts the log: every entry up to `index` (of `term`) is in it."""

    index: int = 0
    term: int = 0
    conf_state: ConfState = _EMPTY_CONF_STATE


_EMPTY_SNAPSHOT_META = SnapshotMeta()


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A state machine image as of `metadata.index`; empty when that index is 0."""

    data: bytes = b""
    metadata: SnapshotMeta = _EMPTY_SNAPSHOT_META

    def is_empty(self) -> bool:
        return self.metadata.index == 0


class ConfChangeType(enum.IntEnum):
    ADD_NODE = 0
    REMOVE_NODE = 1
    UPDATE_NODE = 2
    ADD_LEARNER_NODE = 3


class ConfChangeTransition(enum.IntEnum):
    """How a ConfChangeV2 uses joint consensus (etcd's ConfChangeTransition)."""

    AUTO = 0
    JOINT_IMPLICIT = 1
    JOINT_EXPLICIT = 2


@dataclass(frozen=True, slots=True)
class ConfChangeSingle:
    type: ConfChangeType
    node_id: int


@dataclass(frozen=True, slots=True)
class ConfChangeV2:
    """Several membership changes at once; with no changes, the request to leave a joint configuration."""

    transition: ConfChangeTransition = ConfChangeTransition.AUTO
    changes: tuple[ConfChangeSingle, ...] = ()
    context: bytes = b""

    def as_v2(self) -> ConfChangeV2:
        return self

    def enter_joint(self) -> bool | None:
        """None for a simple change (no joint state); else whether the joint state is left by itself."""
        if self.transition == ConfChangeTransition.AUTO and len(self.changes) <= 1:
            return None
        return self.transition != ConfChangeTransition.JOINT_EXPLICIT

    def leave_joint(self) -> bool:
        return self.transition == ConfChangeTransition.AUTO and not self.changes

    def encode(self) -> bytes:
        buf = bytearray()
        wire.put_varint_field(buf, 1, int(self.transition))
        for cc in self.changes:
            single = bytearray()
            wire.put_varint_field(single, 1, int(cc.type))
            wire.put_varint_field(single, 2, cc.node_id)
            wire.put_bytes_field(buf, 2, bytes(single))
        if self.context:
            wire.put_bytes_field(buf, 3, self.context)
        return bytes(buf)

    @classmethod
    def decode(cls, data: bytes) -> ConfChangeV2:
        transition, changes, context = ConfChangeTransition.AUTO, [], b""
        for field, value in wire.fields(data):
            if field == 1 and isinstance(value, int):
                transition = ConfChangeTransition(value)
            elif field == 2 and isinstance(value, bytes):
                changes.append(_decode_single(value))
            elif field == 3 and isinstance(value, bytes):
                context = value
        return cls(transition, tuple(changes), context)


def _decode_single(data: bytes) -> ConfChangeSingle:
    cc_type, node_id = ConfChangeType.ADD_NODE, 0
    for field, value in wire.fields(data):
        if field == 1 and isinstance(value, int):
            cc_type = ConfChangeType(value)
        elif field == 2 and isinstance(value, int):
            node_id = value
    return ConfChangeSingle(cc_type, node_id)


@dataclass(frozen=True, slots=True)
class ConfChange:
    """One membership change (etcd's ConfChange; `id` is the server's request ID, unused by raft)."""

    type: ConfChangeType
    node_id: int
    context: bytes = b""
    id: int = 0

    def as_v2(self) -> ConfChangeV2:
        return ConfChangeV2(changes=(ConfChangeSingle(self.type, self.node_id),), context=self.context)

    def encode(self) -> bytes:
        buf = bytearray()
        wire.put_varint_field(buf, 1, self.id)
        wire.put_varint_field(buf, 2, int(self.type))
        wire.put_varint_field(buf, 3, self.node_id)
        if self.context:
            wire.put_bytes_field(buf, 4, self.context)
        return bytes(buf)

    @classmethod
    def decode(cls, data: bytes) -> ConfChange:
        cc_id, cc_type, node_id, context = 0, ConfChangeType.ADD_NODE, 0, b""
        for field, value in wire.fields(data):
            if field == 1 and isinstance(value, int):
                cc_id = value
            elif field == 2 and isinstance(value, int):
                cc_type = ConfChangeType(value)
            elif field == 3 and isinstance(value, int):
                node_id = value
            elif field == 4 and isinstance(value, bytes):
                context = value
        return cls(cc_type, node_id, context, cc_id)


class MessageType(enum.IntEnum):
    MsgHup = 0
    MsgBeat = 1
    MsgProp = 2
    MsgApp = 3
    MsgAppResp = 4
    MsgVote = 5
    MsgVoteResp = 6
    MsgSnap = 7
    MsgHeartbeat = 8
    MsgHeartbeatResp = 9
    MsgUnreachable = 10
    MsgSnapStatus = 11
    MsgCheckQuorum = 12
    MsgTransferLeader = 13
    MsgTimeoutNow = 14
    MsgReadIndex = 15
    MsgReadIndexResp = 16
    MsgPreVote = 17
    MsgPreVoteResp = 18


@dataclass(frozen=True, slots=True)
class Message:
    """A message between members (or from the driver to its own node).

    `term` is 0 only for local messages and for MsgProp / MsgReadIndex, which are forwarded as if local.
    A rejected MsgAppResp carries the follower's hint: `reject_hint` (an index) and `log_term` (its term).
    """

    type: MessageType
    to: int
    frm: int
    term: int = 0
    log_term: int = 0
    index: int = 0
    entries: tuple[Entry, ...] = ()
    commit: int = 0
    snapshot: Snapshot | None = None
    reject: bool = False
    reject_hint: int = 0
    context: bytes = b""


class StateType(enum.IntEnum):
    FOLLOWER = 0
    CANDIDATE = 1
    LEADER = 2
    PRE_CANDIDATE = 3


@dataclass(frozen=True, slots=True)
class SoftState:
    """Volatile state, not persisted: the known leader (0 for none) and this node's role."""

    lead: int
    raft_state: StateType


@dataclass(frozen=True, slots=True)
class ReadState:
    """A linearizable read of the request `request_ctx` may be served once the state machine has
    applied `index`."""

    index: int
    request_ctx: bytes


@dataclass(frozen=True, slots=True)
class Ready:
    """What the consensus core asks its driver to do, in this order:

    1. persist `snapshot` (if any), `hard_state` (if not None) and `entries`, syncing when `must_sync`;
    2. send `messages` (a leader may send them before its own entries are durable; a follower may not);
    3. apply `snapshot` (if any), then `committed_entries`, which are already durable on a quorum;
    4. call advance(ready).
    Committed entries may be applied while step 1 is in flight: they were made durable by an earlier Ready.
    """

    hard_state: HardState | None
    entries: tuple[Entry, ...]
    committed_entries: tuple[Entry, ...]
    must_sync: bool
    messages: tuple[Message, ...] = ()
    snapshot: Snapshot | None = None
    soft_state: SoftState | None = None
    read_states: tuple[ReadState, ...] = ()
