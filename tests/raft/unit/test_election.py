"""Elections beyond the paper: term handling, pre-vote, check-quorum and the leader lease, learners."""

from __future__ import annotations

import pytest

from etcdpy.raft.raft import Raft
from etcdpy.raft.raftpb import ConfChange, ConfChangeType, Entry, EntryType, HardState, MessageType, StateType
from etcdpy.raft.util import CampaignType
from tests.raft.unit._network import (
    Network,
    hup,
    leaders,
    log_terms,
    msg,
    new_raft,
    prop,
    read_messages,
    storage_with,
    storage_with_log,
)

MT = MessageType


@pytest.mark.parametrize("pre_vote", [False, True])
@pytest.mark.parametrize(
    ("size", "holes", "state", "term_if_lost"),
    [
        (3, [], StateType.LEADER, 1),
        (3, [2], StateType.LEADER, 1),
        (3, [2, 3], StateType.CANDIDATE, 1),
        (4, [2, 3], StateType.CANDIDATE, 1),
        (5, [2, 3], StateType.LEADER, 1),
    ],
)
def test_leader_election(
    size: int, holes: list[int], state: StateType, term_if_lost: int, pre_vote: bool
) -> None:
    net = Network.with_black_holes([None] * size, holes, pre_vote=pre_vote)
    net.send(hup(1))
    r = net.raft(1)
    if state == StateType.CANDIDATE and pre_vote:
        # A pre-candidate that cannot win never moves to a new term.
        assert (r.state, r.term) == (StateType.PRE_CANDIDATE, 0)
    else:
        assert (r.state, r.term) == (state, term_if_lost)


@pytest.mark.parametrize("pre_vote", [False, True])
def test_each_member_can_lead_in_turn(pre_vote: bool) -> None:
    net = Network([None, None, None], pre_vote=pre_vote)
    for campaigner in (1, 2, 3, 1):
        net.send(hup(campaigner))
        assert leaders(net) == [campaigner]
        assert len({net.raft(m).term for m in (1, 2, 3)}) == 1


@pytest.mark.parametrize("pre_vote", [False, True])
def test_election_overwrites_newer_uncommitted_logs(pre_vote: bool) -> None:
    """A leader elected later overwrites an uncommitted entry of a term its log never had."""
    voters = (1, 2, 3, 4, 5)

    def member(m: int, terms: list[int], term: int, vote: int = 0) -> Raft:
        r = new_raft(
            m, storage=storage_with_log(voters, terms, HardState(term=term, vote=vote)), pre_vote=pre_vote
        )
        return r

    net = Network(
        [
            member(1, [1], 1),  # won the first election
            member(2, [1], 1),  # got its entry
            member(3, [2], 2),  # won the second election
            member(4, [], 2, vote=3),  # voted for 3 but got no entry
            member(5, [], 2, vote=3),
        ],
        pre_vote=pre_vote,
    )
    n1 = net.raft(1)
    # A quorum already knows of term 2: 1 loses, but learns the term.
    net.send(hup(1))
    assert (n1.state, n1.term) == (StateType.FOLLOWER, 2)
    # Its next campaign, at term 3, wins.
    net.send(hup(1))
    assert (n1.state, n1.term) == (StateType.LEADER, 3)
    for m in voters:
        assert log_terms(net.raft(m)) == [(1, 1), (2, 3)]


def test_dueling_candidates() -> None:
    net = Network([None, None, None])
    net.cut(1, 3)
    net.send(hup(1))
    net.send(hup(3))
    # 1 won with 2's vote; 3 could not get 2's vote in term 1 and stays candidate.
    assert (net.raft(1).state, net.raft(3).state) == (StateType.LEADER, StateType.CANDIDATE)
    net.recover()
    # 3 campaigns again at a higher term; its log lacks 1's empty entry, so it loses, but its term
    # disrupts the leader.
    net.send(hup(3))
    assert [net.raft(m).state for m in (1, 2, 3)] == [StateType.FOLLOWER] * 3
    assert [net.raft(m).term for m in (1, 2, 3)] == [2, 2, 2]
    assert log_terms(net.raft(3)) == []
    assert log_terms(net.raft(1)) == log_terms(net.raft(2)) == [(1, 1)]


def test_dueling_pre_candidates_do_not_disrupt() -> None:
    net = Network([None, None, None], pre_vote=True)
    net.cut(1, 3)
    net.send(hup(1))
    net.send(hup(3))
    assert (net.raft(1).state, net.raft(3).state) == (StateType.LEADER, StateType.FOLLOWER)
    net.recover()
    # With pre-vote, 3 first asks whether it could win: it could not, so no term is disrupted.
    net.send(hup(3))
    assert [net.raft(m).state for m in (1, 2, 3)] == [
        StateType.LEADER,
        StateType.FOLLOWER,
        StateType.FOLLOWER,
    ]
    assert [net.raft(m).term for m in (1, 2, 3)] == [1, 1, 1]


def test_candidate_concedes_to_a_leader_of_its_term() -> None:
    net = Network([None, None, None])
    net.isolate(1)
    net.send(hup(1))
    net.send(hup(3))
    net.recover()
    net.send(msg(MT.MsgBeat, 3, 3))
    net.send(prop(3, b"force follower"))
    net.send(msg(MT.MsgBeat, 3, 3))
    assert net.raft(1).state == StateType.FOLLOWER and net.raft(1).term == 1
    assert log_terms(net.raft(1)) == log_terms(net.raft(3)) == [(1, 1), (2, 1)]


@pytest.mark.parametrize("pre_vote", [False, True])
def test_single_member_campaign_wins_at_once(pre_vote: bool) -> None:
    r = new_raft(1, (1,), pre_vote=pre_vote)
    r.step(hup(1))
    assert (r.state, r.term) == (StateType.LEADER, 1)


@pytest.mark.parametrize("pre_vote", [False, True])
def test_campaign_while_leader_is_ignored(pre_vote: bool) -> None:
    r = new_raft(1, (1,), pre_vote=pre_vote)
    r.step(hup(1))
    r.step(hup(1))
    assert (r.state, r.term) == (StateType.LEADER, 1)


@pytest.mark.parametrize(
    "state", [StateType.FOLLOWER, StateType.PRE_CANDIDATE, StateType.CANDIDATE, StateType.LEADER]
)
@pytest.mark.parametrize("vote_type", [MT.MsgVote, MT.MsgPreVote])
def test_vote_for_a_higher_term_from_any_state(state: StateType, vote_type: MessageType) -> None:
    r = new_raft(1, (1, 2, 3))
    r.term = 1
    if state == StateType.PRE_CANDIDATE:
        r.become_pre_candidate()
    elif state == StateType.CANDIDATE:
        r.become_candidate()
    elif state == StateType.LEADER:
        r.become_candidate()
        r.become_leader()
    read_messages(r)
    orig_term = r.term
    new_term = orig_term + 1
    r.step(msg(vote_type, 2, 1, term=new_term, log_term=new_term, index=42))
    [resp] = read_messages(r)
    assert (resp.to, resp.term, resp.reject) == (2, new_term, False)
    if vote_type == MT.MsgVote:
        # A real vote moves the voter to the new term as a follower.
        assert (r.state, r.term, r.vote) == (StateType.FOLLOWER, new_term, 2)
    else:
        # A pre-vote changes nothing.
        assert (r.state, r.term) == (state, orig_term)
        assert resp.type == MT.MsgPreVoteResp


def test_pre_vote_for_a_stale_term_is_rejected_with_the_current_term() -> None:
    r = new_raft(1, (1, 2, 3), pre_vote=True)
    r.load_state(HardState(term=5))
    r.step(msg(MT.MsgPreVote, 2, 1, term=3, index=10, log_term=3))
    assert [(m.type, m.term, m.reject) for m in read_messages(r)] == [(MT.MsgPreVoteResp, 5, True)]


def test_granted_pre_vote_response_does_not_change_term() -> None:
    r = new_raft(1, (1, 2, 3, 4, 5), pre_vote=True)
    r.step(hup(1))
    assert (r.state, r.term) == (StateType.PRE_CANDIDATE, 0)
    r.step(msg(MT.MsgPreVoteResp, 2, 1, term=1))
    assert (r.state, r.term) == (StateType.PRE_CANDIDATE, 0)
    # The second grant makes a majority: the real election starts, in term 1.
    r.step(msg(MT.MsgPreVoteResp, 3, 1, term=1))
    assert (r.state, r.term) == (StateType.CANDIDATE, 1)
    assert {m.type for m in read_messages(r)} == {MT.MsgPreVote, MT.MsgVote}


def test_rejected_pre_vote_with_higher_term_makes_a_follower() -> None:
    r = new_raft(1, (1, 2, 3), pre_vote=True)
    r.step(hup(1))
    r.step(msg(MT.MsgPreVoteResp, 2, 1, term=7, reject=True))
    assert (r.state, r.term) == (StateType.FOLLOWER, 7)


def test_candidate_ignores_stale_pre_vote_responses() -> None:
    r = new_raft(1, (1, 2, 3), pre_vote=True)
    r.step(hup(1))
    r.step(msg(MT.MsgPreVoteResp, 2, 1, term=1))
    assert (r.state, r.term) == (StateType.CANDIDATE, 1)
    r.step(msg(MT.MsgPreVoteResp, 3, 1, term=1))
    assert r.state == StateType.CANDIDATE


@pytest.mark.parametrize("message", [MT.MsgHeartbeat, MT.MsgApp])
def test_candidate_resets_term_when_a_leader_appears(message: MessageType) -> None:
    net = Network([None, None, None])
    net.send(hup(1))
    net.isolate(3)
    net.send(msg(MT.MsgBeat, 1, 1))
    net.send(msg(MT.MsgBeat, 1, 1))
    c = net.raft(3)
    for _ in range(2 * c.election_timeout):
        c.tick()
    read_messages(c)
    assert (c.state, c.term) == (StateType.CANDIDATE, 2)
    net.recover()
    # A leader's message of term 2 (say, from a new leader) makes the candidate its follower.
    net.send(msg(message, 1, 3, term=2))
    assert (c.state, c.term) == (StateType.FOLLOWER, 2)


@pytest.mark.parametrize("state", [StateType.FOLLOWER, StateType.CANDIDATE, StateType.LEADER])
@pytest.mark.parametrize("message", [MT.MsgVote, MT.MsgApp])
def test_all_members_step_down_on_a_higher_term(state: StateType, message: MessageType) -> None:
    r = new_raft(1, (1, 2, 3))
    if state != StateType.FOLLOWER:
        r.become_candidate()
    if state == StateType.LEADER:
        r.become_leader()
    r.step(msg(message, 2, 1, term=3, log_term=3))
    assert (r.state, r.term) == (StateType.FOLLOWER, 3)
    assert r.lead == (2 if message == MT.MsgApp else 0)


def test_unapplied_conf_change_prevents_campaigning() -> None:
    """A member must apply a committed conf change (it may remove it) before campaigning."""
    cc = ConfChange(ConfChangeType.REMOVE_NODE, 2).encode()
    storage = storage_with((1, 2))
    storage.append([Entry(1, 1, EntryType.CONF_CHANGE, cc)])
    storage.set_hard_state(HardState(term=1, commit=1))
    r = new_raft(1, storage=storage)
    r.step(hup(1))
    assert r.state == StateType.FOLLOWER
    r.log.applied_to(1)
    r.step(hup(1))
    assert r.soft_state().raft_state == StateType.CANDIDATE


# ---- check-quorum and the leader lease -------------------------------------------------------------


def _tick_until_elapsed(r: Raft, ticks: int) -> None:
    for _ in range(ticks):
        r.tick()


def test_leader_steps_down_without_an_active_quorum() -> None:
    r = new_raft(1, (1, 2, 3), check_quorum=True)
    r.become_candidate()
    r.become_leader()
    _tick_until_elapsed(r, r.election_timeout + 1)
    assert (r.state, r.term) == (StateType.FOLLOWER, 1)


def test_leader_stays_with_an_active_quorum() -> None:
    r = new_raft(1, (1, 2, 3), check_quorum=True)
    r.become_candidate()
    r.become_leader()
    for _ in range(r.election_timeout + 1):
        r.step(msg(MT.MsgHeartbeatResp, 2, 1, term=r.term))
        r.tick()
    assert r.state == StateType.LEADER


def test_followers_in_lease_ignore_vote_requests() -> None:
    net = Network([None, None, None], check_quorum=True)
    b = net.raft(2)
    b.randomized_election_timeout = b.election_timeout + 1
    _tick_until_elapsed(b, b.election_timeout)
    net.send(hup(1))
    assert net.raft(1).state == StateType.LEADER
    net.send(hup(3))
    # 2 heard from leader 1 within the election timeout: it ignores 3, which stays a candidate.
    assert net.raft(3).state == StateType.CANDIDATE
    assert b.term == 1
    # Once 2's lease expires, 3 can win.
    _tick_until_elapsed(b, b.election_timeout)
    net.send(hup(3))
    assert net.raft(3).state == StateType.LEADER


def test_transfer_votes_override_the_lease() -> None:
    r = new_raft(1, (1, 2, 3), check_quorum=True)
    r.become_follower(1, 2)
    r.step(msg(MT.MsgVote, 3, 1, term=2, log_term=1, index=1))
    assert read_messages(r) == [] and r.term == 1
    r.step(msg(MT.MsgVote, 3, 1, term=2, context=CampaignType.TRANSFER.value))
    assert [(m.type, m.reject) for m in read_messages(r)] == [(MT.MsgVoteResp, False)]
    assert (r.term, r.vote) == (2, 3)


def test_leader_election_with_check_quorum() -> None:
    net = Network([None, None, None], check_quorum=True)
    a, b, c = net.raft(1), net.raft(2), net.raft(3)
    a.randomized_election_timeout = a.election_timeout + 1
    b.randomized_election_timeout = b.election_timeout + 2
    # Nobody heard from a leader yet: the first election is not blocked by leases.
    net.send(hup(1))
    assert (a.state, c.state) == (StateType.LEADER, StateType.FOLLOWER)
    # 2's lease expires; the leader renewed its own (a quorum was active), so it ignores 3's request,
    # but 2's vote is enough for 3, whose first message then deposes 1.
    b.randomized_election_timeout = b.election_timeout + 2
    _tick_until_elapsed(a, a.election_timeout)
    _tick_until_elapsed(b, b.election_timeout)
    net.send(hup(3))
    assert (a.state, c.state) == (StateType.FOLLOWER, StateType.LEADER)


def test_stuck_candidate_is_freed_with_check_quorum() -> None:
    """A candidate partitioned away bumps its term; once back, the leader's heartbeats earn an answer
    with that term, the leader steps down, and a new election can succeed."""
    net = Network([None, None, None], check_quorum=True)
    a, b, c = net.raft(1), net.raft(2), net.raft(3)
    b.randomized_election_timeout = b.election_timeout + 1
    _tick_until_elapsed(b, b.election_timeout)
    net.send(hup(1))
    net.isolate(1)
    net.send(hup(3))
    assert (b.state, c.state, c.term) == (StateType.FOLLOWER, StateType.CANDIDATE, b.term + 1)
    net.send(hup(3))
    assert (c.state, c.term) == (StateType.CANDIDATE, b.term + 2)
    net.recover()
    net.send(msg(MT.MsgHeartbeat, 1, 3, term=a.term))
    assert a.state == StateType.FOLLOWER and c.term == a.term
    net.send(hup(3))
    assert c.state == StateType.LEADER


def test_non_promotable_voter_with_check_quorum() -> None:
    """A member outside the configuration never campaigns, but follows a leader it hears from."""
    a = new_raft(1, (1, 2), check_quorum=True)
    b = new_raft(2, (1,), check_quorum=True)
    net = Network([a, b])
    b.randomized_election_timeout = b.election_timeout + 1
    # 2 is not in its own configuration: remove its Progress to make it non-promotable.
    _tick_until_elapsed(b, b.election_timeout)
    net.send(hup(1))
    assert (a.state, b.state, b.lead) == (StateType.LEADER, StateType.FOLLOWER, 1)
    _tick_until_elapsed(b, 3 * b.election_timeout)
    assert b.state == StateType.FOLLOWER and not b.promotable()


def test_disruptive_follower_without_pre_vote() -> None:
    net = Network([None, None, None], check_quorum=True)
    for m in (1, 2, 3):
        net.raft(m).become_follower(1, 0)
    net.send(hup(1))
    n1, n2, n3 = net.raft(1), net.raft(2), net.raft(3)
    assert [n1.state, n2.state, n3.state] == [StateType.LEADER, StateType.FOLLOWER, StateType.FOLLOWER]
    # 3 times out (its messages are lost) and campaigns at term 3.
    n3.randomized_election_timeout = n3.election_timeout + 2
    _tick_until_elapsed(n3, n3.randomized_election_timeout)
    read_messages(n3)
    assert (n3.state, n3.term) == (StateType.CANDIDATE, 3)
    # The leader's next heartbeat reaches 3, whose answer at term 3 deposes the leader.
    net.send(msg(MT.MsgHeartbeat, 1, 3, term=n1.term))
    assert (n1.state, n1.term, n2.term, n3.state) == (StateType.FOLLOWER, 3, 2, StateType.CANDIDATE)


def test_disruptive_follower_with_pre_vote() -> None:
    net = Network([None, None, None], check_quorum=True, pre_vote=True)
    for m in (1, 2, 3):
        net.raft(m).become_follower(1, 0)
    net.send(hup(1))
    n1, n3 = net.raft(1), net.raft(3)
    net.isolate(3)
    for _ in range(3):
        net.send(prop(1, b"somedata"))
    net.recover()
    net.send(hup(3))
    # The others hold a lease and ignore the pre-vote: nobody's term moves, 3 keeps waiting.
    assert (n1.state, n1.term, n3.state, n3.term) == (StateType.LEADER, 2, StateType.PRE_CANDIDATE, 2)


def test_pre_vote_with_split_vote() -> None:
    net = Network([None, None, None], pre_vote=True)
    net.send(hup(1))
    net.isolate(1)
    # 2 and 3 both pre-campaign: each grants the other's pre-vote (a future term), then both
    # campaign in term 2 and split their votes.
    net.send(hup(2), hup(3))
    n2, n3 = net.raft(2), net.raft(3)
    assert (n2.term, n3.term) == (2, 2)
    assert (n2.state, n3.state) == (StateType.CANDIDATE, StateType.CANDIDATE)
    # The next campaign succeeds.
    net.send(hup(2))
    assert (n2.state, n3.state, n3.term) == (StateType.LEADER, StateType.FOLLOWER, 3)


def test_member_with_smaller_term_can_complete_election() -> None:
    """Pre-vote answers carry the request's term, so members whose terms differ still elect a leader."""
    net = Network([None, None, None], pre_vote=True)
    n1, n2, n3 = net.raft(1), net.raft(2), net.raft(3)
    for r in (n1, n2, n3):
        r.become_follower(1, 0)
    net.cut(1, 3)
    net.cut(2, 3)
    net.send(hup(1))
    assert (n1.state, n2.state) == (StateType.LEADER, StateType.FOLLOWER)
    net.send(hup(3))
    assert n3.state == StateType.PRE_CANDIDATE
    net.send(hup(2))
    assert (n1.term, n2.term, n3.term) == (3, 3, 1)
    assert (n1.state, n2.state, n3.state) == (StateType.FOLLOWER, StateType.LEADER, StateType.PRE_CANDIDATE)
    # 2 goes away; 3 (term 1) and 1 (term 3) must still elect one of them.
    net.recover()
    net.cut(2, 1)
    net.cut(2, 3)
    net.send(hup(3))
    net.send(hup(1))
    assert StateType.LEADER in (n1.state, n3.state)


# ---- learners ---------------------------------------------------------------------------------------


def test_learner_never_campaigns() -> None:
    r = new_raft(2, storage=storage_with((1,), (2,)))
    _tick_until_elapsed(r, 4 * r.election_timeout)
    assert r.state == StateType.FOLLOWER and read_messages(r) == []
    r.step(hup(2))
    assert r.state == StateType.FOLLOWER


def test_learner_votes_when_asked() -> None:
    """A learner may have been promoted without having applied the promotion yet: it votes if asked."""
    r = new_raft(2, storage=storage_with((1,), (2,)))
    r.step(msg(MT.MsgVote, 1, 2, term=2, log_term=11, index=11))
    assert [(m.type, m.reject) for m in read_messages(r)] == [(MT.MsgVoteResp, False)]


def test_learner_is_promoted_and_then_campaigns() -> None:
    leader = new_raft(1, storage=storage_with((1,), (2,)))
    learner = new_raft(2, storage=storage_with((1,), (2,)))
    net = Network([leader, learner])
    _tick_until_elapsed(leader, 2 * leader.election_timeout)
    net.send(*read_messages(leader))
    assert (leader.state, learner.state) == (StateType.LEADER, StateType.FOLLOWER)
    net.send(msg(MT.MsgBeat, 1, 1))
    cs = leader.apply_conf_change(ConfChange(ConfChangeType.ADD_NODE, 2).as_v2())
    learner.apply_conf_change(ConfChange(ConfChangeType.ADD_NODE, 2).as_v2())
    assert cs.voters == (1, 2) and not learner.is_learner
    # Let 2 time out: it now campaigns and wins (1 grants its vote).
    learner.randomized_election_timeout = learner.election_timeout
    _tick_until_elapsed(learner, learner.election_timeout)
    net.send(*read_messages(learner))
    assert (leader.state, learner.state) == (StateType.FOLLOWER, StateType.LEADER)
