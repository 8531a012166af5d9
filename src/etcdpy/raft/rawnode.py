"""RawNode: the driver-facing API of one Raft member (etcd's raft.RawNode).

The driver ticks it, steps it with peers' messages, proposes, and runs the Ready loop: take a Ready,
persist / send / apply what it says, then advance(ready) before taking the next one.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from etcdpy.raft.config import Config
from etcdpy.raft.errors import ProposalDroppedError, RaftError, StepLocalMsgError, StepPeerNotFoundError
from etcdpy.raft.raft import Raft
from etcdpy.raft.raftpb import (
    ConfChange,
    ConfChangeType,
    ConfChangeV2,
    ConfState,
    Entry,
    EntryType,
    HardState,
    Message,
    MessageType,
    Ready,
)
from etcdpy.raft.status import Status
from etcdpy.raft.util import LOCAL_MESSAGES, NONE, RESPONSE_MESSAGES


@dataclass(frozen=True, slots=True)
class Peer:
    """A member of the initial configuration; `context` goes into its ConfChange (etcd: the member JSON)."""

    id: int
    context: bytes = b""


class RawNode:
    """Invariant: `_prev_hard` is the hard state the driver last persisted (through advance), `_prev_soft`
    the soft state last reported in a Ready."""

    __slots__ = ("_prev_hard", "_prev_soft", "raft")

    def __init__(self, cfg: Config) -> None:
        self.raft = Raft(cfg)
        self._prev_soft = self.raft.soft_state()
        self._prev_hard = self.raft.hard_state()

    def bootstrap(self, peers: Iterable[int | Peer]) -> None:
        """Start a new group on an empty storage as etcd does: entries 1..n at term 1 add the peers as
        voters (CONF_CHANGE entries, committed); the configuration takes effect at once and the entries
        come out of the first Ready, to be persisted and applied like any other."""
        members = [p if isinstance(p, Peer) else Peer(p) for p in peers]
        if not members:
            raise RaftError("must provide at least one peer to Bootstrap")
        r = self.raft
        if r.log.storage.last_index() != 0:
            raise RaftError("can't bootstrap a nonempty Storage")
        # Nothing is persisted yet: the first Ready must carry the hard state.
        self._prev_hard = HardState()
        r.become_follower(1, NONE)
        ents = [
            Entry(
                1, i + 1, EntryType.CONF_CHANGE, ConfChange(ConfChangeType.ADD_NODE, p.id, p.context).encode()
            )
            for i, p in enumerate(members)
        ]
        r.log.append(ents)
        r.log.committed = len(ents)
        for p in members:
            r.apply_conf_change(ConfChange(ConfChangeType.ADD_NODE, p.id).as_v2())

    # ---- input ----------------------------------------------------------------------------------------

    def tick(self) -> None:
        self.raft.tick()

    def tick_quiesced(self) -> None:
        """Advance the election clock without heartbeats or elections (an idle group)."""
        self.raft.election_elapsed += 1

    def campaign(self) -> None:
        self.raft.step(Message(MessageType.MsgHup, NONE, NONE))

    def propose(self, data: bytes) -> None:
        """Raises ProposalDroppedError when the proposal cannot be appended or forwarded."""
        self.propose_batch((data,))

    def propose_batch(self, datas: Sequence[bytes]) -> None:
        """Propose several entries in one message: appended (or dropped) together, in order."""
        r = self.raft
        normal = EntryType.NORMAL
        r.step(Message(MessageType.MsgProp, NONE, r.id, entries=tuple(Entry(0, 0, normal, d) for d in datas)))

    def propose_conf_change(self, cc: ConfChange | ConfChangeV2) -> None:
        """Propose a membership change. While another one may be unapplied, the leader appends it as an
        empty entry instead (the change is silently refused, as in etcd)."""
        etype = EntryType.CONF_CHANGE if isinstance(cc, ConfChange) else EntryType.CONF_CHANGE_V2
        self.raft.step(Message(MessageType.MsgProp, NONE, NONE, entries=(Entry(0, 0, etype, cc.encode()),)))

    def apply_conf_change(self, cc: ConfChange | ConfChangeV2) -> ConfState:
        """Apply a committed membership change (the driver calls it when applying its entry)."""
        return self.raft.apply_conf_change(cc.as_v2())

    def step(self, m: Message) -> None:
        """Process a message from a peer. Local message types raise StepLocalMsgError; responses from
        members this node does not track raise StepPeerNotFoundError. A forwarded proposal that cannot be
        appended is dropped silently (the network layer has no one to tell)."""
        if m.type in LOCAL_MESSAGES:
            raise StepLocalMsgError()
        if m.frm not in self.raft.prs.progress and m.type in RESPONSE_MESSAGES:
            raise StepPeerNotFoundError()
        try:
            self.raft.step(m)
        except ProposalDroppedError:
            if m.type != MessageType.MsgProp:
                raise

    def read_index(self, ctx: bytes) -> None:
        """Request a linearizable read point; it arrives as a ReadState with this context in a later Ready
        (or never, if leadership changes meanwhile: the caller retries)."""
        self.raft.step(Message(MessageType.MsgReadIndex, NONE, NONE, entries=(Entry(0, 0, data=ctx),)))

    def transfer_leader(self, transferee: int) -> None:
        self.raft.step(Message(MessageType.MsgTransferLeader, NONE, transferee))

    def report_unreachable(self, member: int) -> None:
        self.raft.step(Message(MessageType.MsgUnreachable, NONE, member))

    def report_snapshot(self, member: int, ok: bool) -> None:
        """Report whether the MsgSnap sent to `member` was delivered and applied."""
        self.raft.step(Message(MessageType.MsgSnapStatus, NONE, member, reject=not ok))

    # ---- output ---------------------------------------------------------------------------------------

    def has_ready(self) -> bool:
        r = self.raft
        soft = self._prev_soft
        if r.lead != soft.lead or r.state != soft.raft_state:
            return True
        log = r.log
        hard = self._prev_hard
        # The hard state changed (an all-zero one never counts).
        if (r.term != hard.term or r.vote != hard.vote or log.committed != hard.commit) and (
            r.term or r.vote or log.committed
        ):
            return True
        return bool(
            log.unstable.snapshot is not None
            or r.msgs
            or log.unstable.entries
            or log.has_next_ents()
            or r.read_states
        )

    def ready(self) -> Ready:
        """What to persist, send and apply now. Call advance(ready) before the next ready()."""
        r = self.raft
        log = r.log
        entries = tuple(log.unstable.entries)
        soft = r.soft_state()
        hard = r.hard_state()
        prev = self._prev_hard
        rd = Ready(
            hard_state=None if hard == prev else hard,
            entries=entries,
            committed_entries=tuple(log.next_ents()),
            must_sync=bool(entries) or hard.term != prev.term or hard.vote != prev.vote,
            messages=tuple(r.msgs),
            snapshot=log.unstable.snapshot,
            soft_state=None if soft == self._prev_soft else soft,
            read_states=tuple(r.read_states),
        )
        if rd.soft_state is not None:
            self._prev_soft = rd.soft_state
        r.read_states = []
        r.msgs = []
        return rd

    def advance(self, rd: Ready) -> None:
        """`rd` has been persisted, sent and applied."""
        if rd.hard_state is not None and not rd.hard_state.is_empty():
            self._prev_hard = rd.hard_state
        self.raft.advance(rd.committed_entries, rd.entries, rd.snapshot)

    def status(self) -> Status:
        return Status.of(self.raft)
