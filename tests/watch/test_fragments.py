"""Splitting a large event batch for a watcher that asked for fragments, as etcd's sendFragments."""

from __future__ import annotations

from etcdpy.api.pb.etcdserverpb import rpc_pb2
from etcdpy.api.pb.mvccpb.kv_pb2 import Event, KeyValue
from etcdpy.api.v3rpc.watch import fragments


def response(sizes: list[int]) -> rpc_pb2.WatchResponse:
    return rpc_pb2.WatchResponse(
        header=rpc_pb2.ResponseHeader(cluster_id=1, member_id=2, revision=9, raft_term=3),
        watch_id=4,
        events=[
            Event(kv=KeyValue(key=b"k%d" % i, value=b"x" * n, mod_revision=9)) for i, n in enumerate(sizes)
        ],
    )


def split_like_etcd(msg: rpc_pb2.WatchResponse, limit: int) -> list[list[int]]:
    """etcd's loop, transcribed to sizes: add an event; if the part holds more than one and is now
    at the limit or above, take it back out and start the next part."""
    parts: list[list[int]] = []
    idx = 0
    events = list(msg.events)
    while idx < len(events):
        cur = rpc_pb2.WatchResponse()
        cur.CopyFrom(msg)
        del cur.events[:]
        cur.fragment = True
        taken = []
        for i in range(idx, len(events)):
            cur.events.append(events[i])
            if len(cur.events) > 1 and cur.ByteSize() >= limit:
                break
            taken.append(i)
        idx = taken[-1] + 1
        parts.append(taken)
    return parts


def test_small_or_single_event_responses_stay_whole() -> None:
    small = response([10, 10])
    assert fragments(small, 10_000) == [small]
    single = response([50_000])
    assert fragments(single, 100) == [single]


def test_large_responses_split_under_the_limit() -> None:
    for sizes, limit in [
        ([300] * 10, 1000),
        ([100, 900, 50, 2000, 10, 10, 10], 1000),
        ([127, 128, 129] * 20, 700),
    ]:
        msg = response(sizes)
        parts = fragments(msg, limit)
        assert len(parts) > 1
        assert [p.fragment for p in parts] == [True] * (len(parts) - 1) + [False]
        assert [e for p in parts for e in p.events] == list(msg.events)
        for p in parts:
            assert (p.header, p.watch_id) == (msg.header, msg.watch_id)
            assert len(p.events) == 1 or p.ByteSize() < limit
        want = split_like_etcd(msg, limit)
        assert [len(p.events) for p in parts] == [len(w) for w in want]
