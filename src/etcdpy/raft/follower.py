"""The step functions of followers and (pre-)candidates, and how a follower takes in the leader's log."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from etcdpy.raft.errors import ProposalDroppedError
from etcdpy.raft.quorum import VoteResult
from etcdpy.raft.raftpb import Message, MessageType, ReadState, StateType
from etcdpy.raft.util import NONE, CampaignType

if TYPE_CHECKING:
    from etcdpy.raft.raft import Raft

_APP = MessageType.MsgApp
_APP_RESP = MessageType.MsgAppResp
_HEARTBEAT = MessageType.MsgHeartbeat
_SNAP = MessageType.MsgSnap
_PROP = MessageType.MsgProp


def step_follower(r: Raft, m: Message) -> None:
    t = m.type
    if t == _APP:
        r.election_elapsed = 0
        r.lead = m.frm
        handle_append_entries(r, m)
    elif t == _HEARTBEAT:
        r.election_elapsed = 0
        r.lead = m.frm
        handle_heartbeat(r, m)
    elif t == _SNAP:
        r.election_elapsed = 0
        r.lead = m.frm
        handle_snapshot(r, m)
    elif t == _PROP:
        if r.lead == NONE:
            raise ProposalDroppedError(f"{r.id:x} no leader at term {r.term}; dropping proposal")
        if r.disable_proposal_forwarding:
            raise ProposalDroppedError(f"{r.id:x} not forwarding to leader {r.lead:x}; dropping proposal")
        r.send(dataclasses.replace(m, to=r.lead, frm=r.id))
    elif t == MessageType.MsgTransferLeader:
        # Forwarded to the leader (in this member's term); dropped when there is none.
        if r.lead != NONE:
            r.send(dataclasses.replace(m, to=r.lead, frm=r.id, term=r.term))
    elif t == MessageType.MsgReadIndex:
        # Forwarded as if local (no term), like a proposal; dropped when there is no leader.
        if r.lead != NONE:
            r.send(dataclasses.replace(m, to=r.lead, frm=r.id))
    elif t == MessageType.MsgTimeoutNow:
        # The leader hands over: campaign at once, without a pre-vote (this is no partitioned member).
        r.hup(CampaignType.TRANSFER)
    elif t == MessageType.MsgReadIndexResp and len(m.entries) == 1:
        r.read_states.append(ReadState(m.index, m.entries[0].data))


def step_candidate(r: Raft, m: Message) -> None:
    """Shared by candidates and pre-candidates; each counts only the answers to its own kind of request
    (a candidate may still receive stale pre-vote answers of this term)."""
    t = m.type
    own_response = (
        MessageType.MsgPreVoteResp if r.state == StateType.PRE_CANDIDATE else MessageType.MsgVoteResp
    )
    if t == _PROP:
        raise ProposalDroppedError(f"{r.id:x} no leader at term {r.term}; dropping proposal")
    if t == _APP:
        r.become_follower(m.term, m.frm)  # m.term == r.term: a leader was elected in this term
        handle_append_entries(r, m)
    elif t == _HEARTBEAT:
        r.become_follower(m.term, m.frm)
        handle_heartbeat(r, m)
    elif t == _SNAP:
        r.become_follower(m.term, m.frm)
        handle_snapshot(r, m)
    elif t == own_response:
        _, _, result = r.poll(m.frm, not m.reject)
        if result == VoteResult.WON:
            if r.state == StateType.PRE_CANDIDATE:
                r.campaign(CampaignType.ELECTION)
            else:
                r.become_leader()
                r.bcast_append()
        elif result == VoteResult.LOST:
            # A rejected pre-vote may carry a higher term; the pre-candidate keeps its own.
            r.become_follower(r.term, NONE)


def handle_append_entries(r: Raft, m: Message) -> None:
    log = r.log
    if m.index < log.committed:
        r.send(Message(_APP_RESP, m.frm, r.id, r.term, index=log.committed))
        return
    last_new = log.maybe_append(m.index, m.log_term, m.commit, m.entries)
    if last_new is not None:
        r.send(Message(_APP_RESP, m.frm, r.id, r.term, index=last_new))
        return
    # The log does not match at m.index. Hint the largest (index, term) at which it may match: the last
    # entry at or below m.index whose term is <= m.log_term, which skips every entry of this member's
    # tail written in terms the leader's log does not have there.
    hint_index = log.find_conflict_by_term(min(m.index, log.last_index()), m.log_term)
    hint_term = log.term(hint_index)
    r.send(Message(_APP_RESP, m.frm, r.id, r.term, hint_term, m.index, reject=True, reject_hint=hint_index))


def handle_heartbeat(r: Raft, m: Message) -> None:
    r.log.commit_to(m.commit)
    r.send(Message(MessageType.MsgHeartbeatResp, m.frm, r.id, r.term, context=m.context))


def handle_snapshot(r: Raft, m: Message) -> None:
    index = r.log.last_index() if m.snapshot is not None and r.restore(m.snapshot) else r.log.committed
    r.send(Message(_APP_RESP, m.frm, r.id, r.term, index=index))
