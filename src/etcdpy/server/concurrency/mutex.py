"""Lock and Unlock, as etcd's v3lock server does them with its concurrency.Mutex (3.5)."""

from __future__ import annotations

from etcdpy.api.pb.etcdserverpb import rpc_pb2
from etcdpy.api.pb.v3lockpb import v3lock_pb2
from etcdpy.mvcc.watchable_store import WatchableStore
from etcdpy.server.concurrency import keys
from etcdpy.server.concurrency.background import run_detached

_RequestOp = rpc_pb2.RequestOp


async def lock(kv: keys.KV, store: WatchableStore, name: bytes, lease: int) -> v3lock_pb2.LockResponse:
    """Hold the lock `name` for the lease (a new one if 0); waits for every earlier holder to go.

    If the caller gives up while waiting (cancellation) or the wait fails, the
    lock key is deleted again, as etcd's server does.
    """
    lease = await keys.session_lease(kv, lease)
    prefix = name + b"/"
    my_key = keys.session_key(prefix, lease)
    get_owner = _RequestOp(request_range=keys.first_created(prefix))
    resp = await kv.txn(
        rpc_pb2.TxnRequest(
            compare=[keys.owner_check(my_key, 0)],
            success=[_RequestOp(request_put=rpc_pb2.PutRequest(key=my_key, lease=lease)), get_owner],
            failure=[_RequestOp(request_range=rpc_pb2.RangeRequest(key=my_key)), get_owner],
        )
    )
    my_rev = resp.header.revision
    if not resp.succeeded:
        my_rev = resp.responses[0].response_range.kvs[0].create_revision
    owner = resp.responses[1].response_range.kvs
    if not owner or owner[0].create_revision == my_rev:
        return v3lock_pb2.LockResponse(header=resp.header, key=my_key)
    try:
        await keys.wait_deletes(kv, store, prefix, my_rev - 1)
        # The lease may have expired meanwhile, taking the key with it.
        mine = await kv.range(rpc_pb2.RangeRequest(key=my_key))
    except BaseException:
        run_detached(unlock(kv, my_key))
        raise
    if not mine.kvs:
        raise keys.SESSION_EXPIRED
    return v3lock_pb2.LockResponse(header=mine.header, key=my_key)


async def unlock(kv: keys.KV, key: bytes) -> v3lock_pb2.UnlockResponse:
    resp = await kv.delete_range(rpc_pb2.DeleteRangeRequest(key=key))
    return v3lock_pb2.UnlockResponse(header=resp.header)
