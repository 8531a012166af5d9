"""Sessions, distributed locks and leader elections on etcd, as etcd's clientv3/concurrency.

- `Session(client, ttl=60)`: a lease kept alive in the background; `done()` tells whether it
  was lost, `close()` stops renewing it and revokes it (deleting whatever it held).
- `Mutex(session, name)`: `lock()` puts `<name>/<lease hex>` and waits until every key under
  `<name>/` created before it is deleted (the lock is granted in creation order);
  `try_lock()` fails with `LockedError` instead of waiting; `unlock()` deletes the key.
- `Election(session, name)`: `campaign(value)` waits to become the leader (the oldest key
  under `<name>/`), `proclaim(value)` changes the leader's value, `resign()` steps down,
  `leader()` reads the current leader, `observe()` iterates over leader changes.

`AsyncSession`, `AsyncMutex` and `AsyncElection` are the same for `AsyncClient`
(`session = await AsyncSession.create(client)`). The algorithms live in `_recipes`, shared.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Iterator

from etcdpy.api import errors
from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.client import _recipes
from etcdpy.client._recipes import (
    ConcurrencyError,
    Held,
    LockedError,
    LostWatcherError,
    NoLeaderError,
    NotLeaderError,
    SessionExpiredError,
)
from etcdpy.client._requests import Bytes, to_bytes
from etcdpy.client.aio import AsyncClient
from etcdpy.client.lease import AsyncKeepAlive, KeepAlive
from etcdpy.client.sync import Client

__all__ = [
    "AsyncElection",
    "AsyncMutex",
    "AsyncSession",
    "ConcurrencyError",
    "Election",
    "LockedError",
    "LostWatcherError",
    "Mutex",
    "NoLeaderError",
    "NotLeaderError",
    "Session",
    "SessionExpiredError",
]

DEFAULT_TTL = 60


class Session:
    """A lease kept alive by a background thread until `close()` (or until it is lost)."""

    def __init__(self, client: Client, *, ttl: int = DEFAULT_TTL, lease_id: int = 0) -> None:
        self.client = client
        self.ttl = ttl
        self.lease_id = lease_id or client.grant(ttl).ID
        self._keep_alive: KeepAlive = client.keep_alive(self.lease_id)
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._renew, name=f"session-{self.lease_id:x}", daemon=True)
        self._thread.start()

    def _renew(self) -> None:
        try:
            for _ in self._keep_alive:
                pass
        except errors.EtcdError:
            pass
        finally:
            self._done.set()

    def done(self) -> bool:
        """True once the lease is no longer renewed (lost, or the session closed)."""
        return self._done.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the session is done or `timeout` passed; whether it is done."""
        return self._done.wait(timeout)

    def orphan(self) -> None:
        """Stop renewing the lease, leaving it to expire."""
        self._keep_alive.close()
        self._thread.join()

    def close(self) -> None:
        """Stop renewing and revoke the lease."""
        self.orphan()
        self.client.revoke(self.lease_id, timeout=self.ttl)

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncSession:
    """A lease kept alive by a background task; make one with `await AsyncSession.create(...)`."""

    def __init__(self, client: AsyncClient, lease_id: int, ttl: int, keep_alive: AsyncKeepAlive) -> None:
        self.client = client
        self.ttl = ttl
        self.lease_id = lease_id
        self._keep_alive = keep_alive
        self._task = asyncio.create_task(self._renew())

    @classmethod
    async def create(cls, client: AsyncClient, *, ttl: int = DEFAULT_TTL, lease_id: int = 0) -> AsyncSession:
        lease_id = lease_id or (await client.grant(ttl)).ID
        return cls(client, lease_id, ttl, await client.keep_alive(lease_id))

    async def _renew(self) -> None:
        with contextlib.suppress(errors.EtcdError):
            async for _ in self._keep_alive:
                pass

    def done(self) -> bool:
        return self._task.done()

    async def wait(self) -> None:
        """Until the session is done."""
        await asyncio.shield(self._task)

    async def orphan(self) -> None:
        self._keep_alive.close()
        await self._task

    async def close(self) -> None:
        await self.orphan()
        await self.client.revoke(self.lease_id, timeout=self.ttl)

    async def __aenter__(self) -> AsyncSession:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


class _Recipe:
    """A recipe's state: its key prefix and what the session holds under it."""

    def __init__(self, lease_id: int, name: Bytes) -> None:
        self._lease_id = lease_id
        self.prefix = to_bytes(name) + b"/"
        self._held: Held | None = None

    @property
    def key(self) -> bytes:
        """The session's key under the prefix (b"" when it holds none)."""
        return b"" if self._held is None else self._held.key

    @property
    def header(self) -> pb.ResponseHeader | None:
        """The header of the response that granted the lock or leadership."""
        return None if self._held is None else self._held.header

    def _holding(self) -> Held:
        if self._held is None:
            raise NotLeaderError()
        return self._held

    def _take(self, held: Held) -> None:
        self._held = held

    def _drop(self) -> _recipes.Steps[None]:
        held, self._held = self._held, None
        if held is not None:
            yield from _recipes.resign(held)


class Mutex(_Recipe):
    def __init__(self, session: Session, name: Bytes) -> None:
        super().__init__(session.lease_id, name)
        self.session = session

    def lock(self) -> None:
        self._take(_recipes.run(self.session.client, _recipes.lock(self.prefix, self._lease_id)))

    def try_lock(self) -> None:
        self._take(_recipes.run(self.session.client, _recipes.lock(self.prefix, self._lease_id, wait=False)))

    def unlock(self) -> None:
        _recipes.run(self.session.client, self._drop())


class AsyncMutex(_Recipe):
    def __init__(self, session: AsyncSession, name: Bytes) -> None:
        super().__init__(session.lease_id, name)
        self.session = session

    async def lock(self) -> None:
        self._take(await _recipes.run_async(self.session.client, _recipes.lock(self.prefix, self._lease_id)))

    async def try_lock(self) -> None:
        steps = _recipes.lock(self.prefix, self._lease_id, wait=False)
        self._take(await _recipes.run_async(self.session.client, steps))

    async def unlock(self) -> None:
        await _recipes.run_async(self.session.client, self._drop())


class Election(_Recipe):
    def __init__(self, session: Session, name: Bytes) -> None:
        super().__init__(session.lease_id, name)
        self.session = session

    def campaign(self, value: Bytes) -> None:
        steps = _recipes.campaign(self.prefix, self._lease_id, to_bytes(value))
        self._take(_recipes.run(self.session.client, steps))

    def proclaim(self, value: Bytes) -> None:
        steps = _recipes.proclaim(self._holding(), self._lease_id, to_bytes(value))
        try:
            _recipes.run(self.session.client, steps)
        except NotLeaderError:
            self._held = None
            raise

    def resign(self) -> None:
        _recipes.run(self.session.client, self._drop())

    def leader(self) -> pb.RangeResponse:
        """The current leader's key (`kvs[0]`); `NoLeaderError` if there is none."""
        return _recipes.run(self.session.client, _recipes.leader(self.prefix))

    def observe(self) -> Iterator[pb.RangeResponse]:
        """The leader now (once there is one), then again each time it changes; see `_recipes.observe`."""
        return _recipes.iterate(self.session.client, _recipes.observe(self.prefix))


class AsyncElection(_Recipe):
    def __init__(self, session: AsyncSession, name: Bytes) -> None:
        super().__init__(session.lease_id, name)
        self.session = session

    async def campaign(self, value: Bytes) -> None:
        steps = _recipes.campaign(self.prefix, self._lease_id, to_bytes(value))
        self._take(await _recipes.run_async(self.session.client, steps))

    async def proclaim(self, value: Bytes) -> None:
        steps = _recipes.proclaim(self._holding(), self._lease_id, to_bytes(value))
        try:
            await _recipes.run_async(self.session.client, steps)
        except NotLeaderError:
            self._held = None
            raise

    async def resign(self) -> None:
        await _recipes.run_async(self.session.client, self._drop())

    async def leader(self) -> pb.RangeResponse:
        return await _recipes.run_async(self.session.client, _recipes.leader(self.prefix))

    def observe(self) -> AsyncIterator[pb.RangeResponse]:
        return _recipes.iterate_async(self.session.client, _recipes.observe(self.prefix))
