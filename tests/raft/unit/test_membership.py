"""Membership changes through the Raft state machine: one pending change at a time, learners, promotion,
removal (of the leader too), joint consensus."""

from __future__ import annotations

from typing import Any

import pytest

from etcdpy.raft.errors import ProposalDroppedError
from etcdpy.raft.raft import Raft
from etcdpy.raft.raftpb import (
    ConfChange,
    ConfChangeSingle,
    ConfChangeTransition,
    ConfChangeType,
    ConfChangeV2,
    ConfState,
    Entry,
    EntryType,
    Message,
    MessageType,
    StateType,
)
from tests.raft.unit._network import Network, hup, msg, new_raft, prop, read_messages, storage_with

MT = MessageType
T = ConfChangeType


def conf_prop(member: int, change: ConfChange | ConfChangeV2) -> Message:
    etype = EntryType.CONF_CHANGE if isinstance(change, ConfChange) else EntryType.CONF_CHANGE_V2
    return Message(MT.MsgProp, member, member, entries=(Entry(0, 0, etype, change.encode()),))


def _leader(voters: tuple[int, ...] = (1, 2), **options: Any) -> Raft:
    r = new_raft(1, voters, **options)
    r.become_candidate()
    r.become_leader()
    read_messages(r)
    return r


def test_conf_change_proposal_is_appended_and_pending() -> None:
    r = _leader()
    r.step(conf_prop(1, ConfChange(T.ADD_NODE, 3)))
    last = r.log.last_index()
    assert r.log.term(last) == r.term and r.log.all_entries()[-1].type == EntryType.CONF_CHANGE
    assert r.pending_conf_index == last


def test_second_conf_change_while_one_is_pending_becomes_an_empty_entry() -> None:
    r = _leader()
    r.step(conf_prop(1, ConfChange(T.ADD_NODE, 3)))
    pending = r.pending_conf_index
    r.step(conf_prop(1, ConfChange(T.ADD_NODE, 4)))
    assert r.log.all_entries()[-1] == Entry(r.term, pending + 1)
    assert r.pending_conf_index == pending


@pytest.mark.parametrize("entries_before", [0, 1])
def test_new_leader_treats_its_whole_log_as_possibly_pending(entries_before: int) -> None:
    r = new_raft(1, (1, 2))
    if entries_before:
        r.log.append([Entry(0, 1)])
    r.become_candidate()
    r.become_leader()
    assert r.pending_conf_index == entries_before


def test_conf_change_allowed_once_the_previous_one_is_applied() -> None:
    r = _leader()
    r.step(conf_prop(1, ConfChange(T.ADD_NODE, 3)))
    r.step(msg(MT.MsgAppResp, 2, 1, term=r.term, index=r.log.last_index()))
    r.log.applied_to(r.log.committed)
    r.step(conf_prop(1, ConfChange(T.ADD_NODE, 4)))
    assert r.log.all_entries()[-1].type == EntryType.CONF_CHANGE


def test_add_node_and_learner() -> None:
    r = new_raft(1, (1,))
    r.apply_conf_change(ConfChange(T.ADD_NODE, 2).as_v2())
    assert r.prs.voter_nodes() == [1, 2]
    cs = r.apply_conf_change(ConfChange(T.ADD_LEARNER_NODE, 3).as_v2())
    assert cs == ConfState(voters=(1, 2), learners=(3,))
    assert r.prs.progress[3].is_learner and r.prs.learner_nodes() == [3]


def test_remove_node_and_learner() -> None:
    r = new_raft(1, storage=storage_with((1, 2), (3,)))
    r.apply_conf_change(ConfChange(T.REMOVE_NODE, 3).as_v2())
    assert r.prs.learner_nodes() == []
    r.apply_conf_change(ConfChange(T.REMOVE_NODE, 2).as_v2())
    assert r.prs.voter_nodes() == [1]
    with pytest.raises(Exception, match="removed all voters"):
        r.apply_conf_change(ConfChange(T.REMOVE_NODE, 1).as_v2())


@pytest.mark.parametrize(
    ("voters", "promotable"), [((1,), True), ((1, 2, 3), True), ((), False), ((2, 3), False)]
)
def test_promotable(voters: tuple[int, ...], promotable: bool) -> None:
    r = new_raft(1, storage=storage_with(voters) if voters else storage_with((2,)))
    if not voters:
        r.prs.progress.pop(1, None)
    assert r.promotable() is promotable


def test_removal_commits_entries_the_smaller_quorum_has() -> None:
    r = _leader((1, 2))
    r.step(conf_prop(1, ConfChange(T.REMOVE_NODE, 2)))
    r.step(prop(1, b"hello"))
    # 2 acknowledged the conf change but not the proposal.
    r.step(msg(MT.MsgAppResp, 2, 1, term=r.term, index=2))
    assert r.log.committed == 2
    read_messages(r)
    r.apply_conf_change(ConfChange(T.REMOVE_NODE, 2).as_v2())
    # With 1 as the only voter, the proposal commits at once.
    assert r.log.committed == 3


def test_added_member_counts_as_active_for_check_quorum() -> None:
    r = _leader((1,), check_quorum=True)
    for _ in range(r.election_timeout - 1):
        r.tick()
    r.apply_conf_change(ConfChange(T.ADD_NODE, 2).as_v2())
    r.tick()
    assert r.soft_state().raft_state == StateType.LEADER
    for _ in range(r.election_timeout):
        r.tick()
    assert r.soft_state().raft_state == StateType.FOLLOWER


def test_new_member_is_probed_at_once() -> None:
    r = _leader((1,))
    r.apply_conf_change(ConfChange(T.ADD_NODE, 2).as_v2())
    [m] = read_messages(r)
    assert (m.type, m.to) == (MT.MsgApp, 2)


def test_leader_steps_down_when_its_removal_is_applied() -> None:
    net = Network([None, None, None])
    net.send(hup(1))
    lead = net.raft(1)
    net.send(conf_prop(1, ConfChange(T.REMOVE_NODE, 1)))
    for m in (1, 2, 3):
        r = net.raft(m)
        r.apply_conf_change(ConfChange(T.REMOVE_NODE, 1).as_v2())
        r.log.applied_to(r.log.committed)
    assert (lead.state, lead.term) == (StateType.FOLLOWER, 1)
    assert not lead.promotable()
    with pytest.raises(ProposalDroppedError):
        lead.step(prop(1))
    # The remaining members elect a leader among themselves.
    net.send(hup(2))
    assert net.raft(2).state == StateType.LEADER and net.raft(2).prs.voter_nodes() == [2, 3]


def test_learner_promotion_through_the_log() -> None:
    net = Network(
        [
            new_raft(1, storage=storage_with((1, 2), (3,))),
            new_raft(2, storage=storage_with((1, 2), (3,))),
            new_raft(3, storage=storage_with((1, 2), (3,))),
        ]
    )
    net.send(hup(1))
    net.send(conf_prop(1, ConfChange(T.ADD_NODE, 3)))
    lead = net.raft(1)
    assert lead.log.all_entries()[-1].type == EntryType.CONF_CHANGE
    for m in (1, 2, 3):
        net.raft(m).apply_conf_change(ConfChange(T.ADD_NODE, 3).as_v2())
    assert not net.raft(3).is_learner and net.raft(3).promotable()
    assert lead.prs.voter_nodes() == [1, 2, 3]


def test_joint_change_enters_and_auto_leaves() -> None:
    r = _leader((1, 2, 3))
    for m in (2, 3):
        r.step(msg(MT.MsgAppResp, m, 1, term=r.term, index=1))
    r.log.applied_to(1)
    change = ConfChangeV2(changes=(ConfChangeSingle(T.ADD_NODE, 4), ConfChangeSingle(T.REMOVE_NODE, 3)))
    r.step(conf_prop(1, change))
    index = r.log.last_index()
    for m in (2, 3):
        r.step(msg(MT.MsgAppResp, m, 1, term=r.term, index=index))
    cs = r.apply_conf_change(change)
    assert cs == ConfState(voters=(1, 2, 4), voters_outgoing=(1, 2, 3), auto_leave=True)
    # While joint, only the empty leave-joint change is accepted (once nothing is pending).
    r.log.applied_to(index)
    read_messages(r)
    r.step(conf_prop(1, ConfChange(T.ADD_NODE, 5)))
    assert r.log.all_entries()[-1] == Entry(r.term, index + 1)
    for m in (2, 4):
        r.step(msg(MT.MsgAppResp, m, 1, term=r.term, index=index + 1))
    assert r.log.committed == index + 1
    # Applying past the joint entry (through advance) proposes leaving the joint state by itself.
    r.advance([Entry(r.term, index + 1)], [], None)
    last = r.log.all_entries()[-1]
    assert last.type == EntryType.CONF_CHANGE_V2 and ConfChangeV2.decode(last.data).leave_joint()
    # Only once: the leave request is now the pending conf change.
    r.advance([Entry(r.term, index + 1)], [], None)
    assert r.log.all_entries()[-1] == last
    cs = r.apply_conf_change(ConfChangeV2())
    assert cs == ConfState(voters=(1, 2, 4))
    assert 3 not in r.prs.progress


def test_explicit_joint_change_waits_for_the_leave_request() -> None:
    r = _leader((1, 2))
    change = ConfChangeV2(ConfChangeTransition.JOINT_EXPLICIT, (ConfChangeSingle(T.ADD_NODE, 3),))
    cs = r.apply_conf_change(change)
    assert cs == ConfState(voters=(1, 2, 3), voters_outgoing=(1, 2))
    for m in (2, 3):
        r.step(msg(MT.MsgAppResp, m, 1, term=r.term, index=1))
    r.advance([Entry(r.term, 1)], [], None)
    assert all(e.type == EntryType.NORMAL for e in r.log.all_entries())
    assert r.apply_conf_change(ConfChangeV2()) == ConfState(voters=(1, 2, 3))


def test_empty_v2_change_outside_a_joint_state_is_refused() -> None:
    r = _leader((1, 2))
    r.log.applied_to(0)
    r.pending_conf_index = 0
    r.step(conf_prop(1, ConfChangeV2()))
    assert r.log.all_entries()[-1] == Entry(r.term, 2)
