"""After the faults: the history is linearizable, and every member holds the same data,
including every acknowledged write at the revision it was acknowledged with."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence

import grpc

from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.api.pb.etcdserverpb import rpc_pb2_grpc
from etcdpy.client import Client, EtcdError, prefix_end
from tests.cluster._cluster import Cluster
from tests.cluster._history import KEY_PREFIX
from tests.cluster._linearizability import Op, Written, check_history, check_revision_order, written_value
from tests.servers import EtcdProcess, wait_until

# (key, value, mod_revision) of each put event, in revision order.
Events = list[tuple[str, str, int]]


def assert_linearizable(history: Sequence[Op]) -> None:
    violations = check_history(history)
    assert not violations, "\n\n".join(v.describe() for v in violations)
    disorder = check_revision_order(history)
    assert not disorder, "revisions against real time:\n" + "\n".join(
        f"  {a.describe()} (header revision {a.revision})\n  before {b.describe()} (header revision "
        f"{b.revision})"
        for a, b in disorder[:10]
    )


def _revision(member: EtcdProcess) -> int | None:
    try:
        with Client(member.endpoint, timeout=1.0) as c:
            return c.get(KEY_PREFIX, serializable=True, count_only=True).header.revision
    except EtcdError:
        return None


def wait_same_revision(members: Sequence[EtcdProcess], timeout: float = 30.0) -> int:
    """Poll until every member has applied up to the same revision (no writes are running); it."""
    seen: list[int] = []

    def same() -> bool:
        revisions = {_revision(m) for m in members}
        if len(revisions) == 1 and None not in revisions:
            seen[:] = [r for r in revisions if r is not None]
            return True
        return False

    wait_until(same, timeout, "every member to reach the same revision", interval=0.1)
    return seen[0]


def _contents(member: EtcdProcess) -> list[tuple[str, str, int, int, int]]:
    """(key, value, create_revision, mod_revision, version) of every recorded key, served locally."""
    with Client(member.endpoint, timeout=5.0) as c:
        got = c.get(KEY_PREFIX, prefix=True, serializable=True)
    return [
        (kv.key.decode(), kv.value.decode(), kv.create_revision, kv.mod_revision, kv.version)
        for kv in got.kvs
    ]


def _requests(first: pb.WatchRequest, done: threading.Event) -> Iterator[pb.WatchRequest]:
    """The request stream of a watch: open until `done`, so the server keeps the watch."""
    yield first
    done.wait()


def member_events(member: EtcdProcess, last_revision: int, timeout: float = 30.0) -> Events:
    """The member's own record (served locally by its watch) of every put under the recorded prefix,
    from revision 1 up to `last_revision`."""
    events: Events = []
    if last_revision == 0:
        return events
    key = KEY_PREFIX.encode()
    create = pb.WatchCreateRequest(key=key, range_end=prefix_end(key), start_revision=1)
    done = threading.Event()
    with grpc.insecure_channel(member.endpoint) as ch:
        stream = rpc_pb2_grpc.WatchStub(ch).Watch(
            _requests(pb.WatchRequest(create_request=create), done), timeout=timeout
        )
        try:
            for resp in stream:
                assert not resp.canceled, resp.cancel_reason
                for ev in resp.events:
                    assert ev.type == ev.PUT, ev  # the recorder never deletes
                    events.append((ev.kv.key.decode(), ev.kv.value.decode(), ev.kv.mod_revision))
                if events and events[-1][2] >= last_revision:
                    break
        finally:
            done.set()
            stream.cancel()  # type: ignore[no-untyped-call]
    return events


def assert_members_agree(cluster: Cluster, members: Sequence[EtcdProcess], history: Sequence[Op]) -> None:
    """Every member ends with the same keys, the same history of puts, every acknowledged write
    at its acknowledged revision, and the same HashKV."""
    wait_same_revision(members)
    contents = {m.name: _contents(m) for m in members}
    assert len({repr(c) for c in contents.values()}) == 1, contents
    last = max((mod for _, _, _, mod, _ in next(iter(contents.values()))), default=0)
    first_events: Events | None = None
    for m in members:
        events = member_events(m, last)
        if first_events is None:
            first_events = events
        assert events == first_events, f"{m.name} has another history of puts than {members[0].name}"
        put_at = {(key, rev): value for key, value, rev in events}
        for op in history:
            if isinstance(op.output, Written):
                got = put_at.get((op.key, op.output.revision))
                assert got == written_value(op), f"{m.name} lacks acknowledged {op.describe()}: {got}"
    eps = ",".join(m.endpoint for m in members)
    listed = cluster.etcdctl("endpoint", "hashkv", endpoints=eps).splitlines()
    hashes = {line.split(", ")[1] for line in listed}
    assert len(hashes) == 1, hashes
