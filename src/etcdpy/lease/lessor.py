"""The lessor: every lease of the member, the keys attached to each, and expiry on the leader.

Replicated state (changed only by applying log entries, so identical on every
member): the leases with their TTLs, kept in the backend's `lease` bucket, and
the attachments of keys to leases, which follow from the keys' `lease` field
and are rebuilt from the key space on start.

Leader-local state: expiry times on the injected clock. Only the primary
lessor (the leader's) has finite expiries; it renews leases on keep-alive and
reports expired leases, for which the server proposes revocations. On
promotion every lease gets a full TTL again (plus `extend`), as in etcd: a
restart or a new leader never revokes a lease early.

Crash safety: the bucket and the key space are written in separate backend
transactions, ordered so that replaying the entry after a crash between them
(the consistent index is written with the second) reaches the same state. A
revoke deletes the lease first; keys left attached to a lease that no longer
exists ("orphans") are deleted by the replayed revoke.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable, Iterable

from etcdpy.api import errors
from etcdpy.api.pb.etcdserverpb import rpc_pb2
from etcdpy.api.pb.mvccpb.kv_pb2 import Event
from etcdpy.lease import bucket
from etcdpy.lease.ids import hex_id
from etcdpy.lease.lease import FOREVER, Lease
from etcdpy.lease.lease_queue import ExpiryQueue
from etcdpy.mvcc.kvstore import KVStore
from etcdpy.pkg import zaplog

log = zaplog.get("lessor")

MAX_LEASE_TTL = 9_000_000_000
# Leases revoked per second at most; expiries are spread after a promotion to stay below it.
LEASE_REVOKE_RATE = 1000
# The largest remaining time etcd reports (Go's maximum Duration, in seconds).
_MAX_REMAINING = (2**63 - 1) / 1e9
_PUT = Event.PUT


def min_lease_ttl(election_ms: int, heartbeat_ms: int) -> int:
    """The smallest TTL granted, in seconds: 1.5 election timeouts, in whole ticks, rounded up."""
    ticks = election_ms // heartbeat_ms
    return math.ceil((3 * ticks) // 2 * heartbeat_ms / 1000)


class NotPrimary(Exception):
    """This member's lessor does not manage expiry: it is not (or no longer) the leader's."""


class Lessor:
    def __init__(
        self,
        kv: KVStore,
        *,
        min_ttl: int,
        retry_interval: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """Restore the leases from `kv`'s backend and attach their keys. The lessor starts as a
        non-primary: nothing expires until `promote`.

        `retry_interval`: how long after reporting an expired lease it is reported again if it
        still exists (its revocation failed).
        """
        self._kv = kv
        self._backend = kv.backend
        self._min_ttl = min_ttl
        self._retry_interval = retry_interval
        self.clock = clock
        self.primary = False
        self._leases: dict[int, Lease] = {}
        # Attachments, both ways. A lease ID here may lack a lease only after a crash mid-revoke.
        self._lease_of: dict[bytes, int] = {}
        self._keys_of: dict[int, set[bytes]] = {}
        self._queue = ExpiryQueue()
        self._restore()

    def reload(self) -> None:
        """The backend's content was replaced: forget every lease and restore from it (as a primary,
        with fresh expiries)."""
        self._leases.clear()
        self._lease_of.clear()
        self._keys_of.clear()
        self._queue = ExpiryQueue()
        self._restore()
        if self.primary:
            self.promote(0.0)

    # ---- replicated: called by the applier ---------------------------------

    def exists(self, lease_id: int) -> bool:
        return lease_id in self._leases

    def grant(self, lease_id: int, ttl: int) -> Lease:
        """Create and persist a lease; a TTL below the minimum is raised to it."""
        if lease_id == 0:
            raise errors.LEASE_NOT_FOUND
        if ttl > MAX_LEASE_TTL:
            raise errors.LEASE_TTL_TOO_LARGE
        if lease_id in self._leases:
            raise errors.LEASE_EXIST
        lease = Lease(lease_id, max(ttl, self._min_ttl))
        bucket.save(self._backend, bucket.LeaseRecord(lease.id, lease.ttl, lease.remaining_ttl))
        self._leases[lease_id] = lease
        if self.primary:
            lease.refresh(self.clock())
            self._queue.register(lease_id, lease.expiry)
        return lease

    def revoke(self, lease_id: int, consistent_index: int) -> None:
        """Delete the lease and, in one write revision saved with `consistent_index`, its keys."""
        lease = self._leases.pop(lease_id, None)
        keys = self._keys_of.pop(lease_id, set())
        if lease is None and not keys:
            raise errors.LEASE_NOT_FOUND
        if lease is not None:
            bucket.delete(self._backend, lease_id)
            self._queue.remove(lease_id)
        with self._kv.write() as w:
            # Sorted: every member deletes in the same order, so their revisions and hashes agree.
            for key in sorted(keys):
                w.delete_range(key)
            w.end(consistent_index)
        for key in keys:
            del self._lease_of[key]
        if lease is not None and lease.revoked is not None and not lease.revoked.done():
            lease.revoked.set_result(None)

    def checkpoint(self, lease_id: int, remaining_ttl: int) -> None:
        """Record and persist a lease's remaining TTL (0: none), which the next promotion starts
        from; unknown leases are ignored."""
        lease = self._leases.get(lease_id)
        if lease is not None and lease.remaining_ttl != remaining_ttl:
            lease.remaining_ttl = remaining_ttl
            bucket.save(self._backend, bucket.LeaseRecord(lease.id, lease.ttl, remaining_ttl))

    @property
    def tracking(self) -> bool:
        """False if no key can be attached to a lease: writes need not be passed to `track`."""
        return bool(self._leases) or bool(self._lease_of)

    def track(self, events: Iterable[Event]) -> None:
        """Follow a write's changes: a put attaches the key to its lease (or to none), a delete
        detaches it. Only the event type, key and (for a put) lease are read."""
        for ev in events:
            key = ev.kv.key
            new = ev.kv.lease if ev.type == _PUT else 0
            old = self._lease_of.get(key, 0)
            if old != new:
                if old:
                    self._detach(key, old)
                if new:
                    self._attach(key, new)

    # ---- leader-local -------------------------------------------------------

    def promote(self, extend: float) -> None:
        """Become the primary lessor: every lease expires `extend` + its TTL from now, except that
        expiries piling up beyond the revoke rate are spread out."""
        self.primary = True
        now = self.clock()
        for lease in self._leases.values():
            lease.refresh(now, extend)
        if len(self._leases) >= LEASE_REVOKE_RATE:
            self._spread_expiries(now, extend)
        for lease in self._leases.values():
            self._queue.register(lease.id, lease.expiry)

    def demote(self) -> None:
        """Stop managing expiry; renewals waiting on an expired lease fail with NotPrimary."""
        self.primary = False
        self._queue.clear()
        for lease in self._leases.values():
            lease.expiry = FOREVER
            if lease.revoked is not None and not lease.revoked.done():
                lease.revoked.set_exception(NotPrimary())
                lease.revoked = None

    async def renew(self, lease_id: int) -> int:
        """Keep-alive: restart the lease's TTL; returns the granted TTL.

        An expired lease cannot be renewed: this waits for its revocation and then
        raises LEASE_NOT_FOUND, as for a lease that does not exist.
        """
        if not self.primary:
            raise NotPrimary
        lease = self._leases.get(lease_id)
        if lease is None:
            raise errors.LEASE_NOT_FOUND
        if lease.expired(self.clock()):
            if lease.revoked is None:
                lease.revoked = asyncio.get_running_loop().create_future()
            await asyncio.shield(lease.revoked)
            raise errors.LEASE_NOT_FOUND
        lease.renew(self.clock())
        self._queue.register(lease_id, lease.expiry)
        return lease.ttl

    def lookup(self, lease_id: int) -> Lease | None:
        return self._leases.get(lease_id)

    def keys(self, lease_id: int) -> list[bytes]:
        """The keys attached to the lease, sorted."""
        return sorted(self._keys_of.get(lease_id, ()))

    def time_to_live(self, lease_id: int, with_keys: bool) -> rpc_pb2.LeaseTimeToLiveResponse:
        """The lease's remaining whole seconds (truncated, as etcd), granted TTL and maybe keys;
        no header. Raises LEASE_NOT_FOUND."""
        lease = self._leases.get(lease_id)
        if lease is None:
            raise errors.LEASE_NOT_FOUND
        remaining = min(lease.remaining(self.clock()), _MAX_REMAINING)
        resp = rpc_pb2.LeaseTimeToLiveResponse(ID=lease_id, TTL=int(remaining), grantedTTL=lease.ttl)
        if with_keys:
            resp.keys.extend(self.keys(lease_id))
        return resp

    def due_checkpoints(self) -> list[rpc_pb2.LeaseCheckpoint]:
        """On the primary: the remaining TTL, in whole seconds rounded up, of every lease with less
        than its full TTL left and more than nothing."""
        now = self.clock()
        out: list[rpc_pb2.LeaseCheckpoint] = []
        for lease in self._leases.values():
            if lease.expiry == FOREVER:
                continue
            remaining = math.ceil(lease.remaining(now))
            if 0 < remaining < lease.ttl and remaining != lease.remaining_ttl:
                out.append(rpc_pb2.LeaseCheckpoint(ID=lease.id, remaining_TTL=remaining))
        return out

    def leases(self) -> list[Lease]:
        """Every lease, soonest expiry first."""
        return sorted(self._leases.values(), key=lambda lease: lease.expiry)

    def expired(self, limit: int) -> list[int]:
        """Up to `limit` IDs of leases past their expiry, to revoke. Each is reported again after
        the retry interval if it still exists then."""
        now = self.clock()
        out: list[int] = []
        queue = self._queue
        while len(out) < limit:
            top = queue.peek()
            if top is None or top[0] > now:
                break
            queue.pop()
            lease_id = top[1]
            if lease_id in self._leases:
                out.append(lease_id)
                queue.register(lease_id, now + self._retry_interval)
        return out

    def next_due(self) -> float | None:
        """The clock time at which `expired` next has something to report, if any."""
        top = self._queue.peek()
        return None if top is None else top[0]

    # ---- internals ----------------------------------------------------------

    def _attach(self, key: bytes, lease_id: int) -> None:
        self._lease_of[key] = lease_id
        self._keys_of.setdefault(lease_id, set()).add(key)

    def _detach(self, key: bytes, lease_id: int) -> None:
        del self._lease_of[key]
        keys = self._keys_of[lease_id]
        keys.discard(key)
        if not keys:
            del self._keys_of[lease_id]

    def _restore(self) -> None:
        for record in bucket.load(self._backend):
            self._leases[record.id] = Lease(record.id, record.ttl, record.remaining_ttl)
        for key, lease_id in self._kv.leased_keys():
            if lease_id not in self._leases:
                log.warning(
                    "key attached to a lease that does not exist; the lease's revocation will delete it",
                    key=key.decode(errors="replace"),
                    **{"lease-id": hex_id(lease_id)},
                )
            self._attach(key, lease_id)

    def _spread_expiries(self, now: float, extend: float) -> None:
        """Push back expiries so that at most 3/4 of the revoke rate fall in any one-second window.

        Windows start at the soonest remaining time and at each lease beyond the current
        window's end. Past the allowance, the n-th lease of a window is delayed to n/allowance
        seconds after the window start (less its own distance from it), and the window's end
        moves to that delay.
        """
        allowance = 3 * LEASE_REVOKE_RATE // 4
        ordered = sorted(self._leases.values(), key=lambda lease: lease.expiry)
        base = ordered[0].remaining(now)
        window_end = base + 1.0
        count = 0
        for lease in ordered:
            remaining = lease.remaining(now)
            if remaining > window_end:
                base, window_end, count = remaining, remaining + 1.0, 1
                continue
            count += 1
            if count <= allowance:
                continue
            delay = count / allowance - (remaining - base)
            window_end = base + delay
            lease.refresh(now, extend + delay)
