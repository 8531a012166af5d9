"""RawNode: the Ready / advance contract, bootstrap and restart, step filtering, status."""

from __future__ import annotations

import random

import pytest

from etcdpy.raft import (
    Config,
    MemoryStorage,
    Peer,
    ProposalDroppedError,
    RaftError,
    RawNode,
    StepLocalMsgError,
    StepPeerNotFoundError,
)
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
    ReadState,
    Ready,
    Snapshot,
    SnapshotMeta,
    SoftState,
    StateType,
)
from etcdpy.raft.util import entry_size

MT = MessageType


def node(member: int, storage: MemoryStorage, **options: object) -> RawNode:
    cfg = Config(id=member, storage=storage, rand=random.Random(member), election_tick=10, heartbeat_tick=1)
    for name, value in options.items():
        setattr(cfg, name, value)
    return RawNode(cfg)


def persist(storage: MemoryStorage, rd: Ready) -> None:
    """What a driver does with a Ready before advancing (minus sending and applying)."""
    if rd.snapshot is not None:
        storage.apply_snapshot(rd.snapshot)
    if rd.hard_state is not None:
        storage.set_hard_state(rd.hard_state)
    storage.append(rd.entries)


def cycle(n: RawNode, storage: MemoryStorage) -> Ready:
    rd = n.ready()
    persist(storage, rd)
    n.advance(rd)
    return rd


class Cluster:
    """RawNodes driven by a Ready loop: persist, deliver messages, apply (conf changes too)."""

    def __init__(self, size: int, **options: object) -> None:
        self.storages = {m: MemoryStorage() for m in range(1, size + 1)}
        self.nodes = {m: node(m, s, **options) for m, s in self.storages.items()}
        for n in self.nodes.values():
            n.bootstrap(list(self.nodes))
        self.applied: dict[int, list[Entry]] = {m: [] for m in self.nodes}

    def run(self) -> None:
        busy = True
        while busy:
            busy = False
            outbox: list[Message] = []
            for m, n in self.nodes.items():
                while n.has_ready():
                    busy = True
                    rd = n.ready()
                    persist(self.storages[m], rd)
                    outbox.extend(rd.messages)
                    for e in rd.committed_entries:
                        if e.type == EntryType.CONF_CHANGE:
                            n.apply_conf_change(ConfChange.decode(e.data))
                        self.applied[m].append(e)
                    n.advance(rd)
            for msg in outbox:
                self.nodes[msg.to].step(msg)

    def tick(self, times: int) -> None:
        for _ in range(times):
            for n in self.nodes.values():
                n.tick()
            self.run()

    def leader(self) -> int:
        [lead] = [m for m, n in self.nodes.items() if n.status().soft_state.raft_state == StateType.LEADER]
        return lead


def test_bootstrap_emits_conf_change_entries_in_the_first_ready() -> None:
    s = MemoryStorage()
    n = node(1, s)
    n.bootstrap([1, Peer(2, b"ctx")])
    rd = n.ready()
    assert rd.hard_state == HardState(1, 0, 2)
    assert rd.must_sync
    assert [(e.term, e.index, e.type) for e in rd.entries] == [
        (1, 1, EntryType.CONF_CHANGE),
        (1, 2, EntryType.CONF_CHANGE),
    ]
    assert rd.committed_entries == rd.entries
    assert ConfChange.decode(rd.entries[1].data) == ConfChange(ConfChangeType.ADD_NODE, 2, b"ctx")
    assert n.status().config.voters.incoming == {1, 2}
    persist(s, rd)
    n.advance(rd)
    assert not n.has_ready()


def test_bootstrap_needs_peers_and_an_empty_storage() -> None:
    with pytest.raises(RaftError):
        node(1, MemoryStorage()).bootstrap([])
    s = MemoryStorage()
    s.append([Entry(1, 1)])
    with pytest.raises(RaftError):
        node(1, s).bootstrap([1])


def test_single_member_lifecycle() -> None:
    s = MemoryStorage(ConfState(voters=(1,)))
    n = node(1, s)
    assert not n.has_ready()
    n.campaign()
    rd = cycle(n, s)
    assert rd.soft_state == SoftState(1, StateType.LEADER)
    assert rd.hard_state == HardState(1, 1, 1)
    assert rd.entries == (Entry(1, 1),) and rd.committed_entries == (Entry(1, 1),)
    assert rd.must_sync
    n.propose(b"foo")
    rd = cycle(n, s)
    assert rd.soft_state is None and rd.entries == (Entry(1, 2, data=b"foo"),)
    assert rd.committed_entries == (Entry(1, 2, data=b"foo"),)
    assert not n.has_ready()
    assert n.status().applied == 2


def test_must_sync_only_for_entries_term_or_vote() -> None:
    s = MemoryStorage(ConfState(voters=(1, 2)))
    n = node(1, s)
    n.campaign()
    rd = cycle(n, s)
    assert rd.must_sync and rd.hard_state == HardState(1, 1, 0)
    n.step(Message(MT.MsgVoteResp, 1, 2, 1))
    rd = cycle(n, s)
    assert rd.must_sync and rd.hard_state is None and rd.entries == (Entry(1, 1),)
    # Only the commit index changes: no sync needed.
    n.step(Message(MT.MsgAppResp, 1, 2, 1, index=1))
    rd = cycle(n, s)
    assert rd.hard_state == HardState(1, 1, 1) and rd.entries == () and not rd.must_sync


def test_follower_receives_and_applies() -> None:
    s = MemoryStorage(ConfState(voters=(1, 2)))
    n = node(2, s)
    n.step(Message(MT.MsgApp, 2, 1, 3, 0, 0, (Entry(3, 1, data=b"a"), Entry(3, 2, data=b"b")), 1))
    rd = cycle(n, s)
    assert rd.soft_state == SoftState(1, StateType.FOLLOWER)
    assert rd.hard_state == HardState(3, 0, 1)
    assert len(rd.entries) == 2 and rd.committed_entries == (Entry(3, 1, data=b"a"),)
    assert [(m.type, m.to, m.index) for m in rd.messages] == [(MT.MsgAppResp, 1, 2)]


def test_restart_replays_committed_but_unapplied_entries() -> None:
    s = MemoryStorage(ConfState(voters=(1,)))
    s.append([Entry(1, 1), Entry(1, 2, data=b"foo"), Entry(1, 3, data=b"bar")])
    s.set_hard_state(HardState(1, 1, 2))
    n = node(1, s)
    rd = n.ready()
    assert rd.hard_state is None and rd.entries == ()
    assert rd.committed_entries == (Entry(1, 1), Entry(1, 2, data=b"foo"))
    n.advance(rd)
    assert not n.has_ready()
    # With applied set, only what follows is replayed.
    n2 = node(1, s, applied=1)
    assert n2.ready().committed_entries == (Entry(1, 2, data=b"foo"),)


def test_restart_from_a_snapshot() -> None:
    s = MemoryStorage()
    s.apply_snapshot(Snapshot(b"", SnapshotMeta(2, 1, ConfState(voters=(1, 2)))))
    s.append([Entry(1, 3, data=b"foo")])
    s.set_hard_state(HardState(1, 0, 3))
    n = node(1, s)
    rd = n.ready()
    assert rd.committed_entries == (Entry(1, 3, data=b"foo"),)
    n.advance(rd)
    assert not n.has_ready()


def test_committed_entries_are_paginated() -> None:
    data = b"x" * 100
    size = entry_size(Entry(1, 1, data=data))
    s = MemoryStorage(ConfState(voters=(1,)))
    s.append([Entry(1, i, data=data) for i in range(1, 11)])
    s.set_hard_state(HardState(1, 1, 10))
    n = node(1, s, max_committed_size_per_ready=3 * size)
    sizes = []
    while n.has_ready():
        rd = n.ready()
        sizes.append(len(rd.committed_entries))
        n.advance(rd)
    assert sizes == [3, 3, 3, 1]


def test_step_refuses_local_messages_and_unknown_responders() -> None:
    n = node(1, MemoryStorage(ConfState(voters=(1, 2))))
    for t in (MT.MsgHup, MT.MsgBeat, MT.MsgUnreachable, MT.MsgSnapStatus, MT.MsgCheckQuorum):
        with pytest.raises(StepLocalMsgError):
            n.step(Message(t, 1, 2))
    with pytest.raises(StepPeerNotFoundError):
        n.step(Message(MT.MsgAppResp, 1, 9, 1))
    with pytest.raises(ValueError):
        n.step(Message(MT.MsgHeartbeatResp, 1, 9, 1))


def test_forwarded_proposal_without_leader_is_dropped_silently() -> None:
    n = node(1, MemoryStorage(ConfState(voters=(1, 2))))
    n.step(Message(MT.MsgProp, 1, 2, entries=(Entry(0, 0, data=b"x"),)))
    with pytest.raises(ProposalDroppedError):
        n.propose(b"x")


def test_read_index_in_ready() -> None:
    s = MemoryStorage(ConfState(voters=(1,)))
    n = node(1, s)
    n.campaign()
    cycle(n, s)
    n.read_index(b"req")
    rd = cycle(n, s)
    assert rd.read_states == (ReadState(1, b"req"),)
    assert not n.has_ready()


def test_status() -> None:
    s = MemoryStorage(ConfState(voters=(1, 2)))
    n = node(1, s)
    st = n.status()
    assert (st.id, st.soft_state, st.progress) == (1, SoftState(0, StateType.FOLLOWER), {})
    n.campaign()
    n.step(Message(MT.MsgVoteResp, 1, 2, 1))
    st = n.status()
    assert st.soft_state.raft_state == StateType.LEADER and set(st.progress) == {1, 2}
    assert st.hard_state == HardState(1, 1, 0) and st.lead_transferee == 0
    # The copy is detached from the live state.
    st.progress[2].match = 99
    assert n.status().progress[2].match == 0


def test_report_unreachable_and_snapshot() -> None:
    s = MemoryStorage(ConfState(voters=(1, 2)))
    n = node(1, s)
    n.campaign()
    n.step(Message(MT.MsgVoteResp, 1, 2, 1))
    n.step(Message(MT.MsgAppResp, 1, 2, 1, index=1))
    assert n.status().progress[2].state.describe() == "StateReplicate"
    n.report_unreachable(2)
    assert n.status().progress[2].state.describe() == "StateProbe"
    n.raft.prs.progress[2].become_snapshot(5)
    n.report_snapshot(2, ok=True)
    assert n.status().progress[2].next == 6


def test_conf_change_round_trip_through_the_log() -> None:
    s = MemoryStorage(ConfState(voters=(1,)))
    n = node(1, s)
    n.campaign()
    cycle(n, s)
    n.propose_conf_change(ConfChange(ConfChangeType.ADD_LEARNER_NODE, 2, b"member"))
    rd = cycle(n, s)
    [entry] = rd.committed_entries
    assert entry.type == EntryType.CONF_CHANGE
    cs = n.apply_conf_change(ConfChange.decode(entry.data))
    assert cs == ConfState(voters=(1,), learners=(2,))
    # ConfChangeV2 is accepted as well.
    n.propose_conf_change(ConfChangeV2(changes=ConfChange(ConfChangeType.ADD_NODE, 2).as_v2().changes))
    rd = cycle(n, s)
    assert rd.committed_entries[0].type == EntryType.CONF_CHANGE_V2
    assert n.apply_conf_change(ConfChangeV2.decode(rd.committed_entries[0].data)) == ConfState(voters=(1, 2))


def test_follower_ready_carries_an_incoming_snapshot() -> None:
    s = MemoryStorage(ConfState(voters=(1, 2)))
    n = node(2, s)
    snap = Snapshot(b"img", SnapshotMeta(10, 2, ConfState(voters=(1, 2))))
    n.step(Message(MT.MsgSnap, 2, 1, 2, snapshot=snap))
    rd = cycle(n, s)
    assert rd.snapshot == snap and rd.hard_state == HardState(2, 0, 10)
    assert rd.committed_entries == ()
    assert s.first_index() == 11 and n.status().applied == 10
    assert not n.has_ready()


def test_three_member_cluster_elects_and_replicates() -> None:
    c = Cluster(3, pre_vote=True, check_quorum=True)
    c.tick(30)
    lead = c.leader()
    for i in range(5):
        c.nodes[lead].propose(b"v%d" % i)
    c.run()
    logs = {m: [(e.index, e.term, e.data) for e in c.applied[m]] for m in c.nodes}
    assert logs[1] == logs[2] == logs[3]
    assert [d for _, _, d in logs[1][-5:]] == [b"v0", b"v1", b"v2", b"v3", b"v4"]
    for m, s in c.storages.items():
        assert s.hard_state.commit == logs[m][-1][0]


def test_cluster_survives_a_leader_transfer() -> None:
    c = Cluster(3)
    c.tick(30)
    lead = c.leader()
    target = 1 if lead != 1 else 2
    c.nodes[lead].transfer_leader(target)
    c.run()
    assert c.leader() == target
    c.nodes[target].propose(b"after")
    c.run()
    assert all(c.applied[m][-1].data == b"after" for m in c.nodes)
