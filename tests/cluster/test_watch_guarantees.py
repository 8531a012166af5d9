"""Watch on a 3-member etcd-py cluster under concurrent writes (puts, multi-key txns, deletes),
compaction and a leader kill: every watcher's recorded stream is ordered, unique, atomic,
reliable, resumable and has correct prev_kv, holds every acknowledged write, and all watchers
saw the same events."""

from __future__ import annotations

import random
import threading
from collections.abc import Sequence
from pathlib import Path

import grpc

from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.api.pb.etcdserverpb import rpc_pb2_grpc
from tests.cluster._cluster import member_id, running_cluster, wait_leader_among
from tests.cluster._watch_record import WatchRecorder, check_watch
from tests.servers import EtcdProcess, wait_until

PREFIX = b"/w/"
KEYS = [PREFIX + b"k%d" % i for i in range(8)]


class _Writer(threading.Thread):
    """Random puts, txns of two puts and a delete, and deletes, through the given members in turn
    (moving on when one fails). Records the revision and puts of each acknowledged write."""

    def __init__(self, members: Sequence[EtcdProcess], me: int) -> None:
        super().__init__(daemon=True)
        self._members = list(members)
        self._me = me
        self._rng = random.Random(me)
        self._done = threading.Event()
        self.acknowledged: list[tuple[int, list[tuple[bytes, bytes]]]] = []

    def _request(self, n: int) -> tuple[str, object, list[tuple[bytes, bytes]]]:
        rng, value = self._rng, b"w%d-%d" % (self._me, n)
        kind = rng.choice(("put", "put", "txn", "delete"))
        if kind == "put":
            key = rng.choice(KEYS)
            return "Put", pb.PutRequest(key=key, value=value), [(key, value)]
        if kind == "txn":
            a, b, gone = rng.sample(KEYS, 3)
            ops = [pb.RequestOp(request_put=pb.PutRequest(key=a, value=value + b"a")),
                   pb.RequestOp(request_put=pb.PutRequest(key=b, value=value + b"b")),
                   pb.RequestOp(request_delete_range=pb.DeleteRangeRequest(key=gone))]
            return "Txn", pb.TxnRequest(success=ops), [(a, value + b"a"), (b, value + b"b")]
        return "DeleteRange", pb.DeleteRangeRequest(key=rng.choice(KEYS)), []

    def run(self) -> None:
        turn, n = self._me, 0
        while not self._done.is_set():
            member = self._members[turn % len(self._members)]
            method, request, puts = self._request(n)
            n += 1
            try:
                with grpc.insecure_channel(member.endpoint) as ch:
                    resp = getattr(rpc_pb2_grpc.KVStub(ch), method)(request, timeout=5)
            except grpc.RpcError:
                turn += 1  # maybe applied: the watchers may or may not show it
                self._done.wait(0.05)
                continue
            if method != "DeleteRange" or resp.deleted:
                self.acknowledged.append((resp.header.revision, puts))

    def stop(self) -> None:
        self._done.set()
        self.join(timeout=15)


def _compact(member: EtcdProcess, revision: int) -> None:
    with grpc.insecure_channel(member.endpoint) as ch:
        rpc_pb2_grpc.KVStub(ch).Compact(pb.CompactionRequest(revision=revision, physical=True), timeout=10)


def _revision(member: EtcdProcess) -> int:
    with grpc.insecure_channel(member.endpoint) as ch:
        return int(rpc_pb2_grpc.KVStub(ch).Range(pb.RangeRequest(key=PREFIX), timeout=10).header.revision)


def test_watch_guarantees_under_writes_compaction_and_a_leader_kill(tmp_path: Path) -> None:
    with running_cluster("etcdpy", tmp_path, 3) as c:
        leader_id = c.wait_one_leader()
        leader = next(m for m in c.members if member_id(m) == leader_id)
        rest = [m for m in c.members if m is not leader]
        recorders = [WatchRecorder(c.members, i, PREFIX) for i in range(3)]
        writers = [_Writer(rest, i) for i in range(3)]
        for t in (*recorders, *writers):
            t.start()

        def writes() -> int:
            return sum(len(w.acknowledged) for w in writers)

        try:
            wait_until(lambda: writes() >= 150, 60, "150 acknowledged writes")
            _compact(rest[0], min(r.last_revision for r in recorders))
            leader.kill9()
            wait_leader_among(rest, timeout=10, not_id=leader_id)
            after_kill = writes()
            wait_until(lambda: writes() >= after_kill + 150, 60, "150 writes under the new leader")
            _compact(rest[0], min(r.last_revision for r in recorders))
        finally:
            for w in writers:
                w.stop()
        final = _revision(rest[0])
        try:
            wait_until(lambda: all(r.last_revision >= final for r in recorders), 30,
                       f"every watcher to reach revision {final}")
        finally:
            for r in recorders:
                r.stop()

        assert any(r.resumes for r in recorders), "no watcher lost its member: the kill was not covered"
        streams = []
        for r in recorders:
            assert not r.canceled, r.canceled
            problems = check_watch(r.responses)
            assert not problems, "\n".join(problems[:20])
            events = [ev for resp in r.responses for ev in resp]
            put_at = {(ev.revision, ev.key): ev.value for ev in events if ev.is_put}
            for w in writers:
                for revision, puts in w.acknowledged:
                    for key, value in puts:
                        assert put_at.get((revision, key)) == value, (revision, key, value)
            streams.append(events)
        assert streams[0] == streams[1] == streams[2]
        assert streams[0][-1].revision == final
