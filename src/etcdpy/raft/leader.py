"""The leader's step function: proposals, replication flow control, reads, quorum checks, transfers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from etcdpy.raft.errors import ProposalDroppedError
from etcdpy.raft.quorum import VoteResult
from etcdpy.raft.raftpb import ConfChange, ConfChangeV2, Entry, EntryType, Message, MessageType, ReadState
from etcdpy.raft.read_only import ReadOnlyOption
from etcdpy.raft.tracker import Progress, ProgressState
from etcdpy.raft.util import NONE

if TYPE_CHECKING:
    from etcdpy.raft.raft import Raft

_EMPTY_ENTRY = Entry(0, 0)


def step_leader(r: Raft, m: Message) -> None:
    t = m.type
    # Message types that need no Progress of the sender.
    if t == MessageType.MsgProp:
        _propose(r, m)
        return
    if t == MessageType.MsgBeat:
        r.bcast_heartbeat()
        return
    if t == MessageType.MsgCheckQuorum:
        _check_quorum(r)
        return
    if t == MessageType.MsgReadIndex:
        _read_index(r, m)
        return

    pr = r.prs.progress.get(m.frm)
    if pr is None:
        return
    if t == MessageType.MsgAppResp:
        _append_response(r, m, pr)
    elif t == MessageType.MsgHeartbeatResp:
        _heartbeat_response(r, m, pr)
    elif t == MessageType.MsgSnapStatus:
        if pr.state != ProgressState.SNAPSHOT:
            return
        if m.reject:
            # Probe from the match, not from the snapshot that never arrived.
            pr.pending_snapshot = 0
        pr.become_probe()
        # Wait for the follower's MsgAppResp (or, after a failure, a heartbeat interval) before sending.
        pr.probe_sent = True
    elif t == MessageType.MsgUnreachable:
        # While streaming, an unreachable follower has probably lost MsgApps: find out where it is.
        if pr.state == ProgressState.REPLICATE:
            pr.become_probe()
    elif t == MessageType.MsgTransferLeader:
        _transfer_leader(r, m.frm, pr)


def _propose(r: Raft, m: Message) -> None:
    if not m.entries:
        raise AssertionError(f"{r.id:x} stepped empty MsgProp")
    if r.id not in r.prs.progress:
        raise ProposalDroppedError(f"{r.id:x} is no longer a member; dropping proposal")
    if r.lead_transferee != NONE:
        raise ProposalDroppedError(
            f"{r.id:x} [term {r.term}] transfer leadership to {r.lead_transferee:x} is in progress; "
            "dropping proposal"
        )
    ents = list(m.entries)
    for i, e in enumerate(ents):
        if e.type == EntryType.NORMAL:
            continue
        cc = (
            ConfChange.decode(e.data).as_v2()
            if e.type == EntryType.CONF_CHANGE
            else ConfChangeV2.decode(e.data)
        )
        joint = r.prs.config.voters.is_joint()
        if r.pending_conf_index > r.log.applied or joint != (not cc.changes):
            # Refused: a conf change is possibly unapplied, or it does not fit the joint state (only the
            # leave-joint change is allowed while joint, and only while joint). It keeps its slot in the
            # log as an empty entry.
            ents[i] = _EMPTY_ENTRY
        else:
            r.pending_conf_index = r.log.last_index() + i + 1
    if not r.append_entry(ents):
        raise ProposalDroppedError(f"{r.id:x} uncommitted entries over the size limit; dropping proposal")
    r.bcast_append()


def _check_quorum(r: Raft) -> None:
    own = r.prs.progress.get(r.id)
    if own is not None:
        own.recent_active = True
    if not r.prs.quorum_active():
        r.become_follower(r.term, NONE)
    # Everyone but this member must show activity again before the next check.
    for member, pr in r.prs.progress.items():
        if member != r.id:
            pr.recent_active = False


def _read_index(r: Raft, m: Message) -> None:
    if r.prs.is_singleton():
        resp = r.response_to_read_index_req(m, r.log.committed)
        if resp is not None:
            r.send(resp)
        return
    if not r.committed_entry_in_current_term():
        # Until this leader commits an entry of its term, its commit index may lag what earlier leaders
        # committed: a read served now could miss acknowledged writes.
        r.pending_read_index_messages.append(m)
        return
    r.send_read_index_response(m)


def _append_response(r: Raft, m: Message, pr: Progress) -> None:
    pr.recent_active = True
    if m.reject:
        next_probe = m.reject_hint
        if m.log_term > 0:
            # The follower has no entry of a term above m.log_term at or below the hint; skip the leader's
            # entries of higher terms than that too.
            next_probe = r.log.find_conflict_by_term(m.reject_hint, m.log_term)
        if pr.maybe_decr_to(m.index, next_probe):
            if pr.state == ProgressState.REPLICATE:
                pr.become_probe()
            r.send_append(m.frm)
        return

    old_paused = pr.is_paused()
    if not pr.maybe_update(m.index):
        return
    if pr.state == ProgressState.PROBE:
        pr.become_replicate()
    elif pr.state == ProgressState.SNAPSHOT and pr.match >= pr.pending_snapshot:
        # Caught up past the snapshot: back to streaming, through probe so the snapshot is accounted for.
        pr.become_probe()
        pr.become_replicate()
    elif pr.state == ProgressState.REPLICATE:
        pr.inflights.free_le(m.index)

    if r.maybe_commit():
        r.release_pending_read_index_messages()
        r.bcast_append()
    elif old_paused:
        # The follower may be missing the latest commit index.
        r.send_append(m.frm)
    # Flow control may now allow several messages at once (after probing, or when acks freed several
    # inflight slots); send what there is, without empty messages.
    while r.maybe_send_append(m.frm, False):
        pass
    if m.frm == r.lead_transferee and pr.match == r.log.last_index():
        r.send_timeout_now(m.frm)


def _heartbeat_response(r: Raft, m: Message, pr: Progress) -> None:
    pr.recent_active = True
    pr.probe_sent = False
    # A full window would stall the follower forever if its acks were lost: free one slot.
    if pr.state == ProgressState.REPLICATE and pr.inflights.full():
        pr.inflights.free_first_one()
    if pr.match < r.log.last_index():
        r.send_append(m.frm)

    if r.read_only.option != ReadOnlyOption.SAFE or not m.context:
        return
    acks = r.read_only.recv_ack(m.frm, m.context)
    if acks is None or r.prs.config.voters.vote_result(dict.fromkeys(acks, True)) != VoteResult.WON:
        return
    for rs in r.read_only.advance(m.context):
        req = rs.req
        if req.frm == NONE or req.frm == r.id:
            r.read_states.append(ReadState(rs.index, req.entries[0].data))
        else:
            r.send(
                Message(
                    MessageType.MsgReadIndexResp, req.frm, r.id, r.term, index=rs.index, entries=req.entries
                )
            )


def _transfer_leader(r: Raft, transferee: int, pr: Progress) -> None:
    if pr.is_learner:
        return
    if r.lead_transferee != NONE:
        if r.lead_transferee == transferee:
            return
        r.lead_transferee = NONE
    if transferee == r.id:
        return
    # The transfer must complete within an election timeout, or it is abandoned.
    r.election_elapsed = 0
    r.lead_transferee = transferee
    if pr.match == r.log.last_index():
        r.send_timeout_now(transferee)
    else:
        r.send_append(transferee)
