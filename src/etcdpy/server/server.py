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
import contextlib
import hashlib
import heapq
import itertools
import os
import random
import struct
import sys
import time
from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from etcdpy.api import errors
from etcdpy.api.pb.etcdserverpb import raft_internal_pb2, rpc_pb2
from etcdpy.lease.expiry import run_expiry
from etcdpy.lease.ids import LeaseIDGenerator
from etcdpy.lease.lessor import Lessor, NotPrimary, min_lease_ttl
from etcdpy.mvcc.kvstore import KVStore
from etcdpy.mvcc.watchable_store import WatchableStore
from etcdpy.pkg import zaplog
from etcdpy.raft.raftpb import (
    ConfChange,
    ConfChangeType,
    Entry,
    EntryType,
    HardState,
    SnapshotMeta,
)
from etcdpy.raft.rawnode import Peer
from etcdpy.server import txn
from etcdpy.server.alarms import AlarmStore
from etcdpy.server.apply import Applier
from etcdpy.server.config import ServerConfig
from etcdpy.server.membership import Cluster, Member, MemberStore
from etcdpy.server.metrics import ServerMetrics
from etcdpy.server.raft_node import RaftNode
from etcdpy.storage.backend import Backend
from etcdpy.storage.wal import WAL
from etcdpy.version import CLUSTER_VERSION, SERVER_VERSION

InternalRaftRequest = raft_internal_pb2.InternalRaftRequest
log = zaplog.get("etcdserver")

# How long a proposer waits for its entry to be applied before giving up.
REQUEST_TIMEOUT = 7.0
SNAPSHOT_CHUNK_BYTES = 256 * 1024
# A WAL fsync shorter than this (moving average) is fast: proposals are gathered into batches (see
# `_gather`), and a batch's save runs on the event loop thread unless more proposals are coming, as
# a hand-off to the WAL thread, with the GIL hand-offs it brings, costs more than such a wait.
INLINE_SYNC_MAX = 0.001
# Every this many saves one runs on the event loop thread even if slow: the fsync is timed there.
SYNC_PROBE_EVERY = 64
# Gathering proposals into batches, see `_gather` (libuv timers count whole milliseconds).
GATHER_STEP = 0.001
GATHER_MAX = 0.003
GATHER_PROBE_EVERY = 16
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
        if len(self.cluster.members) > 1:
            raise ServerStartError("multi-member clusters are not supported yet; start a single member")
        self.member.client_urls = list(cfg.advertise_client_urls)
        self._lease_ids = LeaseIDGenerator(self.member.id, int(time.time() * 1000))
        self.cluster_version = ""
        self._waiters: dict[int, asyncio.Future[Any]] = {}
        self._ids = itertools.count((int(time.time() * 1000) & 0xFFFFFFFFFF) << 16)
        self._wake = asyncio.Event()
        # Proposed but not yet handed to the node; the driver hands them over a batch at a time.
        self._proposals: list[tuple[int, bytes]] = []  # (request ID, entry data)
        self._wake_at = 1  # how many proposals must wait before the driver is woken
        self._gatherings = 0
        self._gather_target: int | None = None  # see `_gather`
        # Recent duration of a WAL fsync (moving average): short ones are not worth a thread hop.
        self._sync_seconds = 0.0
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
        self.alarms = AlarmStore(self.backend)
        self.applier = Applier(self.kv, self._on_cluster_event, self.lessor, self.alarms)
        self.member_store = MemberStore(self.backend)
        fresh = not WAL.exists(cfg.wal_path)
        election_ticks = max(cfg.election_ms // cfg.heartbeat_ms, 2)
        rand = random.Random()
        if fresh:
            if cfg.initial_cluster_state == "existing":
                raise ServerStartError("joining an existing cluster is not supported yet")
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

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        self._tasks.append(loop.create_task(self._run(), name="raft-loop"))
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
        await self.propose(attrs)
        # Everything before this term is applied now: this member's lessor is the primary.
        self.lessor.promote(self.cfg.election_ms / 1000)
        self._tasks.append(loop.create_task(run_expiry(self.lessor, self._revoke_expired), name="lessor"))
        if not self.cluster_version:
            await self.propose(InternalRaftRequest(
                cluster_version_set=raft_internal_pb2.ClusterVersionSetRequest(ver=CLUSTER_VERSION)))
        log.info("published local member to cluster through raft", **{
            "local-member-id": f"{self.member.id:x}", "cluster-id": f"{self.cluster.id:x}"})

    async def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        self.lessor.demote()
        await self.watchable.stop()
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
            fast = self._sync_seconds < INLINE_SYNC_MAX
            on_thread = not fast
            if self._proposals and not (fast and node.has_ready()):
                if fast and last_batch > 1:
                    # While more keep coming the loop is needed to take them in, not to wait for a sync.
                    on_thread = await self._gather(last_batch)
                last_batch = len(self._proposals)
                self._hand_over_proposals()
            if not node.has_ready():
                self._wake.clear()
                await self._wake.wait()
                continue
            rd = node.ready()
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
                # Timed only on this thread: on the WAL thread, waits for the GIL would count too.
                self._sync_seconds += (took - self._sync_seconds) / 8
            node.persisted(rd)
            self._apply_entries(committed)
            node.advance(rd)
            self._maybe_release_wal()

    def _hand_over_proposals(self) -> None:
        """Give the node what was proposed since its last turn. What raft drops for want of a leader
        waits for one, unless its proposer has given up meanwhile."""
        kept = []
        waiters = self._waiters
        node = self.node
        for rid, data in self._proposals:
            if rid in waiters and not node.propose(data):
                kept.append((rid, data))
        self._proposals[:] = kept

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
        applied = self.applied_index
        queue = self._applied_waiters
        while queue and queue[0][0] <= applied:
            reached = heapq.heappop(queue)[2]
            if not reached.done():
                reached.set_result(None)
        waiters = self._waiters
        for rid, result in results:
            fut = waiters.pop(rid, None)
            if fut is not None and not fut.done():
                if isinstance(result, errors.EtcdError):
                    fut.set_exception(result)
                else:
                    fut.set_result(result)

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
        self.node.compact(index)

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
        return cc.id, self.members()

    # ---- requests -------------------------------------------------------------

    async def propose(self, req: InternalRaftRequest) -> Any:
        if self._stopping:
            raise errors.STOPPED
        rid = next(self._ids)
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
        timer = loop.call_later(REQUEST_TIMEOUT, self._expire, rid)
        try:
            return await fut
        finally:
            timer.cancel()

    def _expire(self, rid: int) -> None:
        fut = self._waiters.pop(rid, None)
        if fut is not None and not fut.done():
            self.failed_proposals += 1
            fut.set_exception(errors.TIMEOUT)

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

    async def range(self, req: rpc_pb2.RangeRequest) -> rpc_pb2.RangeResponse:
        # One member: every acknowledged write is applied already, so a local read is linearizable.
        resp = txn.range(self.kv, req)
        self._stamp(resp.header)
        return resp

    async def put(self, req: rpc_pb2.PutRequest) -> rpc_pb2.PutResponse:
        resp: rpc_pb2.PutResponse = await self.propose(InternalRaftRequest(put=req))
        self._stamp(resp.header)
        return resp

    async def delete_range(self, req: rpc_pb2.DeleteRangeRequest) -> rpc_pb2.DeleteRangeResponse:
        resp: rpc_pb2.DeleteRangeResponse = await self.propose(InternalRaftRequest(delete_range=req))
        self._stamp(resp.header)
        return resp

    async def txn(self, req: rpc_pb2.TxnRequest) -> rpc_pb2.TxnResponse:
        if _is_read_only(req):
            resp = txn.txn(self.kv, req, lease_exists=self.applier.lease_exists)
        else:
            resp = await self.propose(InternalRaftRequest(txn=req))
        self._stamp(resp.header)
        return resp

    async def compact(self, req: rpc_pb2.CompactionRequest) -> rpc_pb2.CompactionResponse:
        resp: rpc_pb2.CompactionResponse = await self.propose(InternalRaftRequest(compaction=req))
        self._stamp(resp.header)
        return resp

    # ---- leases ---------------------------------------------------------------

    async def lease_grant(self, req: rpc_pb2.LeaseGrantRequest) -> rpc_pb2.LeaseGrantResponse:
        while req.ID == 0:
            req.ID = self._lease_ids.next()
        resp: rpc_pb2.LeaseGrantResponse = await self.propose(InternalRaftRequest(lease_grant=req))
        self._stamp(resp.header)
        return resp

    async def lease_revoke(self, req: rpc_pb2.LeaseRevokeRequest) -> rpc_pb2.LeaseRevokeResponse:
        resp: rpc_pb2.LeaseRevokeResponse = await self.propose(InternalRaftRequest(lease_revoke=req))
        self._stamp(resp.header)
        return resp

    async def _revoke_expired(self, lease_id: int) -> None:
        await self.lease_revoke(rpc_pb2.LeaseRevokeRequest(ID=lease_id))

    async def lease_renew(self, lease_id: int) -> int:
        """Keep-alive: renewed on the leader's lessor, not through the log (as etcd)."""
        try:
            return await self.lessor.renew(lease_id)
        except NotPrimary:
            raise errors.STOPPED if self._stopping else errors.NOT_LEADER from None

    def lease_time_to_live(self, req: rpc_pb2.LeaseTimeToLiveRequest) -> rpc_pb2.LeaseTimeToLiveResponse:
        resp = self.lessor.time_to_live(req.ID, req.keys)
        self._stamp(resp.header)
        return resp

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

    def members(self) -> list[rpc_pb2.Member]:
        return [rpc_pb2.Member(ID=m.id, name=m.name, peerURLs=m.peer_urls, clientURLs=m.client_urls,
                               isLearner=m.is_learner) for m in self.cluster.members.values()]

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


def _is_read_only(req: rpc_pb2.TxnRequest) -> bool:
    """A txn with no put or delete in any branch, at any depth, changes nothing: serve it locally."""
    for op in (*req.success, *req.failure):
        kind = op.WhichOneof("request")
        if kind in ("request_put", "request_delete_range"):
            return False
        if kind == "request_txn" and not _is_read_only(op.request_txn):
            return False
    return True
