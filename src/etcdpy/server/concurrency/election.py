"""Campaign, Proclaim, Resign, Leader and Observe, as etcd's v3election server does them (3.5).

A candidate's key is `<name>/<lease ID in hex>`; the key under `<name>/`
with the lowest create revision is the leader. A LeaderKey (name, key, rev =
its create revision, lease) names a leadership: Proclaim and Resign act only
while that key still exists with that create revision.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncGenerator, Callable

from etcdpy.api.pb.etcdserverpb import rpc_pb2
from etcdpy.api.pb.mvccpb.kv_pb2 import Event, KeyValue
from etcdpy.api.pb.v3electionpb import v3election_pb2 as epb
from etcdpy.mvcc.watch_stream import AUTO_WATCH_ID, WatchStream
from etcdpy.mvcc.watchable_store import WatchableStore
from etcdpy.mvcc.watcher_group import prefix_end
from etcdpy.server.concurrency import keys
from etcdpy.server.concurrency.background import run_detached

_RequestOp = rpc_pb2.RequestOp
_PUT = Event.PUT
_DELETE = Event.DELETE
# The header of a watch response at a revision (the server's IDs and term).
HeaderAt = Callable[[int], rpc_pb2.ResponseHeader]


async def campaign(
    kv: keys.KV, store: WatchableStore, name: bytes, lease: int, value: bytes
) -> epb.CampaignResponse:
    """Become leader of `name` (waiting for every earlier candidate to go) with `value`.

    A candidate already in the election (same lease) keeps its place and has
    its value proclaimed. Canceled while waiting, the candidate resigns.
    """
    lease = await keys.session_lease(kv, lease)
    prefix = name + b"/"
    key = keys.session_key(prefix, lease)
    resp = await kv.txn(
        rpc_pb2.TxnRequest(
            compare=[keys.owner_check(key, 0)],
            success=[_RequestOp(request_put=rpc_pb2.PutRequest(key=key, value=value, lease=lease))],
            failure=[_RequestOp(request_range=rpc_pb2.RangeRequest(key=key))],
        )
    )
    leader = epb.LeaderKey(name=name, key=key, rev=resp.header.revision, lease=lease)
    if not resp.succeeded:
        kv_now = resp.responses[0].response_range.kvs[0]
        leader.rev = kv_now.create_revision
        if kv_now.value != value:
            try:
                await _proclaim(kv, leader, value)
            except BaseException:
                run_detached(_resign(kv, leader))
                raise
    try:
        await keys.wait_deletes(kv, store, prefix, leader.rev - 1)
    except BaseException as e:
        # As etcd: only a canceled candidate resigns; after any other failure its key stays.
        if not isinstance(e, Exception):
            run_detached(_resign(kv, leader))
        raise
    return epb.CampaignResponse(header=resp.header, leader=leader)


async def proclaim(kv: keys.KV, leader: epb.LeaderKey, value: bytes) -> epb.ProclaimResponse:
    """Set the leader's value; ELECTION_NOT_LEADER unless `leader` still leads."""
    leader = await _resumed(kv, leader)
    return epb.ProclaimResponse(header=await _proclaim(kv, leader, value))


async def resign(kv: keys.KV, leader: epb.LeaderKey) -> epb.ResignResponse:
    """Give up leadership: delete the leader key if it still is `leader`'s (else change nothing)."""
    leader = await _resumed(kv, leader)
    return epb.ResignResponse(header=await _resign(kv, leader))


async def leader(kv: keys.KV, name: bytes) -> epb.LeaderResponse:
    resp = await kv.range(keys.first_created(name + b"/"))
    if not resp.kvs:
        raise keys.ELECTION_NO_LEADER
    return epb.LeaderResponse(header=resp.header, kv=resp.kvs[0])


async def observe(
    kv: keys.KV, store: WatchableStore, name: bytes, header_at: HeaderAt
) -> AsyncGenerator[epb.LeaderResponse, None]:
    """The leader now (or the first one, once there is one), then each change of its value;
    when it goes, its successor, and so on, until the caller stops."""
    prefix = name + b"/"
    try:
        while True:
            resp = await kv.range(keys.first_created(prefix))
            if resp.kvs:
                header, current = resp.header, resp.kvs[0]
            else:
                header, current = await _first_put(store, prefix, resp.header.revision, header_at)
            yield epb.LeaderResponse(header=header, kv=current)
            updates = _values_until_deleted(store, current.key, header.revision + 1, header_at)
            async with contextlib.aclosing(updates):
                async for update_header, update in updates:
                    yield epb.LeaderResponse(header=update_header, kv=update)
    except _WatchLost:
        return  # as etcd: the history it needed was compacted away; the stream ends


class _WatchLost(Exception):
    """An internal watch was canceled by a compaction."""


async def _resumed(kv: keys.KV, leader: epb.LeaderKey) -> epb.LeaderKey:
    """`leader` with the lease its requests use: a new one if it names none (as etcd's session)."""
    resumed = epb.LeaderKey()
    resumed.CopyFrom(leader)
    resumed.lease = await keys.session_lease(kv, leader.lease)
    return resumed


async def _proclaim(kv: keys.KV, leader: epb.LeaderKey, value: bytes) -> rpc_pb2.ResponseHeader:
    resp = await kv.txn(
        rpc_pb2.TxnRequest(
            compare=[keys.owner_check(leader.key, leader.rev)],
            success=[
                _RequestOp(request_put=rpc_pb2.PutRequest(key=leader.key, value=value, lease=leader.lease))
            ],
        )
    )
    if not resp.succeeded:
        raise keys.ELECTION_NOT_LEADER
    return resp.header


async def _resign(kv: keys.KV, leader: epb.LeaderKey) -> rpc_pb2.ResponseHeader:
    resp = await kv.txn(
        rpc_pb2.TxnRequest(
            compare=[keys.owner_check(leader.key, leader.rev)],
            success=[_RequestOp(request_delete_range=rpc_pb2.DeleteRangeRequest(key=leader.key))],
        )
    )
    return resp.header


async def _first_put(
    store: WatchableStore, prefix: bytes, rev: int, header_at: HeaderAt
) -> tuple[rpc_pb2.ResponseHeader, KeyValue]:
    """The first key put under prefix from revision rev on, with its header at that put's revision."""
    stream = WatchStream(store)
    try:
        stream.watch(AUTO_WATCH_ID, prefix, prefix_end(prefix), rev)
        while True:
            resp = await stream.get()
            if resp.canceled:
                raise _WatchLost
            for ev in resp.events:
                if ev.type == _PUT:
                    return header_at(ev.kv.mod_revision), ev.kv
    finally:
        stream.close()


async def _values_until_deleted(
    store: WatchableStore, key: bytes, rev: int, header_at: HeaderAt
) -> AsyncGenerator[tuple[rpc_pb2.ResponseHeader, KeyValue], None]:
    """Each put of `key` from revision rev on, with its watch response's header, until it is deleted."""
    stream = WatchStream(store)
    try:
        stream.watch(AUTO_WATCH_ID, key, b"", rev)
        while True:
            resp = await stream.get()
            if resp.canceled:
                raise _WatchLost
            for ev in resp.events:
                if ev.type == _DELETE:
                    return
                yield header_at(resp.revision), ev.kv
    finally:
        stream.close()
