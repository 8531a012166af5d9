"""The applier: turns one committed log entry into a change of the member's state.

Every member applies the same entries in the same order, so everything here
must be deterministic: the result depends only on the entry and the state
before it. Results go back to the proposer (if it is waiting on this member)
as a response message or an EtcdError.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from etcdpy.api import errors
from etcdpy.api.pb.etcdserverpb import raft_internal_pb2, rpc_pb2
from etcdpy.auth.store import AuthStore
from etcdpy.lease.lessor import Lessor
from etcdpy.mvcc.kvstore import KVStore
from etcdpy.server import apply_auth, apply_lease, quota, txn
from etcdpy.server.alarms import AlarmStore

InternalRaftRequest = raft_internal_pb2.InternalRaftRequest
# Requests whose caller's rights are checked when they are applied (while auth is enabled).
_CHECKED = frozenset({"put", "delete_range", "txn", "lease_revoke"}) | apply_auth.AUTH_REQUESTS


class Applier:
    """Applies InternalRaftRequests to the key-value store.

    `index` is the entry's log index: it becomes the store's consistent index in
    the same backend transaction as the change, so that a restart replays from
    the WAL exactly the entries the backend does not have yet.
    """

    def __init__(
        self, kv: KVStore, on_cluster_event: Callable[[InternalRaftRequest], None], lessor: Lessor,
        alarms: AlarmStore, auth: AuthStore,
    ) -> None:
        self._kv = kv
        self._auth = auth
        self._alarms = alarms
        self._on_cluster_event = on_cluster_event
        self._lessor = lessor
        self.lease_exists: txn.LeaseExists = lessor.exists

    def apply(self, index: int, req: InternalRaftRequest) -> Any:
        """Apply `req`; return its response (without header) or an EtcdError (never raises one)."""
        kv = self._kv
        kind = next((f.name for f, _ in req.ListFields() if f.name not in ("header", "ID")), "")
        try:
            if self._auth.enabled and kind in _CHECKED:
                apply_auth.check(self._auth, self._lessor, kind, req)
            if kind in apply_auth.AUTH_REQUESTS:
                auth_resp = apply_auth.apply(self._auth, kind, req, index)
                kv.save_consistent_index(index)
                return auth_resp
            if self._alarms.raised(rpc_pb2.NOSPACE) and _costs_space(req):
                return errors.NO_SPACE
            if req.HasField("put"):
                with kv.write() as w:
                    resp: Any = txn.put(w, req.put, lease_exists=self.lease_exists)
                    w.end(index)
                if self._lessor.tracking:
                    self._lessor.track(w.changes)
                return resp
            if req.HasField("delete_range"):
                with kv.write() as w:
                    resp = txn.delete_range(w, req.delete_range)
                    w.end(index)
                if self._lessor.tracking:
                    self._lessor.track(w.changes)
                return resp
            if req.HasField("txn"):
                rev = kv.rev
                resp = txn.txn(kv, req.txn, lease_exists=self.lease_exists, consistent_index=index)
                if self._lessor.tracking and kv.rev != rev:
                    self._lessor.track(kv.events(kv.rev))
                return resp
            if req.HasField("compaction"):
                return txn.compact(kv, req.compaction, consistent_index=index)
            if req.HasField("lease_grant"):
                return apply_lease.grant(self._lessor, kv, req.lease_grant, index)
            if req.HasField("lease_revoke"):
                return apply_lease.revoke(self._lessor, kv, req.lease_revoke, index)
            if req.HasField("lease_checkpoint"):
                return apply_lease.checkpoint(self._lessor, kv, req.lease_checkpoint)
            if req.HasField("alarm"):
                return self._alarms.apply(req.alarm)
            if req.HasField("cluster_member_attr_set") or req.HasField("cluster_version_set"):
                self._on_cluster_event(req)
                return None
        except errors.EtcdError as e:
            return e
        return errors.NOT_CAPABLE



def _costs_space(req: InternalRaftRequest) -> bool:
    """The writes refused while NOSPACE is raised (etcd's capped applier)."""
    if req.HasField("put") or req.HasField("lease_grant"):
        return True
    return req.HasField("txn") and quota.txn_cost(req.txn) > 0
