"""Leader transfer: catch the transferee up, send MsgTimeoutNow, drop proposals meanwhile, give up after
an election timeout."""

from __future__ import annotations

import pytest

from etcdpy.raft.errors import ProposalDroppedError
from etcdpy.raft.raftpb import ConfChange, ConfChangeType, Entry, Message, MessageType, StateType
from etcdpy.raft.storage import MemoryStorage
from tests.raft.unit._network import Network, hup, leaders, msg, prop, read_messages

MT = MessageType


def transfer(to: int, via: int) -> Message:
    """The MsgTransferLeader a driver's transfer_leader(to) steps into member `via`."""
    return msg(MT.MsgTransferLeader, to, via)


def _net(**kw: object) -> Network:
    net = Network([None, None, None], **kw)  # type: ignore[arg-type]
    net.send(hup(1))
    assert leaders(net) == [1]
    return net


def _check(net: Network, state: StateType, leader: int, transferee: int = 0) -> None:
    r = net.raft(leader)
    assert (r.state, r.lead, r.lead_transferee) == (state, leader, transferee)


def test_transfer_to_an_up_to_date_follower() -> None:
    net = _net()
    net.send(transfer(2, 1))
    _check(net, StateType.LEADER, 2)
    assert net.raft(1).state == StateType.FOLLOWER
    # The new leader appended its empty entry; transfer back.
    net.send(msg(MT.MsgHeartbeatResp, 1, 2, term=net.raft(2).term))
    net.send(transfer(1, 2))
    _check(net, StateType.LEADER, 1)


def test_transfer_request_sent_to_a_follower_is_forwarded() -> None:
    net = _net()
    net.send(transfer(2, 2))
    _check(net, StateType.LEADER, 2)
    net.send(prop(2))
    net.send(transfer(1, 1))
    _check(net, StateType.LEADER, 1)


def test_transfer_overrides_the_check_quorum_lease() -> None:
    net = _net(check_quorum=True)
    for m in (1, 2, 3):
        r = net.raft(m)
        r.randomized_election_timeout = r.election_timeout + m
    # Let 2's lease expire so that it can vote; 3's lease holds, but a transfer vote overrides it.
    for _ in range(net.raft(2).election_timeout):
        net.raft(2).tick()
    net.send(transfer(2, 1))
    _check(net, StateType.LEADER, 2)


def test_transfer_to_a_slow_follower_catches_it_up_first() -> None:
    net = _net()
    net.isolate(3)
    net.send(prop(1))
    net.recover()
    lead = net.raft(1)
    assert lead.prs.progress[3].match != lead.log.last_index()
    net.send(transfer(3, 1))
    _check(net, StateType.LEADER, 3)


def test_transfer_after_the_transferee_needs_a_snapshot() -> None:
    net = _net()
    net.isolate(3)
    net.send(prop(1))
    lead = net.raft(1)
    storage = lead.log.storage
    assert isinstance(storage, MemoryStorage)
    storage.append(lead.log.unstable_entries())
    lead.log.stable_to(lead.log.last_index(), lead.log.last_term())
    lead.log.applied_to(lead.log.committed)
    storage.create_snapshot(lead.log.applied, lead.prs.conf_state(), b"")
    storage.compact(lead.log.applied)
    net.recover()
    lead.prs.progress[3].recent_active = True
    # The transfer does not complete while the snapshot is in flight...
    net.ignore(MT.MsgAppResp)
    net.send(transfer(3, 1))
    assert lead.lead_transferee == 3 and lead.state == StateType.LEADER
    # ... and completes once 3 acknowledges it.
    net.recover()
    net.send(msg(MT.MsgHeartbeatResp, 3, 1, term=lead.term))
    _check(net, StateType.LEADER, 3)


@pytest.mark.parametrize("target", [1, 4])
def test_transfer_to_self_or_a_stranger_does_nothing(target: int) -> None:
    net = _net()
    net.send(transfer(target, 1))
    _check(net, StateType.LEADER, 1)
    assert read_messages(net.raft(1)) == []


def test_transfer_times_out_after_an_election_timeout() -> None:
    net = _net()
    net.isolate(3)
    net.send(transfer(3, 1))
    lead = net.raft(1)
    assert lead.lead_transferee == 3
    for _ in range(lead.heartbeat_timeout):
        lead.tick()
    assert lead.lead_transferee == 3
    for _ in range(lead.election_timeout - lead.heartbeat_timeout):
        lead.tick()
    _check(net, StateType.LEADER, 1)


def test_proposals_are_dropped_during_a_transfer() -> None:
    net = _net()
    net.isolate(3)
    net.send(transfer(3, 1))
    lead = net.raft(1)
    with pytest.raises(ProposalDroppedError):
        lead.step(prop(1))
    assert lead.prs.progress[1].match == 1


def test_higher_term_vote_aborts_the_transfer() -> None:
    net = _net()
    net.isolate(3)
    net.send(transfer(3, 1))
    net.send(msg(MT.MsgHup, 2, 2))
    _check(net, StateType.LEADER, 2)
    assert net.raft(1).lead_transferee == 0


def test_removing_the_transferee_aborts_the_transfer() -> None:
    net = _net()
    net.ignore(MT.MsgTimeoutNow)
    net.send(transfer(3, 1))
    lead = net.raft(1)
    assert lead.lead_transferee == 3
    lead.apply_conf_change(ConfChange(ConfChangeType.REMOVE_NODE, 3).as_v2())
    _check(net, StateType.LEADER, 1)


def test_transfer_back_to_the_leader_cancels() -> None:
    net = _net()
    net.isolate(3)
    net.send(transfer(3, 1))
    net.send(transfer(1, 1))
    _check(net, StateType.LEADER, 1)


def test_second_transfer_to_another_member_replaces_the_first() -> None:
    net = _net()
    net.isolate(3)
    net.send(transfer(3, 1))
    net.send(transfer(2, 1))
    _check(net, StateType.LEADER, 2)


def test_second_transfer_to_the_same_member_keeps_the_deadline() -> None:
    net = _net()
    net.isolate(3)
    net.send(transfer(3, 1))
    lead = net.raft(1)
    for _ in range(lead.heartbeat_timeout):
        lead.tick()
    net.send(transfer(3, 1))
    for _ in range(lead.election_timeout - lead.heartbeat_timeout):
        lead.tick()
    _check(net, StateType.LEADER, 1)


def test_transfer_to_a_learner_is_ignored() -> None:
    net = _net()
    lead = net.raft(1)
    lead.apply_conf_change(ConfChange(ConfChangeType.ADD_LEARNER_NODE, 3).as_v2())
    read_messages(lead)
    lead.step(transfer(3, 1))
    assert lead.lead_transferee == 0


def test_timeout_now_makes_a_follower_campaign_without_pre_vote() -> None:
    net = _net(pre_vote=True)
    net.send(msg(MT.MsgTimeoutNow, 1, 2, term=1))
    _check(net, StateType.LEADER, 2)
    assert net.raft(2).term == 2


def test_appended_entries_are_kept_across_a_transfer() -> None:
    net = _net()
    net.send(prop(1, b"before"))
    net.send(transfer(2, 1))
    net.send(prop(2, b"after"))
    assert [e.data for e in net.raft(3).log.all_entries()] == [b"", b"before", b"", b"after"]
    assert [e.term for e in net.raft(3).log.all_entries()] == [1, 1, 2, 2]
    assert isinstance(net.raft(3).log.all_entries()[0], Entry)
