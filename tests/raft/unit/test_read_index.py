"""ReadIndex: reads confirmed by a heartbeat round (ReadOnlySafe) or by the lease, forwarded by
followers, deferred by a leader that has not yet committed an entry of its term."""

from __future__ import annotations

import pytest

from etcdpy.raft.raft import Raft
from etcdpy.raft.raftpb import Entry, HardState, Message, MessageType, ReadState, StateType
from etcdpy.raft.read_only import ReadOnly, ReadOnlyOption
from tests.raft.unit._network import Network, hup, msg, new_raft, prop, read_messages, storage_with

MT = MessageType


def read_req(member: int, ctx: bytes) -> Message:
    return Message(MT.MsgReadIndex, member, member, entries=(Entry(0, 0, data=ctx),))


def _elected(read_only_option: ReadOnlyOption = ReadOnlyOption.SAFE) -> Network:
    members: list[Raft | None] = [
        new_raft(m, (1, 2, 3), check_quorum=True, read_only_option=read_only_option) for m in (1, 2, 3)
    ]
    net = Network(members)
    members[1].randomized_election_timeout = members[1].election_timeout + 1  # type: ignore[union-attr]
    for _ in range(members[1].election_timeout):  # type: ignore[union-attr]
        members[1].tick()  # type: ignore[union-attr]
    net.send(hup(1))
    assert net.raft(1).state == StateType.LEADER
    return net


@pytest.mark.parametrize("option", [ReadOnlyOption.SAFE, ReadOnlyOption.LEASE_BASED])
@pytest.mark.parametrize(("asker", "proposals"), [(1, 10), (2, 10), (3, 10), (1, 10), (2, 0), (3, 5)])
def test_read_index_reports_the_commit_index(option: ReadOnlyOption, asker: int, proposals: int) -> None:
    net = _elected(option)
    lead = net.raft(1)
    for _ in range(proposals):
        net.send(prop(1))
    ctx = b"ctx-%d-%d" % (asker, proposals)
    net.send(read_req(asker, ctx))
    r = net.raft(asker)
    assert r.read_states == [ReadState(lead.log.committed, ctx)]


def test_safe_read_waits_for_a_quorum_of_heartbeat_acks() -> None:
    r = new_raft(1, (1, 2, 3))
    r.become_candidate()
    r.become_leader()
    for m in (2, 3):
        r.step(msg(MT.MsgAppResp, m, 1, term=r.term, index=1))
    read_messages(r)
    r.step(read_req(1, b"ctx"))
    heartbeats = read_messages(r)
    assert {(m.type, m.context) for m in heartbeats} == {(MT.MsgHeartbeat, b"ctx")}
    assert r.read_states == []
    r.step(msg(MT.MsgHeartbeatResp, 2, 1, term=r.term, context=b"ctx"))
    assert r.read_states == [ReadState(1, b"ctx")]


def test_later_confirmation_releases_earlier_reads() -> None:
    r = new_raft(1, (1, 2, 3))
    r.become_candidate()
    r.become_leader()
    for m in (2, 3):
        r.step(msg(MT.MsgAppResp, m, 1, term=r.term, index=1))
    r.step(read_req(1, b"a"))
    r.step(read_req(1, b"b"))
    read_messages(r)
    # A heartbeat of the periodic round carries the latest pending context.
    r.step(msg(MT.MsgBeat, 1, 1))
    assert {m.context for m in read_messages(r)} == {b"b"}
    r.step(msg(MT.MsgHeartbeatResp, 3, 1, term=r.term, context=b"b"))
    assert r.read_states == [ReadState(1, b"a"), ReadState(1, b"b")]
    assert r.read_only.pending_count() == 0


def test_new_leader_defers_reads_until_it_commits_in_its_term() -> None:
    peers = []
    for member, committed, compact in ((1, 1, 0), (2, 2, 2), (3, 2, 2)):
        storage = storage_with((1, 2, 3))
        storage.append([Entry(1, 1), Entry(1, 2)])
        storage.set_hard_state(HardState(term=1, commit=committed))
        if compact:
            storage.compact(compact)
        peers.append(new_raft(member, storage=storage, applied=committed))
    net = Network(peers)
    net.ignore(MT.MsgApp)
    net.send(hup(1))
    lead = net.raft(1)
    assert lead.state == StateType.LEADER
    net.send(read_req(1, b"ctx"))
    # The leader's commit index (1) may lag what the old leader committed (2): no answer yet.
    assert lead.read_states == []
    net.recover()
    for _ in range(lead.heartbeat_timeout):
        lead.tick()
    net.send(prop(1, b""))
    assert lead.log.committed == 4
    assert lead.read_states == [ReadState(4, b"ctx")]
    net.send(read_req(1, b"ctx"))
    assert lead.read_states == [ReadState(4, b"ctx"), ReadState(4, b"ctx")]


def test_deferred_reads_are_dropped_when_leadership_is_lost() -> None:
    r = new_raft(1, (1, 2, 3))
    r.become_candidate()
    r.become_leader()
    r.step(read_req(1, b"ctx"))
    assert len(r.pending_read_index_messages) == 1
    r.become_follower(r.term + 1, 0)
    assert r.pending_read_index_messages == []


def test_follower_forwards_reads_and_drops_them_without_a_leader() -> None:
    r = new_raft(2, (1, 2, 3))
    r.step(read_req(2, b"x"))
    assert read_messages(r) == []
    r.become_follower(1, 1)
    r.step(read_req(2, b"x"))
    [fwd] = read_messages(r)
    assert (fwd.type, fwd.to, fwd.frm, fwd.term, fwd.entries[0].data) == (MT.MsgReadIndex, 1, 2, 0, b"x")
    r.step(msg(MT.MsgReadIndexResp, 1, 2, term=1, index=7, entries=(Entry(0, 0, data=b"x"),)))
    assert r.read_states == [ReadState(7, b"x")]


def test_single_voter_answers_at_once() -> None:
    r = new_raft(1, storage=storage_with((1,), (2,)))
    r.step(hup(1))
    r.step(read_req(1, b"ctx"))
    assert r.read_states == [ReadState(1, b"ctx")]
    # ... and answers a learner's forwarded read directly.
    r.step(Message(MT.MsgReadIndex, 1, 2, entries=(Entry(0, 0, data=b"l"),)))
    [resp] = read_messages(r)
    assert (resp.type, resp.to, resp.index, resp.entries[0].data) == (MT.MsgReadIndexResp, 2, 1, b"l")


def test_learner_reads_through_the_leader() -> None:
    lead = new_raft(1, storage=storage_with((1,), (2,)))
    learner = new_raft(2, storage=storage_with((1,), (2,)))
    net = Network([lead, learner])
    net.send(hup(1))
    net.send(prop(1))
    net.send(read_req(2, b"learner"))
    assert learner.read_states == [ReadState(lead.log.committed, b"learner")]


def test_read_only_frees_its_memory() -> None:
    ro = ReadOnly(ReadOnlyOption.SAFE)
    req = read_req(1, b"ctx")
    ro.add_request(5, req)
    ro.add_request(6, req)  # the same context is queued once
    assert ro.recv_ack(2, b"ctx") == {2}
    assert ro.recv_ack(2, b"other") is None
    [rs] = ro.advance(b"ctx")
    assert (rs.index, rs.req) == (5, req)
    assert ro.pending_count() == 0 and ro.advance(b"ctx") == []
    assert ro.last_pending_request_ctx() == b""
