"""etcd v3 client: `Client` (blocking) and `AsyncClient` (asyncio), on grpcio.

Calls return the etcd protobuf responses (`etcdpy.api.pb.etcdserverpb.rpc_pb2`) and
raise `etcdpy.api.errors.EtcdError` (membership changes also `URLError`, for a peer URL
etcd's client would not send); transactions are built with `etcdpy.client.txn`.

Leases: `grant(ttl)`, `revoke(id)`, `time_to_live(id, keys=...)`, `leases()`,
`keep_alive_once(id)`, and `keep_alive(id)`, an iterator (async iterator) that renews the
lease while it is consumed (`etcdpy.client.lease`).

Watches: `watch(key, range_end, prefix=..., start_revision=..., prev_kv=..., progress_notify=...,
no_put=..., no_delete=...)` returns an iterator (async iterator) of `WatchResponse`s with
`cancel()` and `request_progress()`; a broken stream resumes where it left off
(`etcdpy.client.watch`).

Coordination (`etcdpy.client.concurrency`, as etcd's clientv3/concurrency): `Session` (a lease
kept alive in the background), `Mutex` (a lock by key prefix, granted in creation order) and
`Election` (campaign, proclaim, resign, leader, observe), with `Async*` twins for `AsyncClient`.

Security: `tls=TLSConfig(...)` (CA bundle, client certificate, server name, skip-verify; see
`etcdpy.client.tls`), `user=`/`password=` (or `authenticate()`) for servers with authentication
enabled, and the Auth API: `auth_enable()`, `user_add(...)`, `role_grant_permission(...)` and the
rest (`etcdpy.client.auth`).
"""

from etcdpy.api.errors import EtcdError
from etcdpy.client import txn
from etcdpy.client._requests import SortOrder, SortTarget, prefix_end
from etcdpy.client._status import TransportError
from etcdpy.client._urls import URLError
from etcdpy.client.aio import AsyncClient
from etcdpy.client.sync import Client
from etcdpy.client.tls import TLSConfig
from etcdpy.client.watch import is_progress_notify

__all__ = [
    "AsyncClient",
    "Client",
    "EtcdError",
    "SortOrder",
    "SortTarget",
    "TLSConfig",
    "TransportError",
    "URLError",
    "is_progress_notify",
    "prefix_end",
    "txn",
]
