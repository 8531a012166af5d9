"""The Raft state machine: roles, terms, elections, ticks and the sending side of replication.

Each role has a step function (leader.py, follower.py) for the messages that depend on the role; `step`
here handles what does not: the term of the message, elections, votes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from etcdpy.raft.confchange import Changer, restore
from etcdpy.raft.config import Config
from etcdpy.raft.errors import (
    CompactedError,
    ConfigError,
    SnapshotTemporarilyUnavailableError,
    UnavailableError,
)
from etcdpy.raft.follower import step_candidate as _step_candidate
from etcdpy.raft.follower import step_follower as _step_follower
from etcdpy.raft.leader import step_leader as _step_leader
from etcdpy.raft.log import RaftLog
from etcdpy.raft.quorum import VoteResult
from etcdpy.raft.raftpb import (
    ConfChangeV2,
    ConfState,
    Entry,
    EntryType,
    HardState,
    Message,
    MessageType,
    ReadState,
    Snapshot,
    SoftState,
    StateType,
)
from etcdpy.raft.read_only import ReadOnly, ReadOnlyOption
from etcdpy.raft.tracker import Inflights, Progress, ProgressState, ProgressTracker, TrackerConfig
from etcdpy.raft.util import NO_LIMIT, NONE, CampaignType, payload_size, vote_response_type

if TYPE_CHECKING:
    import random

_APP = MessageType.MsgApp
_APP_RESP = MessageType.MsgAppResp
_HEARTBEAT = MessageType.MsgHeartbeat
_SNAP = MessageType.MsgSnap
_VOTE = MessageType.MsgVote
_PRE_VOTE = MessageType.MsgPreVote
_PRE_VOTE_RESP = MessageType.MsgPreVoteResp


StepFunc = Callable[["Raft", Message], None]


class Raft:
    """One member's Raft state. Outgoing messages accumulate in `msgs` and read states in `read_states`
    until RawNode hands them out in a Ready.

    Invariants: `term` never decreases; `vote` is NONE or the member voted for in `term`; `lead` is the
    leader known for `term` (NONE if unknown); the tracker's Progress of this member, when present,
    matches the last index of the log while leading.
    """

    __slots__ = (
        "check_quorum",
        "disable_proposal_forwarding",
        "election_elapsed",
        "election_timeout",
        "heartbeat_elapsed",
        "heartbeat_timeout",
        "id",
        "is_learner",
        "lead",
        "lead_transferee",
        "log",
        "max_msg_size",
        "max_uncommitted_size",
        "msgs",
        "pending_conf_index",
        "pending_read_index_messages",
        "pre_vote",
        "prs",
        "rand",
        "randomized_election_timeout",
        "read_only",
        "read_states",
        "state",
        "step_role",
        "term",
        "tick",
        "uncommitted_size",
        "vote",
    )

    def __init__(self, cfg: Config) -> None:
        cfg.validate()
        self.id = cfg.id
        self.term = 0
        self.vote = NONE
        self.log = RaftLog(cfg.storage, cfg.committed_per_ready_limit())
        self.max_msg_size = cfg.max_size_per_msg
        self.max_uncommitted_size = cfg.uncommitted_limit()
        self.prs = ProgressTracker(cfg.max_inflight_msgs)
        self.state = StateType.FOLLOWER
        self.is_learner = False
        self.msgs: list[Message] = []
        self.read_states: list[ReadState] = []
        self.lead = NONE
        self.lead_transferee = NONE
        # A conf change may be proposed only once the log is applied past this index.
        self.pending_conf_index = 0
        # Payload bytes of this leader's uncommitted tail (an underestimate, never an overestimate).
        self.uncommitted_size = 0
        self.read_only = ReadOnly(cfg.read_only_option)
        # Reads that arrived before this leader committed an entry of its term.
        self.pending_read_index_messages: list[Message] = []
        self.election_elapsed = 0
        self.heartbeat_elapsed = 0
        self.check_quorum = cfg.check_quorum
        self.pre_vote = cfg.pre_vote
        self.heartbeat_timeout = cfg.heartbeat_tick
        self.election_timeout = cfg.election_tick
        self.randomized_election_timeout = cfg.election_tick
        self.disable_proposal_forwarding = cfg.disable_proposal_forwarding
        self.rand: random.Random = cfg.rand
        self.tick: Callable[[], None] = self.tick_election
        self.step_role: StepFunc = _step_follower

        hs, cs = cfg.storage.initial_state()
        changer = Changer(self.prs.config, self.prs.progress, cfg.max_inflight_msgs, self.log.last_index())
        config, progress = restore(changer, cs)
        _check_equivalent(cs, self.switch_to_config(config, progress))
        if not hs.is_empty():
            self.load_state(hs)
        if cfg.applied > 0:
            self.log.applied_to(cfg.applied)
        self.become_follower(self.term, NONE)

    # ---- state views ----------------------------------------------------------------------------------

    def soft_state(self) -> SoftState:
        return SoftState(self.lead, self.state)

    def hard_state(self) -> HardState:
        return HardState(self.term, self.vote, self.log.committed)

    def promotable(self) -> bool:
        """Whether this member may campaign: it is a voter of the current configuration."""
        pr = self.prs.progress.get(self.id)
        return pr is not None and not pr.is_learner

    def load_state(self, hs: HardState) -> None:
        if hs.commit < self.log.committed or hs.commit > self.log.last_index():
            raise AssertionError(
                f"{self.id:x} state.commit {hs.commit} is out of range "
                f"[{self.log.committed}, {self.log.last_index()}]"
            )
        self.log.committed = hs.commit
        self.term = hs.term
        self.vote = hs.vote

    # ---- sending ------------------------------------------------------------------------------------

    def send(self, m: Message) -> None:
        self.msgs.append(m)

    def send_append(self, to: int) -> None:
        self.maybe_send_append(to, True)

    def maybe_send_append(self, to: int, send_if_empty: bool) -> bool:
        """Send `to` the entries it lacks (or a snapshot when they are compacted away); returns whether a
        message was sent. Without `send_if_empty`, a MsgApp with no entries is not worth sending."""
        pr = self.prs.progress[to]
        if pr.is_paused():
            return False
        log = self.log
        prev = pr.next - 1
        try:
            prev_term = log.term(prev)
            ents = log.entries(pr.next, self.max_msg_size)
        except (CompactedError, UnavailableError):
            if not send_if_empty:
                return False
            return self._send_snapshot(to, pr)
        if not ents and not send_if_empty:
            return False
        if ents:
            if pr.state == ProgressState.REPLICATE:
                last = ents[-1].index
                pr.next = last + 1
                pr.inflights.add(last)
            elif pr.state == ProgressState.PROBE:
                pr.probe_sent = True
            else:
                raise AssertionError(
                    f"{self.id:x} is sending append in unhandled state {pr.state.describe()}"
                )
        self.msgs.append(Message(_APP, to, self.id, self.term, prev_term, prev, tuple(ents), log.committed))
        return True

    def _send_snapshot(self, to: int, pr: Progress) -> bool:
        if not pr.recent_active:
            return False
        try:
            snapshot = self.log.snapshot()
        except SnapshotTemporarilyUnavailableError:
            return False
        if snapshot.is_empty():
            raise AssertionError("need non-empty snapshot")
        pr.become_snapshot(snapshot.metadata.index)
        self.msgs.append(Message(_SNAP, to, self.id, self.term, snapshot=snapshot))
        return True

    def send_heartbeat(self, to: int, ctx: bytes) -> None:
        # The follower may not have the leader's committed entries yet: never commit past its match.
        commit = min(self.prs.progress[to].match, self.log.committed)
        self.msgs.append(Message(_HEARTBEAT, to, self.id, self.term, commit=commit, context=ctx))

    def bcast_append(self) -> None:
        for member in self.prs.ids:
            if member != self.id:
                self.maybe_send_append(member, True)

    def bcast_heartbeat(self) -> None:
        self.bcast_heartbeat_with_ctx(self.read_only.last_pending_request_ctx())

    def bcast_heartbeat_with_ctx(self, ctx: bytes) -> None:
        for member in self.prs.ids:
            if member != self.id:
                self.send_heartbeat(member, ctx)

    def send_timeout_now(self, to: int) -> None:
        self.msgs.append(Message(MessageType.MsgTimeoutNow, to, self.id, self.term))

    # ---- log ----------------------------------------------------------------------------------------

    def maybe_commit(self) -> bool:
        """Advance the commit index to what a quorum has; returns whether it moved."""
        return self.log.maybe_commit(self.prs.committed(), self.term)

    def append_entry(self, ents: Sequence[Entry]) -> bool:
        """Append proposals (their term and index are assigned here); False when they would push the
        uncommitted tail over its size limit."""
        li = self.log.last_index()
        term = self.term
        stamped = [Entry(term, li + 1 + i, e.type, e.data) for i, e in enumerate(ents)]
        if not self._increase_uncommitted_size(stamped):
            return False
        li = self.log.append(stamped)
        self.prs.progress[self.id].maybe_update(li)
        self.maybe_commit()
        return True

    def _increase_uncommitted_size(self, ents: Sequence[Entry]) -> bool:
        size = payload_size(ents)
        # An empty uncommitted tail admits a proposal of any size; empty entries are always admitted.
        if (
            size > 0
            and self.uncommitted_size > 0
            and self.uncommitted_size + size > self.max_uncommitted_size
        ):
            return False
        self.uncommitted_size += size
        return True

    def reduce_uncommitted_size(self, ents: Sequence[Entry]) -> None:
        if self.uncommitted_size == 0:
            return
        self.uncommitted_size = max(0, self.uncommitted_size - payload_size(ents))

    def committed_entry_in_current_term(self) -> bool:
        return self.log.term_or_zero(self.log.committed) == self.term

    def advance(
        self, committed: Sequence[Entry], entries: Sequence[Entry], snapshot: Snapshot | None
    ) -> None:
        """The driver persisted `entries` and `snapshot`, and applied `committed` (RawNode.advance)."""
        applied = committed[-1].index if committed else snapshot.metadata.index if snapshot is not None else 0
        if applied > 0:
            self.log.applied_to(applied)
            if (
                self.prs.config.auto_leave
                and applied >= self.pending_conf_index
                and self.state == StateType.LEADER
            ):
                # The joint configuration asked to be left automatically: propose leaving it now. Empty
                # data decodes as the empty ConfChangeV2 and costs nothing against the size limit.
                if not self.append_entry([Entry(0, 0, EntryType.CONF_CHANGE_V2)]):
                    raise AssertionError("refused un-refusable auto-leaving ConfChangeV2")
                self.pending_conf_index = self.log.last_index()
        self.reduce_uncommitted_size(committed)
        if entries:
            last = entries[-1]
            self.log.stable_to(last.index, last.term)
        if snapshot is not None:
            self.log.stable_snap_to(snapshot.metadata.index)

    # ---- roles --------------------------------------------------------------------------------------

    def reset(self, term: int) -> None:
        if self.term != term:
            self.term = term
            self.vote = NONE
        self.lead = NONE
        self.election_elapsed = 0
        self.heartbeat_elapsed = 0
        self.randomized_election_timeout = self.election_timeout + self.rand.randrange(self.election_timeout)
        self.lead_transferee = NONE
        prs = self.prs
        prs.reset_votes()
        last = self.log.last_index()
        progress = prs.progress
        for member, pr in progress.items():
            fresh = Progress(0, last + 1, Inflights(prs.max_inflight), pr.is_learner)
            if member == self.id:
                fresh.match = last
            progress[member] = fresh
        self.pending_conf_index = 0
        self.uncommitted_size = 0
        self.read_only = ReadOnly(self.read_only.option)
        self.pending_read_index_messages = []

    def become_follower(self, term: int, lead: int) -> None:
        self.step_role = _step_follower
        self.reset(term)
        self.tick = self.tick_election
        self.lead = lead
        self.state = StateType.FOLLOWER

    def become_candidate(self) -> None:
        if self.state == StateType.LEADER:
            raise AssertionError("invalid transition [leader -> candidate]")
        self.step_role = _step_candidate
        self.reset(self.term + 1)
        self.tick = self.tick_election
        self.vote = self.id
        self.state = StateType.CANDIDATE

    def become_pre_candidate(self) -> None:
        """Pre-candidacy changes neither the term nor the vote: it only asks whether an election could
        be won before disrupting anyone with a higher term."""
        if self.state == StateType.LEADER:
            raise AssertionError("invalid transition [leader -> pre-candidate]")
        self.step_role = _step_candidate
        self.prs.reset_votes()
        self.tick = self.tick_election
        self.lead = NONE
        self.state = StateType.PRE_CANDIDATE

    def become_leader(self) -> None:
        if self.state == StateType.FOLLOWER:
            raise AssertionError("invalid transition [follower -> leader]")
        self.step_role = _step_leader
        self.reset(self.term)
        self.tick = self.tick_heartbeat
        self.lead = self.id
        self.state = StateType.LEADER
        self.prs.progress[self.id].become_replicate()
        # Whether or not a conf change is pending in the tail, none may be proposed before it is applied.
        self.pending_conf_index = self.log.last_index()
        if not self.append_entry([Entry(0, 0)]):
            raise AssertionError("empty entry was dropped")

    # ---- ticks --------------------------------------------------------------------------------------

    def tick_election(self) -> None:
        """Followers and candidates: campaign once the randomized election timeout passes."""
        self.election_elapsed += 1
        if self.promotable() and self.election_elapsed >= self.randomized_election_timeout:
            self.election_elapsed = 0
            self.step(Message(MessageType.MsgHup, NONE, self.id))

    def tick_heartbeat(self) -> None:
        """Leaders: heartbeat every heartbeat timeout; check quorum and give up a stalled leader transfer
        every election timeout."""
        self.heartbeat_elapsed += 1
        self.election_elapsed += 1
        if self.election_elapsed >= self.election_timeout:
            self.election_elapsed = 0
            if self.check_quorum:
                self.step(Message(MessageType.MsgCheckQuorum, NONE, self.id))
            if self.state == StateType.LEADER and self.lead_transferee != NONE:
                self.lead_transferee = NONE
        if self.state != StateType.LEADER:
            return
        if self.heartbeat_elapsed >= self.heartbeat_timeout:
            self.heartbeat_elapsed = 0
            self.step(Message(MessageType.MsgBeat, NONE, self.id))

    # ---- elections ----------------------------------------------------------------------------------

    def hup(self, t: CampaignType) -> None:
        if self.state == StateType.LEADER or not self.promotable():
            return
        if self._pending_conf_changes_unapplied():
            return
        self.campaign(t)

    def _pending_conf_changes_unapplied(self) -> bool:
        """A member must apply the conf changes it knows committed before campaigning: it may be about
        to leave the configuration it would campaign in."""
        log = self.log
        if log.committed <= log.applied:
            return False
        lo = max(log.applied + 1, log.first_index())
        if lo > log.committed:
            return False
        return any(e.type != EntryType.NORMAL for e in log.slice(lo, log.committed + 1, NO_LIMIT))

    def campaign(self, t: CampaignType) -> None:
        if t == CampaignType.PRE_ELECTION:
            self.become_pre_candidate()
            vote_msg = _PRE_VOTE
            # A pre-vote asks for the term this member would campaign in, without moving to it yet.
            term = self.term + 1
        else:
            self.become_candidate()
            vote_msg = _VOTE
            term = self.term
        _, _, result = self.poll(self.id, True)
        if result == VoteResult.WON:
            # A single voter wins by its own vote.
            if t == CampaignType.PRE_ELECTION:
                self.campaign(CampaignType.ELECTION)
            else:
                self.become_leader()
            return
        ctx = t.value if t == CampaignType.TRANSFER else b""
        last_index, last_term = self.log.last_index(), self.log.last_term()
        for member in self.prs.voter_nodes():
            if member != self.id:
                self.msgs.append(Message(vote_msg, member, self.id, term, last_term, last_index, context=ctx))

    def poll(self, member: int, granted: bool) -> tuple[int, int, VoteResult]:
        """Record `member`'s answer; (granted, rejected, result) of the election so far."""
        self.prs.record_vote(member, granted)
        return self.prs.tally_votes()

    # ---- stepping -----------------------------------------------------------------------------------

    def step(self, m: Message) -> None:
        """Process one message; raises ProposalDroppedError for a proposal that cannot be appended."""
        mtype = m.type
        if m.term == 0:
            pass  # a local message, or a forwarded proposal or read
        elif m.term > self.term:
            if mtype in (_VOTE, _PRE_VOTE):
                force = m.context == CampaignType.TRANSFER.value
                in_lease = (
                    self.check_quorum and self.lead != NONE and self.election_elapsed < self.election_timeout
                )
                if not force and in_lease:
                    # Heard from a live leader within the election timeout: neither move to the
                    # candidate's term nor grant it a vote.
                    return
            if mtype == _PRE_VOTE:
                pass  # never change term because of a pre-vote
            elif mtype == _PRE_VOTE_RESP and not m.reject:
                pass  # a granted pre-vote carries the future term of our own campaign
            elif mtype in (_APP, _HEARTBEAT, _SNAP):
                self.become_follower(m.term, m.frm)
            else:
                self.become_follower(m.term, NONE)
        elif m.term < self.term:
            if (self.check_quorum or self.pre_vote) and (mtype in (_HEARTBEAT, _APP)):
                # A stale leader (perhaps cut off while this member's term moved on): answer so that it
                # learns the newer term and steps down instead of staying stuck.
                self.msgs.append(Message(_APP_RESP, m.frm, self.id, self.term))
            elif mtype == _PRE_VOTE:
                # Reject rather than ignore, or a lower-term pre-candidate with a better log could wait
                # forever for an answer.
                self.msgs.append(Message(_PRE_VOTE_RESP, m.frm, self.id, self.term, reject=True))
            return

        if mtype == MessageType.MsgHup:
            self.hup(CampaignType.PRE_ELECTION if self.pre_vote else CampaignType.ELECTION)
        elif mtype in (_VOTE, _PRE_VOTE):
            self._handle_vote_request(m)
        else:
            self.step_role(self, m)

    def _handle_vote_request(self, m: Message) -> None:
        can_vote = (
            self.vote == m.frm  # a repeat of the vote already cast
            or (self.vote == NONE and self.lead == NONE)  # no vote and no leader yet in this term
            or (m.type == _PRE_VOTE and m.term > self.term)  # a pre-vote for a future term
        )
        # Learners vote too: a learner may have been promoted without having applied its promotion yet.
        if can_vote and self.log.is_up_to_date(m.index, m.log_term):
            # The answer carries the request's term: for a pre-vote it is ahead of ours, and the
            # pre-candidate ignores answers of lower terms.
            self.msgs.append(Message(vote_response_type(m.type), m.frm, self.id, m.term))
            if m.type == _VOTE:
                self.election_elapsed = 0
                self.vote = m.frm
        else:
            self.msgs.append(Message(vote_response_type(m.type), m.frm, self.id, self.term, reject=True))

    # ---- snapshots and configuration ----------------------------------------------------------------

    def restore(self, s: Snapshot) -> bool:
        """Install the leader's snapshot; False when it is stale, this member is not in its configuration,
        or the log already has its last entry (then only the commit index moves)."""
        meta = s.metadata
        if meta.index <= self.log.committed:
            return False
        if self.state != StateType.FOLLOWER:
            # Defence in depth: only followers receive snapshots.
            self.become_follower(self.term + 1, NONE)
            return False
        cs = meta.conf_state
        if self.id not in cs.voters and self.id not in cs.learners and self.id not in cs.voters_outgoing:
            return False
        if self.log.match_term(meta.index, meta.term):
            self.log.commit_to(meta.index)
            return False
        self.log.restore(s)
        self.prs = ProgressTracker(self.prs.max_inflight)
        changer = Changer(self.prs.config, self.prs.progress, self.prs.max_inflight, self.log.last_index())
        config, progress = restore(changer, cs)
        _check_equivalent(cs, self.switch_to_config(config, progress))
        pr = self.prs.progress[self.id]
        pr.maybe_update(pr.next - 1)
        return True

    def apply_conf_change(self, cc: ConfChangeV2) -> ConfState:
        changer = Changer(self.prs.config, self.prs.progress, self.prs.max_inflight, self.log.last_index())
        if cc.leave_joint():
            config, progress = changer.leave_joint()
        else:
            auto_leave = cc.enter_joint()
            if auto_leave is None:
                config, progress = changer.simple(cc.changes)
            else:
                config, progress = changer.enter_joint(auto_leave, cc.changes)
        return self.switch_to_config(config, progress)

    def switch_to_config(self, config: TrackerConfig, progress: dict[int, Progress]) -> ConfState:
        """Make `config` current and react: a removed or demoted leader steps down; a leader commits what
        the new quorum allows and probes new members."""
        self.prs.set_config(config, progress)
        cs = self.prs.conf_state()
        pr = progress.get(self.id)
        self.is_learner = pr is not None and pr.is_learner
        if (pr is None or self.is_learner) and self.state == StateType.LEADER:
            self.become_follower(self.term, NONE)
            return cs
        if self.state != StateType.LEADER or not cs.voters:
            return cs
        if self.maybe_commit():
            self.bcast_append()
        else:
            for member in self.prs.ids:
                if member != self.id:
                    self.maybe_send_append(member, False)
        if self.lead_transferee != NONE and self.lead_transferee not in progress:
            self.lead_transferee = NONE
        return cs

    # ---- reads --------------------------------------------------------------------------------------

    def response_to_read_index_req(self, req: Message, read_index: int) -> Message | None:
        """Answer a read confirmed at `read_index`: a local read becomes a ReadState, a forwarded one a
        MsgReadIndexResp to return to its sender."""
        if req.frm == NONE or req.frm == self.id:
            self.read_states.append(ReadState(read_index, req.entries[0].data))
            return None
        return Message(
            MessageType.MsgReadIndexResp, req.frm, self.id, self.term, index=read_index, entries=req.entries
        )

    def send_read_index_response(self, m: Message) -> None:
        if self.read_only.option == ReadOnlyOption.SAFE:
            ctx = m.entries[0].data
            self.read_only.add_request(self.log.committed, m)
            self.read_only.recv_ack(self.id, ctx)
            self.bcast_heartbeat_with_ctx(ctx)
            return
        resp = self.response_to_read_index_req(m, self.log.committed)
        if resp is not None:
            self.msgs.append(resp)

    def release_pending_read_index_messages(self) -> None:
        """Serve the reads that waited for this leader's first commit in its term."""
        if not self.committed_entry_in_current_term():
            return
        pending, self.pending_read_index_messages = self.pending_read_index_messages, []
        for m in pending:
            self.send_read_index_response(m)


def _check_equivalent(expected: ConfState, actual: ConfState) -> None:
    if not expected.equivalent(actual):
        raise ConfigError(f"ConfStates not equivalent after sorting: {expected} != {actual}")
