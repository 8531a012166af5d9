"""What the mutex and election recipes share: sessions, key names, and waiting for older keys to go.

A recipe key is `<prefix><session lease ID in hex>`, created with the lease;
the key with the lowest create revision under the prefix holds the lock (or
leads the election), and every other waits until each key created before its
own has been deleted.
"""

from __future__ import annotations

from typing import Protocol

import grpc

from etcdpy.api import errors
from etcdpy.api.pb.etcdserverpb import rpc_pb2
from etcdpy.api.pb.mvccpb.kv_pb2 import Event
from etcdpy.mvcc.watch_stream import AUTO_WATCH_ID, WatchStream
from etcdpy.mvcc.watchable_store import WatchableStore
from etcdpy.mvcc.watcher_group import prefix_end

# The TTL of the lease a request without one is given (etcd's concurrency.defaultSessionTTL).
DEFAULT_SESSION_TTL = 60

# As etcd's client-side concurrency errors, which its servers return as plain (UNKNOWN) errors.
SESSION_EXPIRED = errors.EtcdError("mutex: session is expired", grpc.StatusCode.UNKNOWN)
ELECTION_NOT_LEADER = errors.EtcdError("election: not leader", grpc.StatusCode.UNKNOWN)
ELECTION_NO_LEADER = errors.EtcdError("election: no leader", grpc.StatusCode.UNKNOWN)

_ASCEND = rpc_pb2.RangeRequest.ASCEND
_DESCEND = rpc_pb2.RangeRequest.DESCEND
_CREATE = rpc_pb2.RangeRequest.CREATE
_DELETE = Event.DELETE


class KV(Protocol):
    """The requests the recipes make: the server's own, checked as a client's would be."""

    async def range(self, req: rpc_pb2.RangeRequest) -> rpc_pb2.RangeResponse: ...

    async def txn(self, req: rpc_pb2.TxnRequest) -> rpc_pb2.TxnResponse: ...

    async def delete_range(self, req: rpc_pb2.DeleteRangeRequest) -> rpc_pb2.DeleteRangeResponse: ...

    async def lease_grant(self, req: rpc_pb2.LeaseGrantRequest) -> rpc_pb2.LeaseGrantResponse: ...


async def session_lease(kv: KV, lease: int) -> int:
    """The lease a recipe uses: the one given, or (0) a new one of DEFAULT_SESSION_TTL seconds."""
    if lease:
        return lease
    return (await kv.lease_grant(rpc_pb2.LeaseGrantRequest(TTL=DEFAULT_SESSION_TTL))).ID


def session_key(prefix: bytes, lease: int) -> bytes:
    return prefix + f"{lease:x}".encode()  # Go's %x of an int64: "-" and digits if negative


def first_created(prefix: bytes) -> rpc_pb2.RangeRequest:
    """The oldest key under prefix: the lock holder, the election leader."""
    return rpc_pb2.RangeRequest(
        key=prefix, range_end=prefix_end(prefix), sort_target=_CREATE, sort_order=_ASCEND, limit=1
    )


def owner_check(key: bytes, rev: int) -> rpc_pb2.Compare:
    """True while `key` exists with create revision `rev` (0: while it does not exist)."""
    return rpc_pb2.Compare(
        key=key, target=rpc_pb2.Compare.CREATE, result=rpc_pb2.Compare.EQUAL, create_revision=rev
    )


async def wait_deletes(
    kv: KV, store: WatchableStore, prefix: bytes, max_create_rev: int
) -> rpc_pb2.ResponseHeader:
    """Wait until no key under prefix has a create revision <= max_create_rev; the last read's header."""
    newest_older = rpc_pb2.RangeRequest(
        key=prefix,
        range_end=prefix_end(prefix),
        sort_target=_CREATE,
        sort_order=_DESCEND,
        limit=1,
        max_create_revision=max_create_rev,
    )
    while True:
        resp = await kv.range(newest_older)
        if not resp.kvs:
            return resp.header
        await wait_delete(store, resp.kvs[0].key, resp.header.revision)


async def wait_delete(store: WatchableStore, key: bytes, rev: int) -> None:
    """Wait for a deletion of `key` at or after revision `rev`."""
    stream = WatchStream(store)
    try:
        stream.watch(AUTO_WATCH_ID, key, b"", rev)
        while True:
            resp = await stream.get()
            if resp.canceled:
                raise errors.COMPACTED
            if any(ev.type == _DELETE for ev in resp.events):
                return
    finally:
        stream.close()
