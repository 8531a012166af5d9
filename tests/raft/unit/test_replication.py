"""Replication flow control: probe / replicate states, inflights, batching, fast log backtracking,
commit rules with learners, the uncommitted size limit."""

from __future__ import annotations

from typing import Any

import pytest

from etcdpy.raft.errors import ProposalDroppedError
from etcdpy.raft.raft import Raft
from etcdpy.raft.raftpb import Entry, HardState, Message, MessageType, StateType
from etcdpy.raft.tracker import ProgressState
from etcdpy.raft.util import entry_size
from tests.raft.unit._network import (
    Network,
    hup,
    log_terms,
    msg,
    new_raft,
    prop,
    read_messages,
    storage_with,
    storage_with_log,
)

MT = MessageType


def _leader(voters: tuple[int, ...] = (1, 2), **options: Any) -> Raft:
    r = new_raft(1, voters, **options)
    r.become_candidate()
    r.become_leader()
    read_messages(r)
    return r


def _apps(msgs: list[Message]) -> list[Message]:
    return [m for m in msgs if m.type == MT.MsgApp]


def test_probe_sends_one_message_until_answered() -> None:
    r = _leader()
    pr = r.prs.progress[2]
    assert pr.state == ProgressState.PROBE
    r.step(prop(1))
    r.step(prop(1))
    r.step(prop(1))
    # One MsgApp (with everything), then the follower is paused until it answers.
    assert len(_apps(read_messages(r))) == 1
    assert pr.probe_sent
    # A heartbeat response unpauses it: the next heartbeat interval carries one more probe.
    r.step(msg(MT.MsgBeat, 1, 1))
    assert [m.type for m in read_messages(r)] == [MT.MsgHeartbeat]
    r.step(msg(MT.MsgHeartbeatResp, 2, 1, term=r.term))
    assert len(_apps(read_messages(r))) == 1


def test_probe_becomes_replicate_after_a_success() -> None:
    r = _leader()
    r.step(prop(1))
    [app] = _apps(read_messages(r))
    r.step(msg(MT.MsgAppResp, 2, 1, term=r.term, index=app.index + len(app.entries)))
    pr = r.prs.progress[2]
    assert (pr.state, pr.match, pr.next) == (ProgressState.REPLICATE, 2, 3)


def test_replicate_streams_up_to_the_inflight_limit() -> None:
    r = _leader(max_inflight_msgs=3)
    pr = r.prs.progress[2]
    pr.become_replicate()
    for _ in range(3):
        r.step(prop(1))
        assert len(_apps(read_messages(r))) == 1
    assert pr.inflights.full()
    for _ in range(5):
        r.step(prop(1))
        assert read_messages(r) == []
    # Acknowledging the first two MsgApps frees two slots; the leader sends what it holds back.
    r.step(msg(MT.MsgAppResp, 2, 1, term=r.term, index=3))
    sent = _apps(read_messages(r))
    assert sent and pr.inflights.count() == 2
    assert sent[-1].entries[-1].index == r.log.last_index()


def test_heartbeat_response_frees_one_slot_of_a_full_window() -> None:
    r = _leader(max_inflight_msgs=2)
    pr = r.prs.progress[2]
    pr.become_replicate()
    for _ in range(3):
        r.step(prop(1))
    read_messages(r)
    assert pr.inflights.full()
    r.step(msg(MT.MsgHeartbeatResp, 2, 1, term=r.term))
    assert len(_apps(read_messages(r))) == 1
    assert pr.inflights.full()


def test_unreachable_follower_is_probed_again() -> None:
    r = _leader()
    pr = r.prs.progress[2]
    pr.maybe_update(1)
    pr.become_replicate()
    pr.optimistic_update(5)
    r.step(msg(MT.MsgUnreachable, 2, 1))
    assert (pr.state, pr.next) == (ProgressState.PROBE, pr.match + 1)


def test_max_size_per_msg_batches_entries() -> None:
    data = b"x" * 100
    size = entry_size(Entry(1, 10, data=data))
    r = _leader(max_size_per_msg=3 * size)
    r.append_entry([Entry(0, 0, data=data)] * 10)
    # The probe carries one batch; once it is acknowledged, the rest streams in batches.
    r.send_append(2)
    [probe] = _apps(read_messages(r))
    assert [e.index for e in probe.entries] == [1, 2, 3]
    r.step(msg(MT.MsgAppResp, 2, 1, term=r.term, index=3))
    apps = _apps(read_messages(r))
    assert [[e.index for e in m.entries] for m in apps] == [[4, 5, 6], [7, 8, 9], [10, 11]]
    assert [m.index for m in apps] == [3, 6, 9]


def test_max_size_zero_sends_one_entry_per_message() -> None:
    r = _leader(max_size_per_msg=0)
    r.append_entry([Entry(0, 0, data=b"d")] * 3)
    r.send_append(2)
    assert [len(m.entries) for m in _apps(read_messages(r))] == [1]
    r.step(msg(MT.MsgAppResp, 2, 1, term=r.term, index=1))
    assert [len(m.entries) for m in _apps(read_messages(r))] == [1, 1, 1]


def test_rejection_hint_skips_a_divergent_tail_in_one_round_trip() -> None:
    """The follower answers a mismatch with the last index whose term is <= the probe's term; the leader
    refines that against its own log, so whole terms are skipped at once."""
    leader_terms = [1, 2, 2, 4, 4, 4, 4]
    follower_terms = [1, 2, 2, 3, 3, 3, 3, 3, 3]
    lead = new_raft(1, storage=storage_with_log((1, 2, 3), leader_terms))
    lead.load_state(HardState(term=4))
    follower = new_raft(2, storage=storage_with_log((1, 2, 3), follower_terms))
    follower.load_state(HardState(term=4))
    lead.become_candidate()
    lead.become_leader()
    read_messages(lead)
    follower.become_follower(lead.term, 1)
    # Probe at the leader's last index; count the round trips until the follower matches.
    lead.send_append(2)
    rounds = 0
    while True:
        [app] = _apps(read_messages(lead))
        follower.step(app)
        [resp] = read_messages(follower)
        rounds += 1
        lead.step(resp)
        if not resp.reject:
            break
    # Probe at 8 (term 5) -> hint (8, 3) -> leader skips to index 3 (term 2 <= 3) -> match.
    assert rounds == 2
    assert log_terms(follower) == log_terms(lead)


def test_follower_rejection_carries_index_and_term_hint() -> None:
    r = new_raft(2, storage=storage_with_log((1, 2), [1, 1, 3, 3, 3]))
    r.load_state(HardState(term=5))
    r.become_follower(5, 1)
    r.step(msg(MT.MsgApp, 1, 2, term=5, index=7, log_term=4))
    [resp] = read_messages(r)
    # index 7 is past the end: hint from the last index (5, term 3 <= 4).
    assert (resp.reject, resp.index, resp.reject_hint, resp.log_term) == (True, 7, 5, 3)
    r.step(msg(MT.MsgApp, 1, 2, term=5, index=4, log_term=2))
    [resp] = read_messages(r)
    assert (resp.reject, resp.reject_hint, resp.log_term) == (True, 2, 1)


def test_stale_rejection_is_ignored() -> None:
    r = _leader()
    r.append_entry([Entry(0, 0, data=b"d")] * 5)
    pr = r.prs.progress[2]
    pr.maybe_update(4)
    pr.become_replicate()
    before = (pr.state, pr.next)
    # A rejection at or below the match answers a MsgApp older than the match's acknowledgement.
    r.step(msg(MT.MsgAppResp, 2, 1, term=r.term, index=3, reject=True, reject_hint=2))
    assert (pr.state, pr.next) == before
    assert read_messages(r) == []


def test_message_of_a_committed_prefix_is_acknowledged_with_the_commit_index() -> None:
    r = new_raft(2, storage=storage_with_log((1, 2), [1, 1, 1], HardState(term=1, commit=3)))
    r.become_follower(1, 1)
    r.step(msg(MT.MsgApp, 1, 2, term=1, index=1, log_term=1, entries=(Entry(1, 2),)))
    [resp] = read_messages(r)
    assert (resp.reject, resp.index) == (False, 3)


def test_heartbeat_commit_never_exceeds_the_follower_match() -> None:
    r = _leader((1, 2, 3))
    for _ in range(3):
        r.step(prop(1))
    read_messages(r)
    r.step(msg(MT.MsgAppResp, 2, 1, term=r.term, index=4))
    r.step(msg(MT.MsgAppResp, 3, 1, term=r.term, index=2))
    read_messages(r)
    assert r.log.committed == 4
    r.step(msg(MT.MsgBeat, 1, 1))
    commits = {m.to: m.commit for m in read_messages(r) if m.type == MT.MsgHeartbeat}
    assert commits == {2: 4, 3: 2}


def test_follower_commits_from_heartbeat() -> None:
    r = new_raft(2, storage=storage_with_log((1, 2), [1, 1, 1]))
    r.become_follower(1, 1)
    r.step(msg(MT.MsgHeartbeat, 1, 2, term=1, commit=2, context=b"ctx"))
    assert r.log.committed == 2
    [resp] = read_messages(r)
    assert (resp.type, resp.context) == (MT.MsgHeartbeatResp, b"ctx")


def test_learners_receive_entries_but_do_not_count_for_commit() -> None:
    lead = new_raft(1, storage=storage_with((1,), (2,)))
    learner = new_raft(2, storage=storage_with((1,), (2,)))
    net = Network([lead, learner])
    net.send(hup(1))
    net.send(prop(1, b"somedata"))
    assert lead.state == StateType.LEADER
    assert log_terms(learner) == log_terms(lead) == [(1, 1), (2, 1)]
    assert learner.log.committed == lead.log.committed == 2
    # A single voter with a lagging learner still commits alone.
    net.isolate(2)
    net.send(prop(1, b"more"))
    assert lead.log.committed == 3 and learner.log.committed == 2


def test_two_voters_and_a_learner_need_both_voters() -> None:
    r = new_raft(1, storage=storage_with((1, 2), (3,)))
    r.step(hup(1))
    r.step(msg(MT.MsgVoteResp, 2, 1, term=1))
    assert r.state == StateType.LEADER
    r.step(prop(1))
    read_messages(r)
    r.step(msg(MT.MsgAppResp, 3, 1, term=1, index=2))
    assert r.log.committed == 0
    r.step(msg(MT.MsgAppResp, 2, 1, term=1, index=2))
    assert r.log.committed == 2


def test_uncommitted_size_limit_drops_proposals() -> None:
    data = b"testdata"
    limit = 4 * len(data)
    r = _leader((1, 2, 3), max_uncommitted_entries_size=limit)
    for _ in range(4):
        r.step(prop(1, data))
    with pytest.raises(ProposalDroppedError):
        r.step(prop(1, data))
    # Committing (applying) the entries frees the budget again.
    r.reduce_uncommitted_size([Entry(0, 0, data=data)] * 4)
    assert r.uncommitted_size == 0
    # An empty budget admits one proposal of any size, then drops the next.
    r.step(Message(MT.MsgProp, 1, 1, entries=tuple(Entry(0, 0, data=data) for _ in range(8))))
    with pytest.raises(ProposalDroppedError):
        r.step(prop(1, data))


def test_empty_leader_entry_does_not_use_the_budget() -> None:
    r = _leader((1, 2, 3), max_uncommitted_entries_size=10)
    assert r.uncommitted_size == 0


def test_proposal_forwarding() -> None:
    net = Network([None, None, None])
    net.send(hup(1))
    net.send(prop(2, b"forwarded"))
    assert [e.data for e in net.raft(1).log.all_entries()] == [b"", b"forwarded"]
    assert net.raft(2).log.committed == 2


def test_proposal_without_leader_or_with_forwarding_disabled_is_dropped() -> None:
    r = new_raft(2, (1, 2, 3))
    with pytest.raises(ProposalDroppedError):
        r.step(prop(2))
    r2 = new_raft(2, (1, 2, 3), disable_proposal_forwarding=True)
    r2.become_follower(1, 1)
    with pytest.raises(ProposalDroppedError):
        r2.step(prop(2))
    r3 = new_raft(3, (1, 2, 3))
    r3.become_candidate()
    with pytest.raises(ProposalDroppedError):
        r3.step(prop(3))


def test_old_messages_do_not_change_the_log() -> None:
    """An MsgApp of an old term arriving late (after elections moved on) is ignored."""
    net = Network([None, None, None])
    net.send(hup(1))
    net.send(hup(2))
    net.send(hup(1))
    # A MsgApp from term 2's leader (2), delayed until term 3.
    net.send(msg(MT.MsgApp, 2, 1, term=2, entries=(Entry(2, 3),)))
    net.send(prop(1, b"somedata"))
    for m in (1, 2, 3):
        assert log_terms(net.raft(m)) == [(1, 1), (2, 2), (3, 3), (4, 3)]


def test_log_replication_through_a_partition() -> None:
    net = Network([None, None, None])
    net.send(hup(1))
    net.isolate(3)
    net.send(prop(1, b"a"), prop(1, b"b"))
    assert net.raft(1).log.committed == 3 and net.raft(3).log.committed == 1
    net.recover()
    net.send(msg(MT.MsgBeat, 1, 1))
    assert log_terms(net.raft(3)) == log_terms(net.raft(1))
    assert net.raft(3).log.committed == 3
