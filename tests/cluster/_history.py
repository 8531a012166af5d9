"""Record a client history against a cluster: concurrent clients doing puts (unique values),
linearizable gets and compare-and-set txns on a few keys, spread over all members.

Each client thread sends one request at a time, to each member in turn, and leaves a member
that failed it alone for a second. Every request is recorded with its invocation and return times
(time.monotonic) and its outcome; a request that failed in any way is recorded with an unknown
outcome (maybe applied), since a timeout or lost connection says nothing about whether a
write was committed. Recording stops when told to, or at `max_ops` / `max_seconds`.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Iterable, Sequence

from etcdpy.api.pb.mvccpb.kv_pb2 import KeyValue
from etcdpy.client import Client, EtcdError, txn
from tests.cluster._linearizability import INF, Cas, Get, Input, Op, Output, Put, Read, Written
from tests.servers import wait_until

KEY_PREFIX = "lin/"
SUSPECT_SECONDS = 1.0


def _read(kvs: Sequence[KeyValue]) -> Read:
    if not kvs:
        return Read(None, 0)
    return Read(kvs[0].value.decode(), kvs[0].mod_revision)


class MalformedResponse(Exception):
    """A response that no correct etcd sends for the request."""


def _execute(client: Client, key: str, request: Input) -> tuple[Output, int]:
    """Send one request; its output and the response header's revision."""
    match request:
        case Put(value):
            put = client.put(key, value)
            return Written(put.header.revision), put.header.revision
        case Get():
            got = client.get(key)
            return _read(got.kvs), got.header.revision
        case Cas(expect, value):
            guard = txn.Value(key).eq(expect) if expect is not None else txn.CreateRevision(key).eq(0)
            done = client.txn([guard], [txn.put(key, value)], [txn.get(key)])
            if len(done.responses) != 1:
                raise MalformedResponse(f"txn on {key} answered {done}".replace("\n", " "))
            if done.succeeded:
                return Written(done.header.revision), done.header.revision
            return _read(done.responses[0].response_range.kvs), done.header.revision
    raise TypeError(request)


class Recorder:
    """The recording clients, running inside `with Recorder(...) as rec:`. The endpoints may
    grow while recording (`add_endpoint`)."""

    def __init__(
        self,
        endpoints: Iterable[str],
        *,
        clients: int = 6,
        keys: int = 3,
        timeout: float = 2.0,
        max_ops: int = 20_000,
        max_seconds: float = 120.0,
        seed: int = 0,
    ) -> None:
        self._endpoints = list(endpoints)
        self.keys = [f"{KEY_PREFIX}k{i}" for i in range(keys)]
        self._timeout = timeout
        self._max_ops = max_ops
        self._deadline = time.monotonic() + max_seconds
        self._seed = seed
        self._lock = threading.Lock()
        self._ops: list[Op] = []
        # Responses no correct server gives, with the request's time and member.
        self.anomalies: list[str] = []
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._work, args=(i,), name=f"history-client-{i}", daemon=True)
            for i in range(clients)
        ]

    def __enter__(self) -> Recorder:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        """Stop recording: every client finishes its request in flight (bounded by the timeout)."""
        self._stop.set()
        for t in self._threads:
            t.join(timeout=self._timeout + 10)
            assert not t.is_alive(), f"{t.name} did not stop"

    def add_endpoint(self, endpoint: str) -> None:
        with self._lock:
            self._endpoints.append(endpoint)

    def history(self) -> list[Op]:
        with self._lock:
            return list(self._ops)

    def acknowledged_writes(self, since: float = -INF, endpoints: Iterable[str] | None = None) -> list[Op]:
        """Writes that succeeded, invoked at or after `since` (through the given members)."""
        allowed = None if endpoints is None else set(endpoints)
        return [
            op
            for op in self.history()
            if isinstance(op.output, Written)
            and op.invoke >= since
            and (allowed is None or op.endpoint in allowed)
        ]

    def wait_for_writes(
        self, n: int, since: float = -INF, endpoints: Iterable[str] | None = None, timeout: float = 20.0
    ) -> None:
        eps = None if endpoints is None else list(endpoints)
        wait_until(
            lambda: len(self.acknowledged_writes(since, eps)) >= n,
            timeout,
            f"{n} acknowledged writes since {since:.3f}",
        )

    def _running(self) -> bool:
        with self._lock:
            full = len(self._ops) >= self._max_ops
        return not (self._stop.is_set() or full or time.monotonic() >= self._deadline)

    def _endpoint(self, turn: int, avoid_until: dict[str, float]) -> str:
        """Round-robin over the members, skipping those that failed this client lately."""
        with self._lock:
            endpoints = list(self._endpoints)
        now = time.monotonic()
        for i in range(len(endpoints)):
            endpoint = endpoints[(turn + i) % len(endpoints)]
            if avoid_until.get(endpoint, 0.0) <= now:
                return endpoint
        return endpoints[turn % len(endpoints)]

    def _work(self, me: int) -> None:
        rng = random.Random(self._seed * 1000 + me)
        clients: dict[str, Client] = {}
        # The value this client last saw per key: what its compare-and-sets expect.
        last_seen: dict[str, str | None] = {}
        # Members that failed this client are left alone for a while (SUSPECT_SECONDS).
        avoid_until: dict[str, float] = {}
        n = 0
        try:
            while self._running():
                endpoint = self._endpoint(me + n, avoid_until)
                client = clients.get(endpoint)
                if client is None:
                    client = clients[endpoint] = Client(endpoint, timeout=self._timeout, dial_timeout=1.0)
                key = rng.choice(self.keys)
                value = f"c{me}-{n}"
                n += 1
                roll = rng.random()
                request: Input = (
                    Put(value) if roll < 0.4 else Get() if roll < 0.75 else Cas(last_seen.get(key), value)
                )
                invoke = time.monotonic()
                try:
                    output, revision = _execute(client, key, request)
                except (EtcdError, MalformedResponse) as err:
                    op = Op(me, key, request, invoke, INF, None, None, endpoint)
                    avoid_until[endpoint] = time.monotonic() + SUSPECT_SECONDS
                    if isinstance(err, MalformedResponse):
                        with self._lock:
                            self.anomalies.append(f"{op.describe()}: {err}")
                else:
                    op = Op(me, key, request, invoke, time.monotonic(), output, revision, endpoint)
                    last_seen[key] = value if isinstance(output, Written) else output.value
                with self._lock:
                    self._ops.append(op)
        finally:
            for c in clients.values():
                c.close()
