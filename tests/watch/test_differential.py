"""Watch, Lock and Election of etcd-py against reference etcd 3.5.1: the same scenario on a fresh
member of each, compared response by response (member IDs cleared, lease IDs named).

Scenarios wait for what they can observe (a response, a key) rather than for time, so that both
servers see requests in the same order.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import queue
import re
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.api.pb.etcdserverpb import rpc_pb2_grpc
from etcdpy.api.pb.v3electionpb import v3election_pb2 as epb
from etcdpy.api.pb.v3electionpb import v3election_pb2_grpc
from etcdpy.api.pb.v3lockpb import v3lock_pb2 as lpb
from etcdpy.api.pb.v3lockpb import v3lock_pb2_grpc
from tests.servers import EtcdProcess, reference_etcdctl, wait_until
from tests.watch._client import WatchClient, text

pytestmark = pytest.mark.reference

KINDS = ("etcdpy", "reference")
NOPUT = pb.WatchCreateRequest.NOPUT
Scenario = Callable[[EtcdProcess, grpc.Channel], list[str]]


def on_both(tmp_path: Path, scenario: Scenario, extra_args: tuple[str, ...] = ()) -> list[str]:
    """Run `scenario` against a fresh member of each kind (started together); their outputs must agree."""
    procs = {
        kind: EtcdProcess(kind, tmp_path / f"{kind}.etcd", extra_args=list(extra_args)) for kind in KINDS
    }
    results: dict[str, list[str]] = {}
    try:
        for p in procs.values():
            p.start(wait=False)
        for p in procs.values():
            p.wait_ready()
        for kind, p in procs.items():
            with grpc.insecure_channel(p.endpoint) as ch:
                results[kind] = scenario(p, ch)
    finally:
        for p in procs.values():
            p.stop()
    assert results["etcdpy"] == results["reference"], "\n".join(
        f"{kind}:\n  " + "\n  ".join(out) for kind, out in results.items()
    )
    return results["etcdpy"]


def lines(tag: str, msgs: list[Any], ids: dict[int, str] | None = None) -> list[str]:
    return [f"{tag}: {text(m, ids)}" for m in msgs]


def outcome(tag: str, call: Callable[[], Any], ids: dict[int, str] | None = None) -> str:
    try:
        return f"{tag}: {text(call(), ids)}"
    except grpc.RpcError as e:
        return f"{tag}: {e.code().name} {e.details()}"


def test_history_ids_ranges_cancel_progress(tmp_path: Path) -> None:
    def scenario(p: EtcdProcess, ch: grpc.Channel) -> list[str]:
        kv = rpc_pb2_grpc.KVStub(ch)
        for i in range(5):
            kv.Put(pb.PutRequest(key=b"k%d" % i, value=b"v"))
        kv.Put(pb.PutRequest(key=b"k1", value=b"v2"))
        kv.DeleteRange(pb.DeleteRangeRequest(key=b"k2"))
        w = WatchClient(ch)
        out: list[str] = []
        try:
            steps: list[tuple[str, Callable[[], object]]] = [
                ("history", lambda: w.create(b"k", range_end=b"l", start_revision=2)),
                ("history prev_kv", lambda: w.create(b"k", range_end=b"l", start_revision=2, prev_kv=True)),
                ("negative start", lambda: w.create(b"k", range_end=b"l", start_revision=-1)),
                ("chosen id", lambda: w.create(b"k", range_end=b"l", watch_id=7)),
                ("auto id after", lambda: w.create(b"k", range_end=b"l")),
                ("duplicate id", lambda: w.create(b"zz", watch_id=7)),
                ("id -1", lambda: w.create(b"zz", watch_id=-1)),
                ("empty range", lambda: w.create(b"z", range_end=b"a")),
                ("equal range", lambda: w.create(b"z", range_end=b"z")),
                ("cancel unknown", lambda: w.cancel(99)),
                ("cancel", lambda: w.cancel(7)),
                ("progress", w.progress),
                ("empty key from-key", lambda: w.create(b"", range_end=b"\0")),
                ("future start", lambda: w.create(b"k", range_end=b"l", start_revision=100)),
                ("put k1", lambda: kv.Put(pb.PutRequest(key=b"k1", value=b"v3"))),
                ("delete range", lambda: kv.DeleteRange(pb.DeleteRangeRequest(key=b"k", range_end=b"l"))),
                (
                    "txn",
                    lambda: kv.Txn(
                        pb.TxnRequest(
                            success=[
                                pb.RequestOp(request_put=pb.PutRequest(key=b"k7", value=b"a")),
                                pb.RequestOp(request_put=pb.PutRequest(key=b"k8", value=b"b")),
                            ]
                        )
                    ),
                ),
            ]
            for tag, step in steps:
                step()
                # Responses of several watchers to one write may come in either order.
                out.extend(sorted(lines(tag, w.drain())))
        finally:
            w.close()
        return out

    on_both(tmp_path, scenario)


def test_compaction_filters_half_close(tmp_path: Path) -> None:
    def scenario(p: EtcdProcess, ch: grpc.Channel) -> list[str]:
        kv = rpc_pb2_grpc.KVStub(ch)
        w, w2 = WatchClient(ch), WatchClient(ch)
        out: list[str] = []
        try:
            first = kv.Put(pb.PutRequest(key=b"a", value=b"1")).header.revision
            kv.Put(pb.PutRequest(key=b"a", value=b"2"))
            kv.Compact(pb.CompactionRequest(revision=first + 1))
            w.create(b"a", start_revision=first)
            out += lines("compacted start", w.drain())
            w.create(b"a", start_revision=first + 1, prev_kv=True)
            out += lines("start at compaction", w.drain())
            w.create(b"a", start_revision=-3)
            out += lines("negative start after compaction", w.drain())
            w.cancel(0)
            out += lines("cancel compacted", w.drain())
            w.create(b"b", filters=[NOPUT], prev_kv=True)
            w.drain()
            kv.Put(pb.PutRequest(key=b"b", value=b"1"))
            kv.DeleteRange(pb.DeleteRangeRequest(key=b"b"))
            out += lines("noput", w.drain())
            w2.create(b"c")
            out += lines("c", w2.drain())
            w2.close_send()
            kv.Put(pb.PutRequest(key=b"c", value=b"1"))
            out += lines("after half-close", w2.drain())
        finally:
            w.close()
            w2.close()
        return out

    on_both(tmp_path, scenario)


def test_fragments(tmp_path: Path) -> None:
    big = b"x" * 700_000

    def scenario(p: EtcdProcess, ch: grpc.Channel) -> list[str]:
        kv = rpc_pb2_grpc.KVStub(ch)
        for i in range(4):
            kv.Put(pb.PutRequest(key=b"f%d" % i, value=big))
        w = WatchClient(ch)
        out: list[str] = []

        def shape(tag: str, resps: list[pb.WatchResponse]) -> list[str]:
            return [
                f"{tag}: id={r.watch_id} rev={r.header.revision} created={r.created} fragment={r.fragment} "
                f"events={[(e.type, e.kv.key, len(e.kv.value), len(e.prev_kv.value)) for e in r.events]}"
                for r in resps
            ]

        try:
            w.create(b"f", range_end=b"g", start_revision=1, fragment=True)
            out += shape("history fragmented", w.drain(1.0))
            w.create(b"f", range_end=b"g", start_revision=1)
            out += shape("history whole", w.drain(1.0))
            w.cancel(1)
            w.drain()
            w.create(b"f", range_end=b"g", prev_kv=True, fragment=True)
            w.drain()
            kv.DeleteRange(pb.DeleteRangeRequest(key=b"f", range_end=b"g"))
            # Both watchers get the deletes, in either order; each one's fragments stay in order.
            out += sorted(shape("deletes fragmented", w.drain(1.0)), key=lambda line: line.split()[2])
        finally:
            w.close()
        return out

    assert any("fragment=True" in line for line in on_both(tmp_path, scenario))


def test_lock_and_election_unary(tmp_path: Path) -> None:
    def scenario(p: EtcdProcess, ch: grpc.Channel) -> list[str]:
        locks, elections = v3lock_pb2_grpc.LockStub(ch), v3election_pb2_grpc.ElectionStub(ch)
        leases = rpc_pb2_grpc.LeaseStub(ch)
        lease = leases.LeaseGrant(pb.LeaseGrantRequest(TTL=30)).ID
        ids = {lease: "L1"}
        out = []

        def call(tag: str, fn: Callable[..., Any], req: Any) -> Any:
            try:
                resp = fn(req, timeout=5)
            except grpc.RpcError as e:
                out.append(f"{tag}: {e.code().name} {e.details()}")
                return None
            out.append(f"{tag}: {text(resp, ids)}")
            return resp

        held = call("lock", locks.Lock, lpb.LockRequest(name=b"l", lease=lease))
        call("lock again", locks.Lock, lpb.LockRequest(name=b"l", lease=lease))
        call("lock unknown lease", locks.Lock, lpb.LockRequest(name=b"l", lease=12345))
        call("lock empty name", locks.Lock, lpb.LockRequest(name=b"", lease=lease))
        call("unlock", locks.Unlock, lpb.UnlockRequest(key=held.key))
        call("unlock again", locks.Unlock, lpb.UnlockRequest(key=held.key))
        call("unlock no key", locks.Unlock, lpb.UnlockRequest())
        call("leader of none", elections.Leader, epb.LeaderRequest(name=b"e"))
        c = call("campaign", elections.Campaign, epb.CampaignRequest(name=b"e", lease=lease, value=b"v1"))
        call("campaign again", elections.Campaign, epb.CampaignRequest(name=b"e", lease=lease, value=b"v2"))
        call("leader", elections.Leader, epb.LeaderRequest(name=b"e"))
        call("proclaim", elections.Proclaim, epb.ProclaimRequest(leader=c.leader, value=b"v3"))
        call("proclaim no leader", elections.Proclaim, epb.ProclaimRequest(value=b"x"))
        stale = epb.LeaderKey()
        stale.CopyFrom(c.leader)
        stale.rev = 1
        call("proclaim stale", elections.Proclaim, epb.ProclaimRequest(leader=stale, value=b"x"))
        call(
            "proclaim no key",
            elections.Proclaim,
            epb.ProclaimRequest(leader=epb.LeaderKey(name=b"e", lease=lease)),
        )
        call("resign stale", elections.Resign, epb.ResignRequest(leader=stale))
        call("resign no leader", elections.Resign, epb.ResignRequest())
        call(
            "campaign unknown lease",
            elections.Campaign,
            epb.CampaignRequest(name=b"e", lease=999, value=b"v"),
        )
        call("resign", elections.Resign, epb.ResignRequest(leader=c.leader))
        call("resign again", elections.Resign, epb.ResignRequest(leader=c.leader))
        call("leader after", elections.Leader, epb.LeaderRequest(name=b"e"))
        call("proclaim after", elections.Proclaim, epb.ProclaimRequest(leader=c.leader, value=b"v"))
        return out

    on_both(tmp_path, scenario)


def test_contention_observe_and_lease_loss(tmp_path: Path) -> None:
    def scenario(p: EtcdProcess, ch: grpc.Channel) -> list[str]:
        locks, elections = v3lock_pb2_grpc.LockStub(ch), v3election_pb2_grpc.ElectionStub(ch)
        leases, kv = rpc_pb2_grpc.LeaseStub(ch), rpc_pb2_grpc.KVStub(ch)
        grant = [leases.LeaseGrant(pb.LeaseGrantRequest(TTL=30)).ID for _ in range(4)]
        ids = {lease: f"L{i}" for i, lease in enumerate(grant)}
        observed: queue.Queue[str] = queue.Queue()
        observe_call = elections.Observe(epb.LeaderRequest(name=b"ob"))

        def observe() -> None:
            try:
                for r in observe_call:
                    observed.put(text(r, ids))
            except grpc.RpcError as e:
                observed.put(e.code().name)

        def exists(key: bytes) -> bool:
            return bool(kv.Range(pb.RangeRequest(key=key)).kvs)

        def key(prefix: bytes, lease: int) -> bytes:
            return prefix + f"{lease:x}".encode()

        def in_background(fn: Callable[[], Any]) -> tuple[threading.Thread, list[Any]]:
            box: list[Any] = []
            t = threading.Thread(target=lambda: box.append(outcome("", fn, ids)))
            t.start()
            return t, box

        out = []
        c0 = elections.Campaign(epb.CampaignRequest(name=b"ob", lease=grant[0], value=b"a"), timeout=5)
        reader = threading.Thread(target=observe, daemon=True)
        reader.start()
        try:
            seen = [observed.get(timeout=5)]  # the stream is open: the rest comes in order
            waiting, result = in_background(
                lambda: elections.Campaign(
                    epb.CampaignRequest(name=b"ob", lease=grant[1], value=b"b"), timeout=10
                )
            )
            wait_until(lambda: exists(key(b"ob/", grant[1])), 5, "second candidate")
            out.append(f"second still waiting: {not result}")
            elections.Proclaim(epb.ProclaimRequest(leader=c0.leader, value=b"a2"), timeout=5)
            elections.Resign(epb.ResignRequest(leader=c0.leader), timeout=5)
            waiting.join(10)
            out.append(f"second campaign{result[0]}")
            leases.LeaseRevoke(pb.LeaseRevokeRequest(ID=grant[1]))  # the leader's lease ends
            elections.Campaign(epb.CampaignRequest(name=b"ob", lease=grant[0], value=b"c"), timeout=5)
            deadline = time.monotonic() + 10
            while len(seen) < 4 and time.monotonic() < deadline:
                with contextlib.suppress(queue.Empty):
                    seen.append(observed.get(timeout=0.5))
            out += [f"observed: {s}" for s in seen]

            locks.Lock(lpb.LockRequest(name=b"lk", lease=grant[2]), timeout=5)
            waiting, result = in_background(
                lambda: locks.Lock(lpb.LockRequest(name=b"lk", lease=grant[3]), timeout=10)
            )
            wait_until(lambda: exists(key(b"lk/", grant[3])), 5, "second locker")
            out.append(f"second locker waiting: {not result}")
            leases.LeaseRevoke(pb.LeaseRevokeRequest(ID=grant[2]))  # the holder's lease ends
            waiting.join(10)
            out.append(f"second lock{result[0]}")
            timed_out = outcome(
                "", lambda: locks.Lock(lpb.LockRequest(name=b"lk", lease=grant[0]), timeout=0.5), ids
            )
            # etcd's server may answer first, with its own error, or the client's deadline may fire.
            assert timed_out in (
                ": DEADLINE_EXCEEDED Deadline Exceeded",
                ": UNKNOWN context deadline exceeded",
            )
            wait_until(lambda: not exists(key(b"lk/", grant[0])), 5, "the timed-out lock key to go")
            out.append(f"revision after: {kv.Range(pb.RangeRequest(key=b'x')).header.revision}")
        finally:
            observe_call.cancel()  # type: ignore[no-untyped-call]
            reader.join(5)
        return out

    on_both(tmp_path, scenario)


def _gateway(port: int, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        resp = conn.getresponse()
        return resp.status, _no_ids(json.loads(resp.read()))
    finally:
        conn.close()


def _no_ids(doc: Any) -> Any:
    if isinstance(doc, dict):
        return {k: ("ID" if k in ("cluster_id", "member_id") else _no_ids(v)) for k, v in doc.items()}
    if isinstance(doc, list):
        return [_no_ids(v) for v in doc]
    return doc


def _stream_lines(port: int, path: str, body: dict[str, Any], n: int, then: Callable[[], Any]) -> list[Any]:
    """The first n JSON lines of a streaming gateway response; `then` runs once the stream is open."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", path, json.dumps(body))
        resp = conn.getresponse()
        out = [_no_ids(json.loads(resp.readline()))]
        then()
        while len(out) < n:
            line = resp.readline()
            if line.strip():
                out.append(_no_ids(json.loads(line)))
        return out
    finally:
        conn.close()


def test_gateway_paths(tmp_path: Path) -> None:
    def scenario(p: EtcdProcess, ch: grpc.Channel) -> list[str]:
        kv = rpc_pb2_grpc.KVStub(ch)
        lease = rpc_pb2_grpc.LeaseStub(ch).LeaseGrant(pb.LeaseGrantRequest(TTL=30)).ID
        hexed = f"{lease:x}"
        name = "bG9jaw=="  # "lock"
        results: list[Any] = [
            _gateway(p.client_port, "/v3/lock/lock", {"name": name, "lease": str(lease)}),
            _gateway(p.client_port, "/v3/lock/lock", {"name": name, "lease": "1"}),
            _gateway(p.client_port, "/v3/lock/unlock", {"key": ""}),
            _gateway(p.client_port, "/v3/election/leader", {"name": name}),
            _gateway(
                p.client_port, "/v3/election/campaign", {"name": name, "lease": str(lease), "value": "dg=="}
            ),
            _gateway(p.client_port, "/v3/election/leader", {"name": name}),
            _gateway(p.client_port, "/v3/election/proclaim", {"value": "dg=="}),
            _gateway(
                p.client_port, "/v3/election/resign", {"leader": {"name": name, "key": "eA==", "rev": "1"}}
            ),
        ]
        results.append(
            _stream_lines(
                p.client_port,
                "/v3/watch",
                {"create_request": {"key": "dw==", "prev_kv": True}},
                3,
                lambda: (
                    kv.Put(pb.PutRequest(key=b"w", value=b"1")),
                    kv.Put(pb.PutRequest(key=b"w", value=b"2")),
                ),
            )
        )
        results.append(
            _stream_lines(
                p.client_port,
                "/v3/election/observe",
                {"name": name},
                2,
                lambda: kv.Put(pb.PutRequest(key=b"lock/" + hexed.encode(), value=b"new", lease=lease)),
            )
        )
        text_out = json.dumps(results, sort_keys=True)
        for form in (str(lease), hexed, base64.b64encode(b"lock/" + hexed.encode()).decode()):
            text_out = text_out.replace(form, "LEASE")
        return [text_out]

    on_both(tmp_path, scenario)


def _etcdctl(p: EtcdProcess, *args: str) -> str:
    """etcdctl 3.5.1 (etcd's own Go client) against `p`: its output and exit code."""
    done = subprocess.run(
        [reference_etcdctl(), f"--endpoints={p.endpoint}", *args], capture_output=True, text=True, timeout=20
    )
    return f"{done.stdout}{done.stderr}rc={done.returncode}"


@contextlib.contextmanager
def _etcdctl_running(p: EtcdProcess, *args: str) -> Iterator[Callable[[int], list[str]]]:
    """etcdctl 3.5.1 running a command that does not end by itself; yields `lines(n)`, the next n
    lines it prints (fewer if it stays silent for 10 s). The process is killed on exit."""
    proc = subprocess.Popen(
        [reference_etcdctl(), f"--endpoints={p.endpoint}", *args], stdout=subprocess.PIPE, text=True
    )
    printed: queue.Queue[str] = queue.Queue()
    assert proc.stdout is not None

    def read() -> None:
        for line in proc.stdout or ():
            printed.put(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()

    def lines(n: int) -> list[str]:
        out: list[str] = []
        with contextlib.suppress(queue.Empty):
            while len(out) < n:
                out.append(printed.get(timeout=10))
        return out

    try:
        yield lines
    finally:
        proc.kill()
        proc.wait(10)
        reader.join(5)


def test_etcdctl_watch_lock_elect(tmp_path: Path) -> None:
    def scenario(p: EtcdProcess, ch: grpc.Channel) -> list[str]:
        kv = rpc_pb2_grpc.KVStub(ch)
        kv.Put(pb.PutRequest(key=b"foo", value=b"1"))
        kv.Put(pb.PutRequest(key=b"foo", value=b"2"))
        kv.DeleteRange(pb.DeleteRangeRequest(key=b"foo"))
        with _etcdctl_running(p, "watch", "--rev=1", "--prev-kv", "foo") as watch:
            out = watch(13)
        out.append(_etcdctl(p, "lock", "mylock", "--", "echo", "locked"))
        with _etcdctl_running(p, "elect", "-l", "myel") as observer:
            with _etcdctl_running(p, "elect", "myel", "proposal") as candidate:
                out += candidate(2)
            out += observer(2)
        kv.Compact(pb.CompactionRequest(revision=3))
        out.append(_etcdctl(p, "watch", "--rev=2", "foo"))
        return [re.sub(r"myel/[0-9a-f]+", "myel/LEASE", line) for line in out]

    on_both(tmp_path, scenario)
