"""The concurrency recipes' algorithms (etcd's clientv3/concurrency), written once for both clients.

A recipe is a generator of `Step`s: each step is a client call (or a watch advance) that a
driver performs, blocking (`run`, `iterate`) or awaiting (`run_async`, `iterate_async`),
sending the result back in; a failed step is thrown back into the recipe, so its cleanup
(deleting its key, cancelling a watch) runs in whichever driver it is.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Generator
from dataclasses import dataclass, field
from typing import Any, TypeVar

from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.api.pb.mvccpb import kv_pb2
from etcdpy.client import txn

T = TypeVar("T")

# What interrupts a recipe and still lets it clean up (GeneratorExit must not: it may not yield).
ABORTS = (Exception, KeyboardInterrupt, asyncio.CancelledError)


class ConcurrencyError(Exception):
    """A recipe's own failure, with clientv3/concurrency's message."""

    message = ""

    def __init__(self) -> None:
        super().__init__(self.message)


class LockedError(ConcurrencyError):
    message = "mutex: Locked by another session"


class SessionExpiredError(ConcurrencyError):
    message = "mutex: session is expired"


class NotLeaderError(ConcurrencyError):
    message = "election: not leader"


class NoLeaderError(ConcurrencyError):
    message = "election: no leader"


class LostWatcherError(ConcurrencyError):
    message = "lost watcher waiting for delete"


@dataclass(frozen=True)
class Call:
    """`client.<method>(*args, **kwargs)`."""

    method: str
    args: tuple[Any, ...] = ()
    kwargs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Next:
    """The watch's next response, or None once it ended."""

    watch: Any


@dataclass(frozen=True)
class Cancel:
    watch: Any


@dataclass(frozen=True)
class Emit:
    """A value for the reader of an iterating recipe."""

    value: Any


Step = Call | Next | Cancel | Emit
Steps = Generator[Step, Any, T]


def lease_key(prefix: bytes, lease_id: int) -> bytes:
    return prefix + f"{lease_id:x}".encode()


def _first_created(prefix: bytes, **options: Any) -> dict[str, Any]:
    """Options of a get for the oldest key under `prefix` (clientv3's WithFirstCreate)."""
    return {
        "prefix": True,
        "sort_target": pb.RangeRequest.CREATE,
        "sort_order": pb.RangeRequest.ASCEND,
        "limit": 1,
        **options,
    }


def wait_delete(key: bytes, revision: int) -> Steps[None]:
    """Until `key` is deleted at or after `revision`."""
    watch = yield Call("watch", (key,), {"start_revision": revision})
    try:
        while True:
            resp: pb.WatchResponse | None = yield Next(watch)
            if resp is None:
                raise LostWatcherError()
            if any(ev.type == kv_pb2.Event.DELETE for ev in resp.events):
                return
            if resp.canceled:
                raise LostWatcherError()
    finally:
        yield Cancel(watch)


def wait_deletes(prefix: bytes, max_create_revision: int) -> Steps[pb.ResponseHeader]:
    """Until no key under `prefix` created at or before `max_create_revision` is left."""
    while True:
        resp: pb.RangeResponse = yield Call(
            "get",
            (prefix,),
            {
                "prefix": True,
                "sort_target": pb.RangeRequest.CREATE,
                "sort_order": pb.RangeRequest.DESCEND,
                "limit": 1,
                "max_create_revision": max_create_revision,
            },
        )
        if not resp.kvs:
            return resp.header
        yield from wait_delete(resp.kvs[0].key, resp.header.revision)


@dataclass
class Held:
    """A key a session holds under a recipe's prefix: a lock or a candidacy."""

    key: bytes
    revision: int
    header: pb.ResponseHeader


def lock(prefix: bytes, lease_id: int, *, wait: bool = True) -> Steps[Held]:
    """Create the session's key under `prefix`, then (if `wait`) wait until every older key
    is gone; without `wait` an older key is `LockedError` (the own key deleted again)."""
    key = lease_key(prefix, lease_id)
    resp: pb.TxnResponse = yield Call(
        "txn",
        (
            [txn.CreateRevision(key).eq(0)],
            [txn.put(key, b"", lease=lease_id), txn.get(prefix, **_first_created(prefix))],
            [txn.get(key), txn.get(prefix, **_first_created(prefix))],
        ),
    )
    revision = resp.header.revision
    if not resp.succeeded:
        revision = resp.responses[0].response_range.kvs[0].create_revision
    owner = resp.responses[1].response_range.kvs
    if not owner or owner[0].create_revision == revision:
        return Held(key, revision, resp.header)
    try:
        if not wait:
            raise LockedError()
        yield from wait_deletes(prefix, revision - 1)
        check: pb.RangeResponse = yield Call("get", (key,))
    except ABORTS:
        yield Call("delete", (key,))
        raise
    if not check.kvs:
        raise SessionExpiredError()
    return Held(key, revision, check.header)


def proclaim(held: Held, lease_id: int, value: bytes) -> Steps[None]:
    """Replace the leader's value, if the candidacy still is the one `held` names."""
    resp: pb.TxnResponse = yield Call(
        "txn",
        ([txn.CreateRevision(held.key).eq(held.revision)], [txn.put(held.key, value, lease=lease_id)], []),
    )
    if not resp.succeeded:
        raise NotLeaderError()


def resign(held: Held) -> Steps[None]:
    """Delete the held key, unless it is no longer the one created then (unlock, or step down)."""
    yield Call("txn", ([txn.CreateRevision(held.key).eq(held.revision)], [txn.delete(held.key)], []))


def campaign(prefix: bytes, lease_id: int, value: bytes) -> Steps[Held]:
    """Stand as a candidate with `value`; returns once every older candidate is gone."""
    key = lease_key(prefix, lease_id)
    resp: pb.TxnResponse = yield Call(
        "txn",
        ([txn.CreateRevision(key).eq(0)], [txn.put(key, value, lease=lease_id)], [txn.get(key)]),
    )
    held = Held(key, resp.header.revision, resp.header)
    try:
        if not resp.succeeded:
            kv = resp.responses[0].response_range.kvs[0]
            held.revision = kv.create_revision
            if kv.value != value:
                yield from proclaim(held, lease_id, value)
        yield from wait_deletes(prefix, held.revision - 1)
    except ABORTS:
        yield from resign(held)
        raise
    return held


def leader(prefix: bytes) -> Steps[pb.RangeResponse]:
    resp: pb.RangeResponse = yield Call("get", (prefix,), _first_created(prefix))
    if not resp.kvs:
        raise NoLeaderError()
    return resp


def observe(prefix: bytes) -> Steps[None]:
    """Emit a range response holding the leader's key each time the leader or its value changes.

    Ends (returns) when a watch ends without the leader having resigned."""
    while True:
        resp: pb.RangeResponse = yield Call("get", (prefix,), _first_created(prefix))
        if resp.kvs:
            header, kv = resp.header, resp.kvs[0]
        else:
            found = yield from _first_put(prefix, resp.header.revision)
            if found is None:
                return
            header, kv = found
        yield Emit(pb.RangeResponse(header=header, kvs=[kv]))
        watch = yield Call("watch", (kv.key,), {"start_revision": header.revision + 1})
        try:
            deleted = False
            while not deleted:
                wresp: pb.WatchResponse | None = yield Next(watch)
                if wresp is None or wresp.canceled:
                    return
                for ev in wresp.events:
                    if ev.type == kv_pb2.Event.DELETE:
                        deleted = True
                        break
                    update = pb.RangeResponse()
                    update.CopyFrom(resp)
                    update.header.CopyFrom(wresp.header)
                    del update.kvs[:]
                    update.kvs.append(ev.kv)
                    yield Emit(update)
        finally:
            yield Cancel(watch)


def _first_put(prefix: bytes, revision: int) -> Steps[tuple[pb.ResponseHeader, kv_pb2.KeyValue] | None]:
    """The first key put under `prefix` from `revision` on (None if the watch ended)."""
    watch = yield Call("watch", (prefix,), {"prefix": True, "start_revision": revision})
    try:
        while True:
            wresp: pb.WatchResponse | None = yield Next(watch)
            if wresp is None or wresp.canceled:
                return None
            for ev in wresp.events:
                if ev.type == kv_pb2.Event.PUT:
                    header = pb.ResponseHeader()
                    header.CopyFrom(wresp.header)
                    header.revision = ev.kv.mod_revision
                    return header, ev.kv
    finally:
        yield Cancel(watch)


# -- drivers -------------------------------------------------------------------------------------


class _Closed(Exception):
    """Thrown into a recipe whose reader stopped iterating, so that it cleans up."""


def _execute(client: Any, step: Step) -> Any:
    if isinstance(step, Call):
        return getattr(client, step.method)(*step.args, **step.kwargs)
    if isinstance(step, Next):
        return next(step.watch, None)
    if isinstance(step, Cancel):
        return step.watch.cancel()
    raise TypeError(f"{step!r} cannot be executed")


def iterate(client: Any, steps: Steps[T]) -> Generator[Any, None, T]:
    """Perform a recipe's steps with a blocking client, yielding what it emits."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            step = steps.throw(error) if error is not None else steps.send(value)
        except StopIteration as stop:
            result: T = stop.value
            return result
        except _Closed:
            return None  # type: ignore[return-value]
        value, error = None, None
        if isinstance(step, Emit):
            try:
                yield step.value
            except GeneratorExit:
                error = _Closed()
            continue
        try:
            value = _execute(client, step)
        except BaseException as exc:  # handed to the recipe, which re-raises what it does not handle
            error = exc


def run(client: Any, steps: Steps[T]) -> T:
    """Perform a recipe that emits nothing with a blocking client; its result."""
    driver = iterate(client, steps)
    try:
        while True:
            next(driver)
    except StopIteration as stop:
        result: T = stop.value
        return result


async def _execute_async(client: Any, step: Step) -> Any:
    if isinstance(step, Call):
        return await getattr(client, step.method)(*step.args, **step.kwargs)
    if isinstance(step, Next):
        return await anext(step.watch, None)
    if isinstance(step, Cancel):
        done = step.watch.cancel()
        return await done if inspect.isawaitable(done) else done
    raise TypeError(f"{step!r} cannot be executed")


async def iterate_async(client: Any, steps: Steps[Any]) -> AsyncIterator[Any]:
    """Perform a recipe's steps with an asyncio client, yielding what it emits."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            step = steps.throw(error) if error is not None else steps.send(value)
        except (StopIteration, _Closed):
            return
        value, error = None, None
        if isinstance(step, Emit):
            try:
                yield step.value
            except GeneratorExit:
                error = _Closed()
            continue
        try:
            value = await _execute_async(client, step)
        except BaseException as exc:  # handed to the recipe, which re-raises what it does not handle
            error = exc


async def run_async(client: Any, steps: Steps[T]) -> T:
    """Perform a recipe that emits nothing with an asyncio client; its result."""
    value: Any = None
    error: BaseException | None = None
    while True:
        try:
            step = steps.throw(error) if error is not None else steps.send(value)
        except StopIteration as stop:
            result: T = stop.value
            return result
        value, error = None, None
        try:
            value = await _execute_async(client, step)
        except BaseException as exc:  # handed to the recipe, which re-raises what it does not handle
            error = exc
