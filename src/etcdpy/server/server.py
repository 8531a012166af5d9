"""EtcdServer: one member's state and the loop that drives consensus, disk and apply.

Write path: a request is validated, wrapped in an InternalRaftRequest with a
fresh ID, proposed, and the caller waits on that ID. The driver loop hands
everything proposed since its last turn to the node as one Ready; under load,
proposals first gather for up to GATHER_MAX so that one WAL write and one
fsync serve many of them (group commit). A fast fsync runs on the event loop
unless requests are still arriving; a slow one runs on the WAL thread while
the previous Ready's committed entries are applied. Each Ready's committed
entries are applied in one backend transaction, committed before any proposer
is answered: an acknowledged write is durable (fsync'd) and applied.

Threading: all state (store, node, waiters) is touched only from the event
loop thread; the WAL thread runs only `WAL.save`, never concurrently with a
save on the loop.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import dataclasses
import hashlib
import heapq
import itertools
import os
import random
import socket
import struct
import sys
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, BinaryIO, TypeVar
from urllib.parse import urlsplit

import grpc

from etcdpy.api import errors
from etcdpy.api.pb.etcdserverpb import raft_internal_pb2, rpc_pb2, rpc_pb2_grpc
from etcdpy.auth import passwords
from etcdpy.auth.info import CALLER, AuthInfo
from etcdpy.auth.store import ROOT_USER, AuthStore
from etcdpy.auth.tokens import InvalidAuthOptions, new_provider
from etcdpy.lease.checkpoints import run_checkpoints
from etcdpy.lease.expiry import run_expiry
from etcdpy.lease.ids import next_lease_id
from etcdpy.lease.lessor import Lessor, NotPrimary, min_lease_ttl
from etcdpy.mvcc.kvstore import KVStore
from etcdpy.mvcc.watchable_store import WatchableStore
from etcdpy.pkg import timeouts, zaplog
from etcdpy.pkg.idutil import IDGenerator
from etcdpy.raft.errors import ProposalDroppedError
from etcdpy.raft.raftpb import (
    ConfChange,
    ConfChangeType,
    Entry,
    EntryType,
    HardState,
    Message,
    MessageType,
    Snapshot,
    SnapshotMeta,
    SoftState,
    StateType,
)
from etcdpy.raft.rawnode import Peer
from etcdpy.raft.storage import MemoryStorage
from etcdpy.server import quota, txn
from etcdpy.server.alarms import AlarmStore
from etcdpy.server.apply import Applier
from etcdpy.server.apply_auth import check_txn
from etcdpy.server.config import ServerConfig
from etcdpy.server.fsync_speed import FsyncSpeed
from etcdpy.server.lease_forward import LeaderLeases
from etcdpy.server.membership import Cluster, Member, MemberStore, member_id, validate_urls
from etcdpy.server.metrics import ServerMetrics
from etcdpy.server.peer_handler import PeerHandler
from etcdpy.server.raft_node import MAX_SIZE_PER_MSG, RaftNode
from etcdpy.server.read_index import LinearizableReads
from etcdpy.server.transport import Transport, TransportConfig, fetch_cluster
from etcdpy.storage.backend import Backend
from etcdpy.storage.wal import WAL
from etcdpy.version import CLUSTER_VERSION, SERVER_VERSION

InternalRaftRequest = raft_internal_pb2.InternalRaftRequest
log = zaplog.get("etcdserver")
T = TypeVar("T")

# How long a proposer waits for its entry to be applied before giving up.
REQUEST_TIMEOUT = 7.0
# Committed entries not yet applied beyond which proposals are refused (etcd's
# maxGapBetweenApplyAndCommitIndex): a member that cannot keep up sheds load instead of queueing it.
MAX_APPLY_BACKLOG = 5000
SNAPSHOT_CHUNK_BYTES = 256 * 1024
# How long a joining member waits for a peer to describe the cluster.
JOIN_TIMEOUT = 5.0
# While the WAL's fsync is fast (`FsyncSpeed`) proposals are gathered into batches (see `_gather`),
# and a batch's save runs on the event loop thread unless more proposals are coming.
# Every this many saves one runs on the event loop thread even if slow: the fsync is timed there.
SYNC_PROBE_EVERY = 64
# Gathering proposals into batches, see `_gather` (libuv timers count whole milliseconds).
GATHER_STEP = 0.001
GATHER_MAX = 0.003
GATHER_PROBE_EVERY = 16
# After a batch of one, the driver lets the loop turn up to this many times before handing over a
# lone proposal: under load another request reaches `propose` within a few turns (grpc.aio needs
# several per call), and only a batch of two or more starts gathering. Without the peek a loaded
# member fell into batches of one, each with its own fsync (measured: 3/4 of the batches at 1000
# clients, and a quarter fewer puts per second). A lone client pays a few microseconds.
PEEK_TURNS = 8
_WAL_META = struct.Struct(">QQ")  # member ID, cluster ID


def wal_metadata(member_id: int, cluster_id: int) -> bytes:
    """The WAL's metadata record: which member of which cluster wrote it."""
    return _WAL_META.pack(member_id, cluster_id)


def parse_wal_metadata(meta: bytes) -> tuple[int, int]:
    member_id, cluster_id = _WAL_META.unpack(meta)
    return int(member_id), int(cluster_id)


class ServerStartError(RuntimeError):
    """The member cannot start with this data directory and configuration."""


class EtcdServer:
    def __init__(self, cfg: ServerConfig) -> None:
        self.cfg = cfg
        self.cluster = Cluster.bootstrap(cfg.initial_cluster, cfg.initial_cluster_token)
        try:
            self.member: Member = self.cluster.member_by_name(cfg.name)
        except KeyError:
            raise ServerStartError(f"member {cfg.name!r} is not in --initial-cluster") from None
        self.member.client_urls = list(cfg.advertise_client_urls)
        self.cluster_version = ""
        self._waiters: dict[int, asyncio.Future[Any]] = {}
        # (loop time at which a proposal times out, its ID), in proposal order: ticks expire them.
        self._deadlines: deque[tuple[float, int]] = deque()
        self._wake = asyncio.Event()
        self.transport: Transport | None = None
        self.leader_changes = 0
        self._lead = 0
        self._leader_moved = asyncio.Event()
        self._leader_elected_at = 0.0  # loop time a leader was last elected
        # Set when the cluster removed this member: it stops serving (etcd exits).
        self.removed = asyncio.Event()
        # Set when a vital task failed; `failure` says which and how.
        self.failed = asyncio.Event()
        self.failure = ""
        self._received: dict[int, Path] = {}  # snapshot index -> the leader's database, received
        self.reads = LinearizableReads(self._request_read_index, self.wait_applied, REQUEST_TIMEOUT)
        # Proposed but not yet handed to the node; the driver hands them over a batch at a time.
        self._proposals: list[tuple[int, bytes]] = []  # (request ID, entry data)
        self._wake_at = 1  # how many proposals must wait before the driver is woken
        self._gatherings = 0
        self._gather_target: int | None = None  # see `_gather`
        # Whether recent WAL fsyncs were short: those are not worth a thread hop.
        self._fsync_speed = FsyncSpeed()
        self._saves = 0
        self._stopping = False
        self._wal_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wal")
        self._tasks: list[asyncio.Task[None]] = []
        self.applied_index = 0
        self._applied_waiters: list[tuple[int, int, asyncio.Future[None]]] = []  # heap: (index, seq, future)
        self._applied_seq = itertools.count()
        self.failed_proposals = 0
        self._since_snapshot = 0
        self.metrics = ServerMetrics()
        self._open_storage()
        # After _open_storage: a joining member learns its ID there. Requests and leases share it.
        self._ids = IDGenerator(self.member.id, int(time.time() * 1000))
        self.metrics.attach(self)

    # ---- start-up -------------------------------------------------------------

    def _open_storage(self) -> None:
        cfg = self.cfg
        os.makedirs(os.path.dirname(cfg.backend_path), exist_ok=True)
        self.backend = Backend(cfg.backend_path)
        self.kv = KVStore(self.backend)
        self.watchable = WatchableStore(self.kv)
        self.lessor = Lessor(self.kv, min_ttl=min_lease_ttl(cfg.election_ms, cfg.heartbeat_ms),
                             retry_interval=REQUEST_TIMEOUT)
        self._leader_leases = LeaderLeases(self._leader_client_url, REQUEST_TIMEOUT)
        # Fire-and-forget proposals (a renewal's checkpoint reset), kept referenced until done.
        self._background: set[asyncio.Task[None]] = set()
        self.alarms = AlarmStore(self.backend)
        try:
            tokens = new_provider(cfg.auth_token, cfg.auth_token_ttl)
        except InvalidAuthOptions as e:
            raise ServerStartError(f"failed to create token provider: {e}") from None
        self.auth = AuthStore(self.backend, tokens, cfg.bcrypt_cost)
        self.applier = Applier(self.kv, self._on_cluster_event, self.lessor, self.alarms, self.auth)
        self.member_store = MemberStore(self.backend)
        fresh = not WAL.exists(cfg.wal_path)
        election_ticks = max(cfg.election_ms // cfg.heartbeat_ms, 2)
        rand = random.Random()
        if fresh and cfg.initial_cluster_state == "existing":
            self._join_existing()
            self.wal = WAL.create(cfg.wal_path, wal_metadata(self.member.id, self.cluster.id))
            self.wal.read_all()
            # Nothing to bootstrap: the leader sends the log (or a snapshot) from the start.
            self.node = RaftNode(self.member.id, MemoryStorage(), 0, election_ticks=election_ticks, rand=rand)
        elif fresh:
            self.wal = WAL.create(cfg.wal_path, wal_metadata(self.member.id, self.cluster.id))
            self.wal.read_all()
            # As etcd's bootstrap: entries 1..n add the initial members, in term 1.
            initial = sorted(self.cluster.members.values(), key=lambda m: m.id)
            peers = [Peer(m.id, m.to_json()) for m in initial]
            self.node = RaftNode.bootstrap(self.member.id, peers, election_ticks=election_ticks, rand=rand)
        else:
            # Open at the newest snapshot marker the backend holds durably: the WAL below it may be gone.
            durable = self.kv.consistent_index
            snaps = [s for s in WAL.valid_snapshots(cfg.wal_path) if s.index <= durable]
            self.wal = WAL.open(cfg.wal_path, snaps[-1] if snaps else SnapshotMeta())
            meta, hard_state, entries = self.wal.read_all()
            member_id, cluster_id = parse_wal_metadata(meta)
            if member_id != self.member.id or cluster_id != self.cluster.id:
                raise ServerStartError(
                    f"data dir {cfg.data_dir} belongs to member {member_id:x} of cluster {cluster_id:x}, "
                    f"not to {self.member.id:x} of {self.cluster.id:x}"
                )
            # Membership as of the consistent index, which is where applying resumes.
            members, removed = self.member_store.load()
            if members:
                self.cluster = Cluster(cluster_id, members, removed)
                self.member = self.cluster.members[member_id]
                self.member.client_urls = list(cfg.advertise_client_urls)
            self.node = RaftNode.restart(self.member.id, snaps[-1] if snaps else SnapshotMeta(), hard_state,
                                         entries, election_ticks=election_ticks, rand=rand)
        last_index = self.wal.last_index
        applied = self.kv.consistent_index
        # Raft hands out again what follows its snapshot; those entries count as applied once seen.
        self.applied_index = self.node.storage.snapshot().metadata.index
        log.info("starting local member", **{"local-member-id": f"{self.member.id:x}",
                                             "cluster-id": f"{self.cluster.id:x}",
                                             "fresh": fresh, "last-index": last_index,
                                             "applied-index": applied})

    def _join_existing(self) -> None:
        """--initial-cluster-state existing: learn the cluster from the other members' peer URLs; this
        member must have been added to it (MemberAdd) with its peer URLs."""
        others = [u for name, urls in self.cfg.initial_cluster.items() if name != self.cfg.name for u in urls]
        try:
            remote = fetch_cluster(others, timeout=JOIN_TIMEOUT, tls=self.cfg.peer_tls)
        except (OSError, ValueError) as e:
            raise ServerStartError(f"cannot fetch cluster info from peer urls: {e}") from None
        mine = set(self.member.peer_urls)
        me = next((m for m in remote.members if set(m.peer_urls) == mine), None)
        if me is None:
            raise ServerStartError(
                f"this member's peer URLs {sorted(mine)} are not in the cluster {remote.cluster_id:x}; "
                "add it first with `etcdctl member add`")
        self.cluster = Cluster(remote.cluster_id, {m.id: m for m in remote.members})
        self.member = self.cluster.members[me.id]
        self.member.name = self.cfg.name
        self.member.client_urls = list(self.cfg.advertise_client_urls)

    async def start(self, peer_sockets: Sequence[socket.socket] = ()) -> None:
        """Serve the peer port on `peer_sockets` (bound by the caller), start consensus, and return
        once this member has published itself to the cluster through raft."""
        self.transport = Transport(
            self.member.id, self.cluster.id, PeerHandler(self), Path(self.cfg.member_dir) / "snap",
            TransportConfig.for_limits(self.cfg.max_request_bytes, MAX_SIZE_PER_MSG, self.cfg.peer_tls),
        )
        for m in self.cluster.members.values():
            if m.id != self.member.id:
                self.transport.add_peer(m.id, m.peer_urls)
        self.transport.start(peer_sockets)
        self._spawn_vital(self._run(), "raft-loop")
        self._spawn_vital(self._tick(), "raft-ticker")
        self._spawn_vital(self.reads.run(), "read-index")
        self._spawn_vital(run_expiry(self.lessor, self._revoke_expired), "lessor")
        if self.cfg.lease_checkpoint:
            interval = self.cfg.lease_checkpoint_interval
            self._spawn_vital(run_checkpoints(self.lessor, self._checkpoint_leases, interval),
                              "lease-checkpoints")
        self.watchable.start()
        self._wake.set()
        # Raft refuses to campaign while committed conf changes are unapplied, and the configuration
        # is known only once they are.
        await self.wait_applied(self.node.committed)
        if self.node.is_single_voter:
            self.node.campaign()  # nobody to wait for: etcd, too, fast-forwards a lone member's election
            self._wake.set()
        attrs = InternalRaftRequest(cluster_member_attr_set=raft_internal_pb2.ClusterMemberAttrSetRequest(
            member_ID=self.member.id,
            member_attributes=raft_internal_pb2.MemberAttributes(
                name=self.member.name, client_urls=self.member.client_urls),
        ))
        while True:  # until a leader commits it: the other members may still be starting
            try:
                await self.propose(attrs)
                break
            except errors.EtcdError as e:
                if self._stopping:
                    raise
                log.warning("failed to publish local member to cluster through raft", error=str(e))
        log.info("published local member to cluster through raft", **{
            "local-member-id": f"{self.member.id:x}", "cluster-id": f"{self.cluster.id:x}"})

    def _spawn_vital(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        """Run a task the member cannot work without: if it fails, `failed` is set (the member
        then shuts down rather than go on half alive)."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self._tasks.append(task)
        task.add_done_callback(self._vital_done)

    def _vital_done(self, task: asyncio.Task[None]) -> None:
        if task.cancelled() or self.failed.is_set():
            return
        error = task.exception()
        if error is not None:
            log.error("member task failed", task=task.get_name(), error=repr(error))
            self.failure = f"{task.get_name()}: {error!r}"
            self.failed.set()

    async def _tick(self) -> None:
        """One raft tick per --heartbeat-interval."""
        interval = self.cfg.heartbeat_ms / 1000
        loop = asyncio.get_running_loop()
        while True:
            await asyncio.sleep(interval)
            self.node.tick()
            self._wake.set()
            self._expire_overdue(loop.time())

    def _on_soft_state(self, soft: SoftState) -> None:
        """Leadership moved: only the leader's lessor expires leases, and only a leader decides the
        cluster version (as etcd)."""
        if soft.lead != self._lead:
            if soft.lead:
                self.leader_changes += 1
                log.info("raft leader elected", **{"local-member-id": f"{self.member.id:x}",
                                                   "leader-id": f"{soft.lead:x}", "term": self.node.term})
            else:
                log.info("raft lost leader", **{"local-member-id": f"{self.member.id:x}",
                                                "term": self.node.term})
            self._lead = soft.lead
            self._leader_moved.set()
            if soft.lead:
                self._leader_elected_at = asyncio.get_running_loop().time()
        if soft.raft_state == StateType.LEADER:
            if not self.lessor.primary:
                self.lessor.promote(self.cfg.election_ms / 1000)
            if not self.cluster_version:
                task = asyncio.get_running_loop().create_task(self._decide_cluster_version())
                self._tasks.append(task)
        elif self.lessor.primary:
            self.lessor.demote()

    async def _decide_cluster_version(self) -> None:
        with contextlib.suppress(errors.EtcdError):
            await self.propose(InternalRaftRequest(
                cluster_version_set=raft_internal_pb2.ClusterVersionSetRequest(ver=CLUSTER_VERSION)))

    # ---- the peer side ----------------------------------------------------------

    def step(self, msg: Message) -> None:
        """A message from a peer."""
        try:
            self.node.node.step(msg)
        except ValueError as e:  # a response from a member raft does not know (any more)
            log.debug("ignored raft message", error=str(e))
            return
        self._wake.set()

    def _request_read_index(self, ctx: bytes) -> None:
        self.node.node.read_index(ctx)
        self._wake.set()

    def wake(self) -> None:
        self._wake.set()

    def receive_snapshot(self, msg: Message, path: Path) -> None:
        """The leader's database for MsgSnap `msg` is durable at `path`; raft decides whether to use it
        (it comes back in a Ready's snapshot, installed by `_install_snapshot`)."""
        if msg.snapshot is None:
            path.unlink(missing_ok=True)
            return
        for old in self._received.values():
            if old != path:
                old.unlink(missing_ok=True)
        self._received = {msg.snapshot.metadata.index: path}
        self.step(msg)

    def _install_snapshot(self, snap: Snapshot) -> None:
        """Replace this member's state with the leader's database that came with `snap`."""
        meta = snap.metadata
        path = self._received.pop(meta.index, None)
        if path is None:
            raise RuntimeError(f"raft installs snapshot {meta.index}, whose database was never received")
        started = time.monotonic()
        self.wal.save_snapshot(meta)
        old_rev = self.kv.rev
        self.backend.replace(str(path))
        self.kv.reload()
        self.lessor.reload()
        self.alarms.reload()
        self.auth.reload()
        self.watchable.reloaded(old_rev)
        members, removed = self.member_store.load()
        self.cluster.members, self.cluster.removed = members, removed
        if self.member.id in members:
            self.member = members[self.member.id]
        if self.transport is not None:
            for m in members.values():
                if m.id != self.member.id and self.transport.stats(m.id) is None:
                    self.transport.add_peer(m.id, m.peer_urls)
        self.applied_index = meta.index
        self._since_snapshot = 0
        took = f"{time.monotonic() - started:.3f}s"
        log.info("applied snapshot", **{"snapshot-index": meta.index,
                                        "consistent-index": self.kv.consistent_index, "took": took})
        self._notify_applied()

    def _open_backend_snapshot(self) -> BinaryIO:
        return self.backend.copy()

    def removed_from_cluster(self) -> None:
        if not self.removed.is_set():
            log.warning("the member has been permanently removed from the cluster")
            self.removed.set()

    def _send(self, messages: Sequence[Message]) -> None:
        transport = self.transport
        if transport is None or not messages:
            return
        snaps = [m for m in messages if m.type == MessageType.MsgSnap]
        if snaps:
            messages = [m for m in messages if m.type != MessageType.MsgSnap]
            # As etcd: the snapshot sent is the state applied now (the database copied at send time
            # holds at least that), with the membership as of now, not raft's older stored one.
            applied = self.applied_index
            meta = SnapshotMeta(applied, self.node.storage.term(applied), self.node.conf_state())
            for m in snaps:
                transport.send_snapshot(dataclasses.replace(m, snapshot=Snapshot(metadata=meta)),
                                        self._open_backend_snapshot)
        transport.send(messages)


    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        self.lessor.demote()
        for task in self._background:
            task.cancel()
        await self._leader_leases.close()
        await self.watchable.stop()
        if self.transport is not None:
            await self.transport.stop()
        for t in self._tasks:
            t.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await t
        for fut in self._waiters.values():
            if not fut.done():
                fut.set_exception(errors.STOPPED)
        self._waiters.clear()
        self._wal_thread.shutdown(wait=True)
        self.backend.sync()
        self.wal.close()
        self.backend.close()

    # ---- the driver loop ----------------------------------------------------

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        node = self.node
        sync = not self.cfg.unsafe_no_fsync
        last_batch = 0
        while not self._stopping:
            # A slow fsync runs on the WAL thread and proposals gather meanwhile. A fast one does not
            # leave them time to: answer the last batch first, then let the next one gather.
            fast = self._fsync_speed.fast
            on_thread = not fast
            if self._proposals and not (fast and node.has_ready()):
                if fast and last_batch <= 1:
                    for _ in range(PEEK_TURNS):
                        if len(self._proposals) > 1:
                            break
                        await asyncio.sleep(0)
                if fast and (last_batch > 1 or len(self._proposals) > 1):
                    # While more keep coming the loop is needed to take them in, not to wait for a sync.
                    on_thread = await self._gather(max(last_batch, len(self._proposals)))
                last_batch = len(self._proposals)
                self._hand_over_proposals()
            if not node.has_ready():
                self._wake.clear()
                await self._wake.wait()
                continue
            rd = node.ready()
            if rd.snapshot is not None:
                self._install_snapshot(rd.snapshot)
            if rd.soft_state is not None:
                self._on_soft_state(rd.soft_state)
            for rs in rd.read_states:
                self.reads.answered(rs.request_ctx, rs.index)
            # A leader may send before its own write is durable (etcd's raft allows it); others not.
            leading = node.is_leader
            if leading:
                self._send(rd.messages)
            saving = None
            took = 0.0
            must_sync = sync and rd.must_sync
            if rd.entries or rd.hard_state is not None:
                self._saves += 1
                if on_thread and self._saves % SYNC_PROBE_EVERY:
                    saving = loop.run_in_executor(
                        self._wal_thread, self._save, rd.hard_state, rd.entries, must_sync
                    )
                else:
                    took = self._save(rd.hard_state, rd.entries, must_sync)
            committed = rd.committed_entries
            if saving is not None:
                # Entries committed before this Ready are durable: apply them while the new ones are
                # written. Entries of this Ready (a leader commits its own at once) wait for the write.
                first_new = rd.entries[0].index if rd.entries else sys.maxsize
                durable = sum(1 for e in committed if e.index < first_new)
                self._apply_entries(committed[:durable])
                committed = committed[durable:]
                await saving
            elif must_sync:
                self._fsync_speed.observe(took)
            node.persisted(rd)
            if not leading:
                self._send(rd.messages)
            self._apply_entries(committed)
            node.advance(rd)
            self._maybe_release_wal()

    def _hand_over_proposals(self) -> None:
        """Give the node what was proposed since its last turn. What raft drops for want of a leader
        waits for one, unless its proposer has given up meanwhile."""
        waiters = self._waiters
        live = [p for p in self._proposals if p[0] in waiters]
        # One message per MAX_SIZE_PER_MSG bytes: a follower forwards it to the leader whole.
        start = size = 0
        for i, (_, data) in enumerate(live):
            size += len(data)
            if size >= MAX_SIZE_PER_MSG or i == len(live) - 1:
                if not self.node.propose([d for _, d in live[start : i + 1]]):
                    break
                start, size = i + 1, 0
        self._proposals[:] = live[start:]

    async def _gather(self, last_batch: int) -> bool:
        """Let proposals gather so that one WAL write and fsync serves many of them; returns whether
        they were still coming when it stopped.

        Gathering ends after GATHER_MAX, after a GATHER_STEP that brought no proposal, or once
        `_gather_target` proposals wait. The target is how many waited when a step last brought no
        more (unless that was a lull: fewer than half the last batch): with a fixed set of clients
        that each wait for their answer, it is how many will come, and waiting for more would only
        add latency. Proposals that keep coming for GATHER_MAX clear the target, and every
        GATHER_PROBE_EVERY-th gathering ignores it, to notice when more clients come.
        """
        loop = asyncio.get_running_loop()
        proposals = self._proposals
        deadline = loop.time() + GATHER_MAX
        self._gatherings += 1
        target = self._gather_target if self._gatherings % GATHER_PROBE_EVERY else None
        self._wake_at = target or sys.maxsize
        try:
            while target is None or len(proposals) < target:
                if loop.time() >= deadline:
                    self._gather_target = None
                    return True
                before = len(proposals)
                self._wake.clear()
                timer = loop.call_later(GATHER_STEP, self._wake.set)
                await self._wake.wait()
                timer.cancel()
                if len(proposals) == before:
                    if 2 * before >= last_batch:
                        self._gather_target = before
                    return False
            return False
        finally:
            self._wake_at = 1

    def _save(self, hard_state: HardState | None, entries: tuple[Entry, ...], sync: bool) -> float:
        """Persist one Ready's entries with one fsync; returns the seconds that took."""
        started = time.perf_counter()
        self.wal.save(hard_state, entries, sync=sync)
        took = time.perf_counter() - started
        if sync:
            self.metrics.wal_fsync.observe(took)
        return took

    @property
    def pending_proposals(self) -> int:
        return len(self._waiters)

    def _apply_entries(self, entries: Sequence[Entry]) -> None:
        """Apply committed entries in one backend batch, then answer their proposers.

        Proposers learn their results only after the batch is committed, so a read they make
        next finds their write in the backend.
        """
        if not entries:
            return
        results: list[tuple[int, Any]] = []
        warn_after = self.cfg.warning_apply_duration
        replayed = self.kv.consistent_index  # entries up to here are in the backend already (a restart)
        with self.backend.batch():
            for entry in entries:
                if entry.index <= replayed:
                    if entry.type == EntryType.CONF_CHANGE:
                        self.node.apply_conf_change(ConfChange.decode(entry.data))
                elif entry.type == EntryType.CONF_CHANGE:
                    results.append(self._apply_conf_change(entry.index, ConfChange.decode(entry.data)))
                elif entry.type == EntryType.NORMAL and entry.data:
                    req = InternalRaftRequest.FromString(entry.data)
                    started = time.monotonic()
                    results.append((req.header.ID, self.applier.apply(entry.index, req)))
                    took = time.monotonic() - started
                    if took > warn_after:
                        log.warning("apply request took too long", took=f"{took * 1000:.3f}ms",
                                    **{"expected-duration": f"{warn_after * 1000:.0f}ms"})
                self.applied_index = entry.index
                self._since_snapshot += 1
        self._notify_applied()
        waiters = self._waiters
        for rid, result in results:
            fut = waiters.pop(rid, None)
            if fut is not None and not fut.done():
                if isinstance(result, errors.EtcdError):
                    fut.set_exception(result)
                else:
                    fut.set_result(result)

    def _notify_applied(self) -> None:
        applied = self.applied_index
        queue = self._applied_waiters
        while queue and queue[0][0] <= applied:
            reached = heapq.heappop(queue)[2]
            if not reached.done():
                reached.set_result(None)

    def wait_applied(self, index: int) -> asyncio.Future[None]:
        """Resolves once every entry up to `index` is applied."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if index <= self.applied_index:
            fut.set_result(None)
        else:
            heapq.heappush(self._applied_waiters, (index, next(self._applied_seq), fut))
        return fut

    def _maybe_release_wal(self) -> None:
        """After --snapshot-count applied entries, let the WAL drop what the backend holds durably."""
        if self._since_snapshot < self.cfg.snapshot_count:
            return
        self._since_snapshot = 0
        index = self.kv.consistent_index
        if index <= 0:
            return
        self.backend.sync()
        self.wal.save_snapshot(SnapshotMeta(index, self.node.storage.term(index), self.node.conf_state()))
        if self.cfg.max_wals > 0:
            self.wal.release_lock_to(index, retain=self.cfg.max_wals)
        self.node.compact(index, self.cfg.snapshot_catchup_entries)

    def _on_cluster_event(self, req: InternalRaftRequest) -> None:
        if req.HasField("cluster_version_set"):
            self.cluster_version = req.cluster_version_set.ver
        elif req.HasField("cluster_member_attr_set"):
            attr = req.cluster_member_attr_set
            m = self.cluster.members.get(attr.member_ID)
            if m is not None:
                m.name = attr.member_attributes.name
                m.client_urls = list(attr.member_attributes.client_urls)
                with self.backend.write() as txn:
                    MemberStore.save(txn, m)

    def _apply_conf_change(self, index: int, cc: ConfChange) -> tuple[int, Any]:
        """Apply a membership change, checked again against the membership it now meets; a change
        that no longer holds reaches raft as a no-op (node 0), as in etcd. Returns the proposer's ID
        and its result: the members afterwards, or the error."""
        cluster = self.cluster
        try:
            if cc.type in (ConfChangeType.ADD_NODE, ConfChangeType.ADD_LEARNER_NODE):
                member = Member.from_json(cc.context)
                existing = cluster.members.get(member.id)
                if existing is None or existing.is_learner != member.is_learner:
                    cluster.check_add(member)
                    member = cluster.add(member)
                else:
                    member = existing  # bootstrap entries re-add the members the flags named
                with self.backend.write() as txn:
                    MemberStore.save(txn, member)
            elif cc.type == ConfChangeType.REMOVE_NODE:
                cluster.check_remove(cc.node_id)
                cluster.remove(cc.node_id)
                with self.backend.write() as txn:
                    MemberStore.delete(txn, cc.node_id)
            elif cc.type == ConfChangeType.UPDATE_NODE:
                member = Member.from_json(cc.context)
                cluster.check_update(member.id, member.peer_urls)
                cluster.update_peer_urls(member.id, member.peer_urls)
                with self.backend.write() as txn:
                    MemberStore.save(txn, cluster.members[member.id])
        except errors.EtcdError as e:
            self.node.apply_conf_change(ConfChange(cc.type, 0))
            return cc.id, e
        self.node.apply_conf_change(cc)
        self.kv.save_consistent_index(index)
        self._follow_membership(cc)
        return cc.id, self.members()

    def _follow_membership(self, cc: ConfChange) -> None:
        """Point the transport at the peers the applied change left; stop if it removed this member."""
        transport = self.transport
        mid = cc.node_id
        if mid == self.member.id:
            if cc.type == ConfChangeType.REMOVE_NODE:
                self.removed_from_cluster()
            return
        if transport is None:
            return
        member = self.cluster.members.get(mid)
        if cc.type == ConfChangeType.REMOVE_NODE:
            transport.remove_peer(mid)
        elif member is not None and cc.type == ConfChangeType.UPDATE_NODE:
            transport.update_peer(mid, member.peer_urls)
        elif member is not None and transport.stats(mid) is None:
            transport.add_peer(mid, member.peer_urls)

    # ---- requests -------------------------------------------------------------

    async def propose(self, req: InternalRaftRequest) -> Any:
        if self._stopping:
            raise errors.STOPPED
        if self.node.committed > self.applied_index + MAX_APPLY_BACKLOG:
            raise errors.TOO_MANY_REQUESTS
        rid = self._ids.next()
        info = await self.caller()
        if info is not None:  # checked when applied, against the auth store as of then
            req.header.username = info.username
            req.header.auth_revision = info.revision
        req.header.ID = rid  # where etcd 3.5 carries it, so --max-request-bytes counts the same bytes
        data = req.SerializeToString()
        if len(data) > self.cfg.max_request_bytes:
            raise errors.REQUEST_TOO_LARGE
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        self._waiters[rid] = fut
        proposals = self._proposals
        proposals.append((rid, data))
        if len(proposals) >= self._wake_at:
            self._wake.set()
        self._deadlines.append((loop.time() + REQUEST_TIMEOUT, rid))
        try:
            return await fut
        except asyncio.CancelledError:
            # The caller gave up: a proposal not handed to raft yet is dropped (as etcd's Propose
            # with a cancelled context); one already in the log is applied, unanswered.
            self._waiters.pop(rid, None)
            raise

    def _expire_overdue(self, now: float) -> None:
        """Fail the proposals still unanswered REQUEST_TIMEOUT after they were made. Called every
        tick: up to a tick late, but without a timer per request (~2 us of the serving thread)."""
        deadlines = self._deadlines
        while deadlines and deadlines[0][0] <= now:
            expiry, rid = deadlines.popleft()
            fut = self._waiters.pop(rid, None)
            if fut is not None and not fut.done():
                self.failed_proposals += 1
                fut.set_exception(self._timeout_error(expiry - REQUEST_TIMEOUT))

    def _timeout_error(self, started: float) -> errors.EtcdError:
        """Which of etcd's timeouts explains a request begun at `started` (loop time) that timed out."""
        elected = self._leader_elected_at
        if started < elected < started + 2 * self.cfg.election_ms / 1000:
            return errors.TIMEOUT_DUE_TO_LEADER_FAIL
        transport, lead = self.transport, self._lead
        if transport is None or lead == 0:
            return errors.TIMEOUT
        now = asyncio.get_running_loop().time()
        since = time.monotonic() - (now - started)  # `started` on the transport's clock

        def connected(mid: int) -> bool:
            active = transport.active_since(mid)
            return active is not None and active <= since

        if lead == self.member.id:
            voters = self.cluster.voters()
            linked = sum(1 for v in voters if v == lead or connected(v))
            if linked < len(voters) // 2 + 1:
                return errors.TIMEOUT_DUE_TO_CONNECTION_LOST
        elif not connected(lead):
            return errors.TIMEOUT_DUE_TO_CONNECTION_LOST
        return errors.TIMEOUT

    def header(self) -> rpc_pb2.ResponseHeader:
        return rpc_pb2.ResponseHeader(cluster_id=self.cluster.id, member_id=self.member.id,
                                      revision=self.kv.rev, raft_term=self.node.term)

    def _stamp(self, header: rpc_pb2.ResponseHeader) -> None:
        """Complete a response header. A revision set when the request was applied is kept: it is
        the revision that request made or read, not whatever the store reached since."""
        header.cluster_id = self.cluster.id
        header.member_id = self.member.id
        header.raft_term = self.node.term
        if not header.revision:
            header.revision = self.kv.rev

    async def linearizable(self) -> None:
        """Return once a local read reflects every write acknowledged before this call (ReadIndex).
        A lone voter that leads has applied every acknowledged write: nothing to wait for."""
        node = self.node
        if not (node.is_leader and node.is_single_voter):
            await self.reads.barrier()

    async def range(self, req: rpc_pb2.RangeRequest) -> rpc_pb2.RangeResponse:
        if not req.serializable:
            await self.linearizable()
        self.auth.check(await self.caller(), req.key, req.range_end, write=False)
        resp = txn.range(self.kv, req)
        self._stamp(resp.header)
        return resp

    async def _admit(self, cost: int) -> None:
        """Refuse a write that would take the backend past its quota, raising NOSPACE (as etcd)."""
        if quota.available(self.backend.size, self.cfg.quota_backend_bytes, cost):
            return
        nospace = rpc_pb2.AlarmRequest(memberID=self.member.id, alarm=rpc_pb2.NOSPACE,
                                       action=rpc_pb2.AlarmRequest.ACTIVATE)
        with contextlib.suppress(errors.EtcdError):
            await self.propose(InternalRaftRequest(alarm=nospace))
        raise errors.NO_SPACE

    async def put(self, req: rpc_pb2.PutRequest) -> rpc_pb2.PutResponse:
        await self._admit(quota.put_cost(req))
        resp: rpc_pb2.PutResponse = await self.propose(InternalRaftRequest(put=req))
        self._stamp(resp.header)
        return resp

    async def delete_range(self, req: rpc_pb2.DeleteRangeRequest) -> rpc_pb2.DeleteRangeResponse:
        resp: rpc_pb2.DeleteRangeResponse = await self.propose(InternalRaftRequest(delete_range=req))
        self._stamp(resp.header)
        return resp

    async def txn(self, req: rpc_pb2.TxnRequest) -> rpc_pb2.TxnResponse:
        if _is_read_only(req):
            await self.linearizable()
            check_txn(self.auth, await self.caller(), req)
            resp = txn.txn(self.kv, req, lease_exists=self.applier.lease_exists)
        else:
            await self._admit(quota.txn_cost(req))
            resp = await self.propose(InternalRaftRequest(txn=req))
        self._stamp(resp.header)
        return resp

    async def compact(self, req: rpc_pb2.CompactionRequest) -> rpc_pb2.CompactionResponse:
        resp: rpc_pb2.CompactionResponse = await self.propose(InternalRaftRequest(compaction=req))
        self._stamp(resp.header)
        return resp

    # ---- leases ---------------------------------------------------------------

    async def lease_grant(self, req: rpc_pb2.LeaseGrantRequest) -> rpc_pb2.LeaseGrantResponse:
        await self._admit(quota.LEASE_OVERHEAD)
        while req.ID == 0:
            req.ID = next_lease_id(self._ids)
        resp: rpc_pb2.LeaseGrantResponse = await self.propose(InternalRaftRequest(lease_grant=req))
        self._stamp(resp.header)
        return resp

    async def lease_revoke(self, req: rpc_pb2.LeaseRevokeRequest) -> rpc_pb2.LeaseRevokeResponse:
        resp: rpc_pb2.LeaseRevokeResponse = await self.propose(InternalRaftRequest(lease_revoke=req))
        self._stamp(resp.header)
        return resp

    async def _revoke_expired(self, lease_id: int) -> None:
        # As root, as etcd: the lease's keys may be any.
        token = CALLER.set(AuthInfo(ROOT_USER, self.auth.revision))
        try:
            await self.lease_revoke(rpc_pb2.LeaseRevokeRequest(ID=lease_id))
        finally:
            CALLER.reset(token)

    async def lease_renew(self, lease_id: int) -> int:
        """Keep-alive: renewed on the leader's lessor, not through the log (as etcd); a follower
        passes it on to the leader."""

        async def local() -> int:
            ttl = await self.lessor.renew(lease_id)
            lease = self.lessor.lookup(lease_id)
            if self.cfg.lease_checkpoint and lease is not None and lease.remaining_ttl > 0:
                # Renewed to its full TTL: a later leader must not start from the old checkpoint.
                clear = rpc_pb2.LeaseCheckpoint(ID=lease_id, remaining_TTL=0)
                task = asyncio.get_running_loop().create_task(
                    self._checkpoint_leases(rpc_pb2.LeaseCheckpointRequest(checkpoints=[clear])))
                self._background.add(task)
                task.add_done_callback(self._background.discard)
            return ttl

        return await self._on_leader_lessor(local, lambda: self._leader_leases.renew(lease_id))

    async def _checkpoint_leases(self, req: rpc_pb2.LeaseCheckpointRequest) -> None:
        with contextlib.suppress(errors.EtcdError):
            await self.propose(InternalRaftRequest(lease_checkpoint=req))

    async def lease_time_to_live(
        self, req: rpc_pb2.LeaseTimeToLiveRequest
    ) -> rpc_pb2.LeaseTimeToLiveResponse:
        """Only the leader knows the remaining time: a follower asks it."""

        async def local() -> rpc_pb2.LeaseTimeToLiveResponse:
            if not self.lessor.primary:
                raise NotPrimary
            resp = self.lessor.time_to_live(req.ID, req.keys)
            self._stamp(resp.header)
            return resp

        async def forwarded() -> rpc_pb2.LeaseTimeToLiveResponse:
            resp = await self._leader_leases.time_to_live(req)
            self._stamp(resp.header)
            return resp

        return await self._on_leader_lessor(local, forwarded)

    async def _on_leader_lessor(
        self, local: Callable[[], Awaitable[T]], forwarded: Callable[[], Awaitable[T]]
    ) -> T:
        """`local()` on the leader, else `forwarded()` to it; retried across leader changes until the
        request timeout, as etcd retries a forwarded keep-alive."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + REQUEST_TIMEOUT
        while True:
            if self._stopping:
                raise errors.STOPPED
            try:
                if self.lessor.primary:
                    return await local()
                return await forwarded()
            except NotPrimary:
                pass
            except errors.EtcdError as e:
                if e not in (errors.NOT_LEADER, errors.NO_LEADER):
                    raise
            left = deadline - loop.time()
            if left <= 0:
                raise errors.TIMEOUT
            # Retry once leadership moves, or after an election timeout (a dead leader not noticed yet).
            self._leader_moved.clear()
            with contextlib.suppress(TimeoutError):
                await timeouts.wait_for(self._leader_moved.wait(), min(left, self.cfg.election_ms / 1000))

    def _leader_client_url(self) -> str | None:
        leader = self.cluster.members.get(self._lead)
        if leader is None or leader.id == self.member.id or not leader.client_urls:
            return None
        return leader.client_urls[0]

    def lease_leases(self) -> rpc_pb2.LeaseLeasesResponse:
        return rpc_pb2.LeaseLeasesResponse(
            header=self.header(), leases=[rpc_pb2.LeaseStatus(ID=lease.id) for lease in self.lessor.leases()])

    def status(self) -> rpc_pb2.StatusResponse:
        return rpc_pb2.StatusResponse(
            header=self.header(), version=SERVER_VERSION, dbSize=self.backend.size,
            leader=self.node.leader, raftIndex=self.node.committed, raftTerm=self.node.term,
            raftAppliedIndex=self.applied_index, dbSizeInUse=self.backend.size_in_use,
            errors=[f"memberID:{a.memberID} alarm:{rpc_pb2.AlarmType.Name(a.alarm)} "
                    for a in self.alarms.active()],
        )

    # ---- auth ------------------------------------------------------------------

    async def caller(self) -> AuthInfo | None:
        """Who the request being served comes from (None: no one). A token this member does not
        know is refused; a simple token made at a raft index not applied here yet is waited for."""
        creds = CALLER.get()
        if creds is None or isinstance(creds, AuthInfo):
            return creds
        if creds.token is not None:
            index = self.auth.tokens.index_of(creds.token)
            if index > self.applied_index:
                with contextlib.suppress(TimeoutError):
                    await timeouts.wait_for(self.wait_applied(index), REQUEST_TIMEOUT)
            return self.auth.info_from_token(creds.token)
        if creds.common_name:
            return AuthInfo(creds.common_name, self.auth.revision)
        return None

    async def check_admin(self) -> None:
        """Refuse unless the caller has the root role (while auth is enabled)."""
        self.auth.check_admin(await self.caller())

    async def authenticate(self, req: rpc_pb2.AuthenticateRequest) -> rpc_pb2.AuthenticateResponse:
        """Check the password here, then propose the login so that every member knows the token.
        Retried if the auth store changed in between (the check may no longer hold)."""
        while True:
            hashed, checked_rev = self.auth.password_of(req.name)
            if not await asyncio.to_thread(passwords.check_password, req.password, hashed):
                raise errors.AUTH_FAILED
            internal = raft_internal_pb2.InternalAuthenticateRequest(
                name=req.name, simple_token=self.auth.tokens.new_prefix())
            resp: rpc_pb2.AuthenticateResponse = await self.propose(
                InternalRaftRequest(authenticate=internal))
            if checked_rev == self.auth.revision:
                self._stamp(resp.header)
                return resp

    async def auth_request(self, field: str, req: Any) -> Any:
        """Propose the auth request `req` as InternalRaftRequest field `field`; its response. Passwords
        are hashed here, so that members store the same hash and none spends time on bcrypt."""
        with_password = isinstance(req, rpc_pb2.AuthUserChangePasswordRequest) or (
            isinstance(req, rpc_pb2.AuthUserAddRequest) and not req.options.no_password)
        if with_password:
            hashed = await asyncio.to_thread(passwords.hash_password, req.password, self.auth.bcrypt_cost)
            req.hashedPassword = base64.b64encode(hashed).decode()
            req.password = ""
        internal = InternalRaftRequest()
        getattr(internal, field).CopyFrom(req)
        resp = await self.propose(internal)
        self._stamp(resp.header)
        return resp

    # ---- membership -------------------------------------------------------------

    async def member_add(self, peer_urls: list[str], is_learner: bool) -> rpc_pb2.Member:
        urls = validate_urls(peer_urls)
        member = Member(member_id(urls, str(int(time.time()))), "", urls, is_learner=is_learner)
        self.cluster.check_add(member)
        if not is_learner:
            self.cluster.check_quorum_after(self._started_voters(), adding=member.id)
        kind = ConfChangeType.ADD_LEARNER_NODE if is_learner else ConfChangeType.ADD_NODE
        await self._propose_conf_change(kind, member.id, member.to_json())
        return _member_pb(member)

    async def member_remove(self, mid: int) -> None:
        self.cluster.check_remove(mid)
        if not self.cluster.members[mid].is_learner:
            self.cluster.check_quorum_after(self._started_voters() - {mid}, removing=mid)
        await self._propose_conf_change(ConfChangeType.REMOVE_NODE, mid, b"")

    async def member_update(self, mid: int, peer_urls: list[str]) -> None:
        urls = validate_urls(peer_urls)
        self.cluster.check_update(mid, urls)
        m = self.cluster.members[mid]
        updated = Member(mid, m.name, urls, m.client_urls, m.is_learner)
        await self._propose_conf_change(ConfChangeType.UPDATE_NODE, mid, updated.to_json())

    async def member_promote(self, mid: int) -> None:
        self.cluster.check_promote(mid)
        if not self.node.is_leader:
            # Only the leader knows how far the learner got (etcd forwards it to the leader, too).
            await self._forward_promote(mid)
            return
        if not self.node.learner_ready(mid):
            raise errors.LEARNER_NOT_READY
        m = self.cluster.members[mid]
        promoted = Member(mid, m.name, m.peer_urls, m.client_urls, False)
        await self._propose_conf_change(ConfChangeType.ADD_NODE, mid, promoted.to_json())

    async def move_leader(self, target: int) -> None:
        """Hand leadership to `target` (raft's leader transfer) and wait until it leads."""
        if not self.node.is_leader:
            raise errors.NOT_LEADER
        member = self.cluster.members.get(target)
        if member is None or member.is_learner:
            raise errors.BAD_LEADER_TRANSFEREE
        if target == self.member.id:
            return
        self.node.node.transfer_leader(target)
        self._wake.set()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + REQUEST_TIMEOUT
        while self._lead != target:
            if loop.time() >= deadline:
                raise errors.TIMEOUT_LEADER_TRANSFER
            self._leader_moved.clear()
            with contextlib.suppress(TimeoutError):
                await timeouts.wait_for(self._leader_moved.wait(), deadline - loop.time())

    async def _forward_promote(self, mid: int) -> None:
        leader = self.cluster.members.get(self._lead)
        if leader is None or not leader.client_urls:
            raise errors.NO_LEADER
        target = urlsplit(leader.client_urls[0]).netloc
        async with grpc.aio.insecure_channel(target) as channel:
            try:
                await rpc_pb2_grpc.ClusterStub(channel).MemberPromote(
                    rpc_pb2.MemberPromoteRequest(ID=mid), timeout=REQUEST_TIMEOUT)
            except grpc.aio.AioRpcError as e:
                raise errors.BY_MESSAGE.get(e.details() or "", errors.TIMEOUT) from None

    def _started_voters(self) -> set[int]:
        """Voters that have published themselves, and, seen from a leader, whose stream is up."""
        started = {m.id for m in self.cluster.members.values() if m.started and not m.is_learner}
        transport = self.transport
        if self.node.is_leader and transport is not None:
            started = {m for m in started if m == self.member.id or transport.active_since(m) is not None}
        return started

    async def _propose_conf_change(self, kind: ConfChangeType, mid: int, context: bytes) -> Any:
        """Propose a membership change and wait for it to be applied here; its result, or its error."""
        if self._stopping:
            raise errors.STOPPED
        rid = self._ids.next()
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        self._waiters[rid] = fut
        self._deadlines.append((loop.time() + REQUEST_TIMEOUT, rid))
        try:
            cc = ConfChange(kind, mid, context, rid)
            while not fut.done():
                try:
                    self.node.node.propose_conf_change(cc)
                    self._wake.set()
                    break
                except ProposalDroppedError:
                    await asyncio.sleep(0.1)  # no leader yet: raft takes it once there is one
            return await fut
        finally:
            self._waiters.pop(rid, None)

    def members(self) -> list[rpc_pb2.Member]:
        return [_member_pb(self.cluster.members[mid]) for mid in sorted(self.cluster.members)]

    # ---- maintenance ---------------------------------------------------------

    async def alarm(self, req: rpc_pb2.AlarmRequest) -> rpc_pb2.AlarmResponse:
        resp: rpc_pb2.AlarmResponse = await self.propose(InternalRaftRequest(alarm=req))
        self._stamp(resp.header)
        return resp

    async def hash_kv(self, revision: int) -> rpc_pb2.HashKVResponse:
        h, compact_rev, _hash_rev = self.kv.hash_kv(revision)
        return rpc_pb2.HashKVResponse(header=self.header(), hash=h, compact_revision=compact_rev)

    async def hash(self) -> rpc_pb2.HashResponse:
        return rpc_pb2.HashResponse(header=self.header(), hash=self.backend.hash())

    async def defragment(self) -> None:
        """Rewrite the backend compactly. Like etcd's, it blocks this member while it runs."""
        started = time.monotonic()
        before = self.backend.size
        self.backend.defrag()
        log.info("finished defragmenting directory", path=self.cfg.backend_path,
                 **{"current-db-size-bytes-diff": self.backend.size - before,
                    "current-db-size-bytes": self.backend.size, "took": f"{time.monotonic() - started:.3f}s"})

    async def snapshot(self) -> AsyncIterator[rpc_pb2.SnapshotResponse]:
        """The backend file in chunks, then its SHA-256 (etcd's snapshot trailer)."""
        digest = hashlib.sha256()
        header = self.header()
        # The copy is taken in a thread: the backend keeps serving meanwhile.
        snap = await asyncio.to_thread(self.backend.snapshot, SNAPSHOT_CHUNK_BYTES)
        with snap:
            log.info("sending database snapshot to client", **{"total-bytes": snap.size,
                                                               "size": f"{snap.size}"})
            while True:
                chunk = await asyncio.to_thread(next, snap, b"")
                if not chunk:
                    break
                digest.update(chunk)
                yield rpc_pb2.SnapshotResponse(header=header, remaining_bytes=snap.remaining, blob=chunk)
        yield rpc_pb2.SnapshotResponse(header=header, remaining_bytes=0, blob=digest.digest())
        log.info("sent database snapshot to client", **{"total-bytes": snap.size})


def _member_pb(m: Member) -> rpc_pb2.Member:
    return rpc_pb2.Member(ID=m.id, name=m.name, peerURLs=m.peer_urls, clientURLs=m.client_urls,
                          isLearner=m.is_learner)


def _is_read_only(req: rpc_pb2.TxnRequest) -> bool:
    """A txn with no put or delete in any branch, at any depth, changes nothing: serve it locally."""
    for op in (*req.success, *req.failure):
        kind = op.WhichOneof("request")
        if kind in ("request_put", "request_delete_range"):
            return False
        if kind == "request_txn" and not _is_read_only(op.request_txn):
            return False
    return True
