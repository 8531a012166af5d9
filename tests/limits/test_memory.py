"""Memory bounds under abuse from clients (the numbers are in tests/limits/README.md).

One etcd-py member per test, default limits (--max-request-bytes 1.5 MiB). Anonymous resident
memory (RssAnon: the heap, not the database's file pages) of the member and of its client-port
child is sampled throughout and must stay under BOUND_MIB each.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import grpc
import pytest

from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.api.pb.etcdserverpb import rpc_pb2_grpc
from tests.limits._memory import MiB, PeakSampler, sampling
from tests.servers import EtcdProcess, running

BOUND_MIB = 400
MAX_REQUEST_BYTES = 1572864
BIG = MAX_REQUEST_BYTES - 4096
OPTIONS = [("grpc.max_send_message_length", 64 << 20), ("grpc.max_receive_message_length", 64 << 20)]


@pytest.fixture
def member(tmp_path: Path) -> Iterator[EtcdProcess]:
    with running("etcdpy", tmp_path) as proc:
        yield proc


def assert_bounded(sampler: PeakSampler) -> None:
    print(sampler.report())
    for name, peak in sampler.peak.items():
        assert peak < BOUND_MIB * MiB, (
            f"{name} peaked at {peak // MiB} MiB (bound {BOUND_MIB} MiB): {sampler.report()}"
        )


def pid(proc: EtcdProcess) -> int:
    assert proc.proc is not None
    return proc.proc.pid


def test_many_large_requests_concurrently(member: EtcdProcess) -> None:
    """16 clients each put 6 values just under --max-request-bytes and read their own back (about
    150 MiB in, 48 MiB out). (A range's response has no bound in etcd either: not tested here.)"""

    def client(i: int) -> None:
        with grpc.insecure_channel(member.endpoint, options=OPTIONS) as ch:
            kv = rpc_pb2_grpc.KVStub(ch)
            for j in range(6):
                kv.Put(pb.PutRequest(key=b"big/%02d/%d" % (i, j % 2), value=bytes([j]) * BIG), timeout=60)
            prefix = b"big/%02d/" % i
            kv.Range(pb.RangeRequest(key=prefix, range_end=prefix[:-1] + b"0"), timeout=60)

    with sampling(pid(member)) as sampler, ThreadPoolExecutor(16) as pool:
        list(pool.map(client, range(16)))
    assert_bounded(sampler)


def test_oversize_requests_refused_without_buffering(member: EtcdProcess) -> None:
    """Requests past --max-request-bytes (gRPC's limit is 512 KiB more): refused, none accepted."""

    def client(i: int) -> list[grpc.StatusCode]:
        codes = []
        with grpc.insecure_channel(member.endpoint, options=OPTIONS) as ch:
            kv = rpc_pb2_grpc.KVStub(ch)
            for size in (MAX_REQUEST_BYTES + 1024, 4 << 20, 16 << 20):
                try:
                    kv.Put(pb.PutRequest(key=b"over/%d" % i, value=b"x" * size), timeout=60)
                except grpc.RpcError as e:
                    codes.append(e.code())
        return codes

    with sampling(pid(member)) as sampler, ThreadPoolExecutor(8) as pool:
        results = list(pool.map(client, range(8)))
    # "etcdserver: request is too large" (INVALID_ARGUMENT) below gRPC's limit, RESOURCE_EXHAUSTED past it.
    want = [
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    ]
    assert all(codes == want for codes in results), results
    assert_bounded(sampler)


def _watch_stream(
    channel: grpc.Channel, creates: list[pb.WatchRequest], stop: threading.Event, read: bool
) -> tuple[object, list[int]]:
    """One Watch stream sending `creates`; counts the events it reads (none if not `read`)."""

    def requests() -> Iterator[pb.WatchRequest]:
        yield from creates
        stop.wait()

    responses = rpc_pb2_grpc.WatchStub(channel).Watch(requests())
    counted = [0, 0]  # created, events

    def consume() -> None:
        try:
            for r in responses:
                counted[0] += r.created
                counted[1] += len(r.events)
        except grpc.RpcError:
            pass

    if read:
        threading.Thread(target=consume, daemon=True).start()
    return responses, counted


def _creates(n: int) -> list[pb.WatchRequest]:
    return [
        pb.WatchRequest(create_request=pb.WatchCreateRequest(key=b"w/", range_end=b"w0")) for _ in range(n)
    ]


def _wait_for(streams: list[tuple[object, list[int]]], field: int, want: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while sum(c[field] for _, c in streams) < want and time.monotonic() < deadline:
        time.sleep(0.1)
    assert sum(c[field] for _, c in streams) == want


def test_many_watches(member: EtcdProcess) -> None:
    """3000 watches on one stream and 200 streams of 10 on 10 connections, all reading; then 40 puts of
    1 KiB under the watched prefix: 200 000 event deliveries."""
    stop = threading.Event()
    channels = [grpc.insecure_channel(member.endpoint, options=OPTIONS) for _ in range(11)]
    try:
        with sampling(pid(member)) as sampler:
            streams = [_watch_stream(channels[0], _creates(3000), stop, read=True)]
            streams += [
                _watch_stream(channels[1 + i % 10], _creates(10), stop, read=True) for i in range(200)
            ]
            _wait_for(streams, 0, 5000, 60)
            kv = rpc_pb2_grpc.KVStub(channels[0])
            for i in range(40):
                kv.Put(pb.PutRequest(key=b"w/%d" % (i % 4), value=bytes([i]) * 1024), timeout=60)
            _wait_for(streams, 1, 40 * 5000, 120)
        assert_bounded(sampler)
    finally:
        stop.set()
        for ch in channels:
            ch.close()


def test_watchers_that_do_not_read(member: EtcdProcess) -> None:
    """10 watch streams (one watch each) whose clients never read, while 60 values of 1 MiB are put
    under the watched prefix: up to 60 MiB of events per stream that the server cannot send. Not a
    bound (neither etcd nor etcd-py caps it: README.md), a measurement kept from growing."""
    stop = threading.Event()
    channels = [grpc.insecure_channel(member.endpoint, options=OPTIONS) for _ in range(11)]
    try:
        with sampling(pid(member)) as sampler:
            idle = [_watch_stream(channels[1 + i], _creates(1), stop, read=False) for i in range(10)]
            kv = rpc_pb2_grpc.KVStub(channels[0])
            for i in range(60):
                kv.Put(pb.PutRequest(key=b"w/%d" % (i % 4), value=bytes([i]) * (1 << 20)), timeout=60)
            assert len(idle) == 10
        assert_bounded(sampler)
    finally:
        stop.set()
        for ch in channels:
            ch.close()
