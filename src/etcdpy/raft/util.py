"""Small helpers shared across the Raft core: entry sizes, size-limited batches, message kinds."""

from __future__ import annotations

import enum
from collections.abc import Sequence

from etcdpy.raft.raftpb import Entry, MessageType
from etcdpy.raft.wire import varint_size

NONE = 0
"""The member ID meaning "no member" (no leader, no vote)."""

NO_LIMIT = (1 << 64) - 1
"""A size limit that never binds (etcd's math.MaxUint64)."""


class CampaignType(enum.Enum):
    PRE_ELECTION = b"CampaignPreElection"
    ELECTION = b"CampaignElection"
    TRANSFER = b"CampaignTransfer"
    """Carried as the vote request's context: it overrides the voters' leader lease."""


def entry_size(e: Entry) -> int:
    """The protobuf-encoded size of `e`, the unit of etcd's size limits (empty data is not encoded)."""
    n = 3 + varint_size(e.type) + varint_size(e.term) + varint_size(e.index)
    if e.data:
        n += 1 + len(e.data) + varint_size(len(e.data))
    return n


def limit_count(ents: Sequence[Entry], lo: int, hi: int, max_size: int) -> int:
    """How many of ents[lo:hi] to take so that their total size stays within `max_size`.

    At least one entry is taken when the range is non-empty, whatever its size.
    """
    if hi - lo <= 1 or max_size >= NO_LIMIT:
        return hi - lo
    size = entry_size(ents[lo])
    for i in range(lo + 1, hi):
        size += entry_size(ents[i])
        if size > max_size:
            return i - lo
    return hi - lo


def payload_size(ents: Sequence[Entry]) -> int:
    """The total data size of `ents`: what the uncommitted-size limit counts."""
    return sum(len(e.data) for e in ents)


LOCAL_MESSAGES = frozenset(
    {
        MessageType.MsgHup,
        MessageType.MsgBeat,
        MessageType.MsgUnreachable,
        MessageType.MsgSnapStatus,
        MessageType.MsgCheckQuorum,
    }
)
"""Message types only a node itself generates; RawNode.step refuses them."""

RESPONSE_MESSAGES = frozenset(
    {
        MessageType.MsgAppResp,
        MessageType.MsgVoteResp,
        MessageType.MsgHeartbeatResp,
        MessageType.MsgUnreachable,
        MessageType.MsgPreVoteResp,
    }
)
"""Message types that answer a request; stepped only when they come from a tracked member."""


def vote_response_type(t: MessageType) -> MessageType:
    if t == MessageType.MsgVote:
        return MessageType.MsgVoteResp
    if t == MessageType.MsgPreVote:
        return MessageType.MsgPreVoteResp
    raise ValueError(f"not a vote message: {t.name}")
