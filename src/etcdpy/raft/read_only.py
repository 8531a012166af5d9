"""ReadIndex bookkeeping on the leader: reads waiting for a heartbeat round to confirm leadership."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from etcdpy.raft.raftpb import Message


class ReadOnlyOption(enum.IntEnum):
    SAFE = 0
    """Confirm leadership with a quorum of heartbeat acknowledgements for every read (linearizable)."""
    LEASE_BASED = 1
    """Trust the leader lease (needs CheckQuorum; unsafe under unbounded clock drift)."""


@dataclass(slots=True)
class ReadIndexStatus:
    """A pending read: `req` is the MsgReadIndex (its first entry's data is the request context), `index`
    the commit index when it arrived, `acks` the members that answered a heartbeat carrying it."""

    req: Message
    index: int
    acks: set[int] = field(default_factory=set)


class ReadOnly:
    """Invariant: `_queue` lists the contexts of `_pending` in arrival order."""

    __slots__ = ("_pending", "_queue", "option")

    def __init__(self, option: ReadOnlyOption) -> None:
        self.option = option
        self._pending: dict[bytes, ReadIndexStatus] = {}
        self._queue: list[bytes] = []

    def add_request(self, index: int, m: Message) -> None:
        """Queue the read `m` at commit index `index`; a context already pending is ignored."""
        ctx = m.entries[0].data
        if ctx in self._pending:
            return
        self._pending[ctx] = ReadIndexStatus(m, index)
        self._queue.append(ctx)

    def recv_ack(self, member: int, ctx: bytes) -> set[int] | None:
        """Record that `member` acknowledged the heartbeat carrying `ctx`; the acks so far, or None when
        no read with that context is pending."""
        rs = self._pending.get(ctx)
        if rs is None:
            return None
        rs.acks.add(member)
        return rs.acks

    def advance(self, ctx: bytes) -> list[ReadIndexStatus]:
        """Release the read with context `ctx` and every read queued before it (a later confirmation
        confirms the earlier reads too); empty when `ctx` is not pending."""
        if ctx not in self._pending:
            return []
        n = self._queue.index(ctx) + 1
        released = [self._pending.pop(c) for c in self._queue[:n]]
        del self._queue[:n]
        return released

    def last_pending_request_ctx(self) -> bytes:
        return self._queue[-1] if self._queue else b""

    def pending_count(self) -> int:
        return len(self._queue)
