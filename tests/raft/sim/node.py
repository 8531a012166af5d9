"""One simulated member: a RawNode over a MemoryStorage, its Disk, its state machine, and its Ready loop.

The Ready loop follows the driver contract literally: persist (snapshot, entries, hard state), send the
messages, apply the snapshot and the committed entries, advance. A crash drops everything but the Disk.
"""

from __future__ import annotations

from collections import Counter
from typing import Protocol

from etcdpy.raft.config import Config
from etcdpy.raft.raftpb import (
    ConfChange,
    ConfChangeType,
    ConfState,
    EntryType,
    Message,
    Ready,
    Snapshot,
    SnapshotMeta,
    StateType,
)
from etcdpy.raft.rawnode import RawNode
from etcdpy.raft.storage import MemoryStorage
from tests.raft.sim.disk import Disk
from tests.raft.sim.invariants import Checker, InvariantViolation
from tests.raft.sim.statemachine import StateMachine


class Host(Protocol):
    """What a node's Ready loop needs from the simulation around it."""

    checker: Checker
    stats: Counter[str]

    def record(self, kind: str, *args: object) -> None: ...

    def send(self, node: SimNode, msg: Message) -> None: ...

    def conf_change_applied(self, node: SimNode, cc: ConfChange) -> None: ...

    def entry_applied(self, node: SimNode, data: bytes) -> None: ...

    def crash_before_persist(self, node: SimNode) -> bool:
        """Whether the leader `node` dies after sending this Ready's messages, before persisting it."""
        ...


class SimNode:
    """Invariant: `raw`, `storage` and `sm` are all set while the node is up and all None while down.
    `incarnation` grows at each crash, so events addressed to an earlier life are recognised as stale."""

    def __init__(self, node_id: int, disk: Disk) -> None:
        self.id = node_id
        self.disk = disk
        self.incarnation = 0
        self.raw: RawNode | None = None
        self.storage: MemoryStorage | None = None
        self.sm: StateMachine | None = None
        self.role = StateType.FOLLOWER
        self.left = False
        """Stopped for good: it applied its own removal (an etcd member then shuts down)."""

    @property
    def up(self) -> bool:
        return self.raw is not None

    @property
    def term(self) -> int:
        return self.disk.hard_state.term

    def start(self, config: Config) -> None:
        """Boot from the Disk alone; `config.storage` must be `self.disk.load()`."""
        assert isinstance(config.storage, MemoryStorage)
        snap = self.disk.snapshot
        self.storage = config.storage
        self.sm = StateMachine.restore(snap) if not snap.is_empty() else StateMachine(0, b"", ConfState())
        self.raw = RawNode(config)
        self.role = StateType.FOLLOWER

    def crash(self) -> None:
        self.raw = self.storage = self.sm = None
        self.incarnation += 1
        self.role = StateType.FOLLOWER

    def handle_ready(self, host: Host) -> None:
        raw = self.raw
        assert raw is not None
        while raw.has_ready():
            rd = raw.ready()
            host.record("ready", self.id, rd)
            role = rd.soft_state.raft_state if rd.soft_state is not None else self.role
            if role == StateType.LEADER and rd.entries and host.crash_before_persist(self):
                # A leader may send before its own entries are durable (etcd does), and die between.
                self._observe_role(role, host)
                for m in rd.messages:
                    host.send(self, m)
                self.crash()
                return
            self._persist(rd, host.checker)
            for m in rd.messages:
                host.send(self, m)
            if rd.soft_state is not None:
                self._observe_role(rd.soft_state.raft_state, host)
            leaving = self._apply(rd, host)
            for rs in rd.read_states:
                host.record("read-state", self.id, rs.request_ctx, f"index={rs.index}")
                host.checker.read_state(self.id, rs)
                host.stats["reads served"] += 1
            raw.advance(rd)
            if leaving:
                host.record("leave", self.id)
                host.stats["members left"] += 1
                self.crash()
                self.left = True
                return
        self._check_status(raw)

    def _check_status(self, raw: RawNode) -> None:
        """With no Ready pending, the node's own view must be what its Readies reported: a change left out
        (a vote, say) would never have been persisted."""
        st, disk, sm = raw.status(), self.disk, self.sm
        assert sm is not None
        hs = st.hard_state
        if (
            (hs.term, hs.vote, hs.commit) != (disk.hard_state.term, disk.hard_state.vote, disk.commit)
            or st.soft_state.raft_state != self.role
            or st.applied != sm.applied
        ):
            raise InvariantViolation(
                "Ready reports every change",
                f"node {self.id} status {hs} {st.soft_state} applied={st.applied}; persisted "
                f"{disk.hard_state} (commit {disk.commit}), role {self.role.name}, applied {sm.applied}",
            )

    def _persist(self, rd: Ready, checker: Checker) -> None:
        disk, storage = self.disk, self.storage
        assert storage is not None
        if rd.snapshot is not None:
            term = (rd.hard_state or disk.hard_state).term
            checker.snapshot_installed(self.id, disk, rd.snapshot, term)
            disk.install(rd.snapshot)
            storage.apply_snapshot(rd.snapshot)
        if rd.entries:
            checker.entries(self.id, disk, rd.entries, rd.must_sync)
            disk.write(rd.entries)
            storage.append(rd.entries)
        if rd.hard_state is not None:
            old = disk.hard_state
            checker.hard_state(self.id, old, rd.hard_state, rd.must_sync)
            disk.hard_state = rd.hard_state
            storage.set_hard_state(rd.hard_state)
            checker.commit(self.id, disk, old.commit, rd.hard_state.commit)
        last = disk.last_index()
        if storage.last_index() != last or storage.term(last) != disk.term(last):
            raise InvariantViolation(
                "storage mirrors what was persisted",
                f"node {self.id} storage ends at {storage.last_index()}, persisted log at {last}",
            )

    def _observe_role(self, role: StateType, host: Host) -> None:
        if role == StateType.LEADER and self.role != StateType.LEADER:
            host.checker.leader(self.id, self.term, self.disk)
            host.stats["leaders elected"] += 1
        self.role = role

    def _apply(self, rd: Ready, host: Host) -> bool:
        """Apply the Ready's snapshot and committed entries; whether this node applied its own removal."""
        raw, sm = self.raw, self.sm
        assert raw is not None and sm is not None
        if rd.snapshot is not None:
            if rd.snapshot.metadata.index <= sm.applied:
                raise InvariantViolation(
                    "applied monotonic",
                    f"node {self.id} applied {sm.applied}, got snapshot {rd.snapshot.metadata.index}",
                )
            sm = StateMachine.restore(rd.snapshot)
            host.checker.snapshot_applied(self.id, rd.snapshot, sm.digest)
            host.stats["snapshots installed"] += 1
            self.sm = sm
        leaving = False
        for e in rd.committed_entries:
            if e.index != sm.applied + 1 or self.disk.entry(e.index) != e:
                raise InvariantViolation(
                    "apply durable entries in order",
                    f"node {self.id} applied {sm.applied}, got {e.term}/{e.index}; "
                    f"its log has {self.disk.entry(e.index)}",
                )
            sm.apply(e)
            if e.type == EntryType.CONF_CHANGE:
                cc = ConfChange.decode(e.data)
                sm.conf_state = raw.apply_conf_change(cc)
                if cc.type == ConfChangeType.REMOVE_NODE:
                    sm.removed.add(cc.node_id)
                    leaving = leaving or cc.node_id == self.id
                host.conf_change_applied(self, cc)
            host.checker.applied(self.id, e, sm.digest)
            host.entry_applied(self, e.data)
        if sm.applied > self.disk.commit:
            raise InvariantViolation(
                "applied <= committed", f"node {self.id} applied {sm.applied} > commit {self.disk.commit}"
            )
        return leaving

    def applied_snapshot(self) -> Snapshot:
        """A snapshot of the state machine as applied now (what etcd's server sends a lagging member)."""
        sm = self.sm
        assert sm is not None
        term = self.disk.term(sm.applied)
        assert term is not None
        return Snapshot(sm.image(), SnapshotMeta(sm.applied, term, sm.conf_state))

    def compact(self, keep: int) -> int:
        """Snapshot the state machine at its applied index and drop the log before `applied - keep`;
        returns the snapshot index (0 when there is nothing new to snapshot)."""
        storage, sm = self.storage, self.sm
        assert storage is not None and sm is not None
        if sm.applied <= self.disk.snap_index:
            return 0
        snap = storage.create_snapshot(sm.applied, sm.conf_state, sm.image())
        self.disk.compact(snap)
        if sm.applied - keep >= storage.first_index():
            storage.compact(sm.applied - keep)
        return sm.applied
