"""Snapshots: the leader sends one to a follower behind its first index, tracks it, and the follower
installs it (log reset, configuration from the snapshot)."""

from __future__ import annotations

from etcdpy.raft.raft import Raft
from etcdpy.raft.raftpb import ConfState, Entry, HardState, MessageType, Snapshot, SnapshotMeta, StateType
from etcdpy.raft.storage import MemoryStorage
from etcdpy.raft.tracker import ProgressState
from tests.raft.unit._network import Network, hup, log_terms, msg, new_raft, prop, read_messages, storage_with

MT = MessageType
SNAP = Snapshot(b"state", SnapshotMeta(11, 11, ConfState(voters=(1, 2))))


def _leader_from_snapshot(snap: Snapshot = SNAP) -> Raft:
    storage = MemoryStorage()
    storage.apply_snapshot(snap)
    r = new_raft(1, storage=storage)
    r.become_candidate()
    r.become_leader()
    read_messages(r)
    return r


def test_follower_behind_the_first_index_gets_a_snapshot() -> None:
    r = _leader_from_snapshot()
    pr = r.prs.progress[2]
    pr.recent_active = True
    # The follower rejects the probe at the leader's last index and hints it has nothing.
    r.step(msg(MT.MsgAppResp, 2, 1, term=r.term, index=pr.next - 1, reject=True, reject_hint=0))
    [m] = read_messages(r)
    assert m.type == MT.MsgSnap and m.snapshot == SNAP
    assert (pr.state, pr.pending_snapshot) == (ProgressState.SNAPSHOT, 11)


def test_inactive_follower_gets_no_snapshot() -> None:
    r = _leader_from_snapshot()
    pr = r.prs.progress[2]
    pr.recent_active = False
    pr.next = r.log.first_index() - 1
    r.send_append(2)
    assert read_messages(r) == []
    assert pr.state == ProgressState.PROBE


def test_pending_snapshot_pauses_replication() -> None:
    r = _leader_from_snapshot()
    r.prs.progress[2].become_snapshot(11)
    r.step(prop(1))
    assert read_messages(r) == []


def test_snapshot_failure_probes_from_the_match() -> None:
    r = _leader_from_snapshot()
    pr = r.prs.progress[2]
    pr.next = 1
    pr.become_snapshot(11)
    r.step(msg(MT.MsgSnapStatus, 2, 1, reject=True))
    assert (pr.state, pr.pending_snapshot, pr.next, pr.probe_sent) == (ProgressState.PROBE, 0, 1, True)


def test_snapshot_success_probes_after_the_snapshot() -> None:
    r = _leader_from_snapshot()
    pr = r.prs.progress[2]
    pr.next = 1
    pr.become_snapshot(11)
    r.step(msg(MT.MsgSnapStatus, 2, 1, reject=False))
    assert (pr.state, pr.pending_snapshot, pr.next, pr.probe_sent) == (ProgressState.PROBE, 0, 12, True)


def test_append_response_past_the_snapshot_aborts_it() -> None:
    r = _leader_from_snapshot()
    pr = r.prs.progress[2]
    pr.next = 1
    pr.become_snapshot(11)
    r.step(msg(MT.MsgAppResp, 2, 1, term=r.term, index=11))
    # Back to streaming; the leader's empty entry (12) went out at once.
    assert (pr.state, pr.pending_snapshot, pr.next, pr.inflights.count()) == (
        ProgressState.REPLICATE,
        0,
        13,
        1,
    )


def test_snapshot_status_outside_snapshot_state_is_ignored() -> None:
    r = _leader_from_snapshot()
    pr = r.prs.progress[2]
    pr.become_replicate()
    r.step(msg(MT.MsgSnapStatus, 2, 1, reject=True))
    assert pr.state == ProgressState.REPLICATE


def test_follower_restores_a_snapshot() -> None:
    snap = Snapshot(b"", SnapshotMeta(11, 11, ConfState(voters=(1, 2, 3), learners=(4,))))
    r = new_raft(2, (1, 2))
    r.become_follower(11, 1)
    r.step(msg(MT.MsgSnap, 1, 2, term=11, snapshot=snap))
    assert (r.log.last_index(), r.log.term(11), r.log.committed) == (11, 11, 11)
    assert r.prs.conf_state() == ConfState(voters=(1, 2, 3), learners=(4,))
    assert r.log.unstable.snapshot == snap
    [resp] = read_messages(r)
    assert (resp.type, resp.index, resp.reject) == (MT.MsgAppResp, 11, False)
    # A second delivery is stale.
    r.step(msg(MT.MsgSnap, 1, 2, term=11, snapshot=snap))
    assert read_messages(r)[0].index == 11


def test_restore_as_a_learner() -> None:
    snap = Snapshot(b"", SnapshotMeta(11, 11, ConfState(voters=(1, 2), learners=(3,))))
    r = new_raft(3, storage=storage_with((1, 2), (3,)))
    assert r.restore(snap)
    assert r.is_learner and r.prs.progress[3].is_learner
    assert not r.promotable()


def test_restore_demoting_a_voter_to_learner() -> None:
    snap = Snapshot(b"", SnapshotMeta(11, 11, ConfState(voters=(1, 2), learners=(3,))))
    r = new_raft(3, (1, 2, 3))
    assert r.restore(snap)
    assert r.is_learner


def test_restore_promoting_a_learner() -> None:
    snap = Snapshot(b"", SnapshotMeta(11, 11, ConfState(voters=(1, 2, 3))))
    r = new_raft(3, storage=storage_with((1, 2), (3,)))
    assert r.is_learner
    assert r.restore(snap)
    assert not r.is_learner and r.promotable()


def test_snapshot_without_this_member_is_ignored() -> None:
    snap = Snapshot(b"", SnapshotMeta(11, 11, ConfState(voters=(1, 2))))
    r = new_raft(3, (1, 2, 3))
    assert not r.restore(snap)
    assert r.log.last_index() == 0


def test_snapshot_the_log_already_has_only_moves_the_commit_index() -> None:
    r = new_raft(1, (1, 2))
    r.log.append([Entry(1, 1), Entry(1, 2), Entry(1, 3)])
    r.log.commit_to(1)
    snap = Snapshot(b"", SnapshotMeta(2, 1, ConfState(voters=(1, 2))))
    assert not r.restore(snap)
    assert (r.log.committed, r.log.last_index()) == (2, 3)
    # An older snapshot (at or below the commit index) is ignored outright.
    assert not r.restore(Snapshot(b"", SnapshotMeta(1, 1, ConfState(voters=(1, 2)))))


def test_snapshot_to_a_candidate_makes_it_follow() -> None:
    r = new_raft(2, (1, 2))
    r.become_candidate()
    r.step(msg(MT.MsgSnap, 1, 2, term=r.term, snapshot=SNAP))
    assert (r.state, r.lead, r.log.committed) == (StateType.FOLLOWER, 1, 11)


def test_slow_member_catches_up_through_a_snapshot() -> None:
    """A member that misses entries compacted away on the leader is brought back with a snapshot."""
    net = Network([None, None, None])
    net.send(hup(1))
    net.isolate(3)
    for _ in range(20):
        net.send(prop(1))
    lead = net.raft(1)
    # The leader persists, snapshots and compacts its log (as a driver would).
    storage = lead.log.storage
    assert isinstance(storage, MemoryStorage)
    storage.append(lead.log.unstable_entries())
    lead.log.stable_to(lead.log.last_index(), lead.log.last_term())
    storage.create_snapshot(lead.log.committed, lead.prs.conf_state(), b"image")
    storage.compact(lead.log.committed)
    lead.log.applied_to(lead.log.committed)
    net.recover()
    # The leader hears from 3 again and sends it the snapshot; 3's answer resumes replication.
    lead.prs.progress[3].recent_active = True
    net.send(msg(MT.MsgBeat, 1, 1))
    follower = net.raft(3)
    assert follower.log.unstable.snapshot is not None
    assert follower.log.committed == lead.log.committed
    pr = lead.prs.progress[3]
    assert (pr.state, pr.match) == (ProgressState.REPLICATE, lead.log.committed)
    net.send(prop(1))
    assert follower.log.committed == lead.log.committed
    assert log_terms(follower)[-1] == log_terms(lead)[-1]


def test_restore_from_a_snapshot_message_on_a_fresh_member() -> None:
    snap = Snapshot(b"", SnapshotMeta(11, 11, ConfState(voters=(1, 2))))
    r = new_raft(2, (1, 2))
    r.step(msg(MT.MsgSnap, 1, 2, term=2, snapshot=snap))
    assert r.lead == 1 and r.term == 2 and r.log.committed == 11
    assert r.hard_state() == HardState(2, 0, 11)
