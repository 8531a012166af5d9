"""kill -9 under concurrent writes loses no acknowledged write.

Writers put unique keys and record each acknowledged (key, value, revision).
The server is SIGKILLed at a random moment, restarted on the same data dir,
and every acknowledged write must be there, at the revision it was
acknowledged with. Repeated over several rounds on one data dir.
"""

from __future__ import annotations

import os
import random
import threading
import time
from pathlib import Path

import grpc
import pytest

from etcdpy.api.pb.etcdserverpb import rpc_pb2, rpc_pb2_grpc
from tests.servers import EtcdProcess

ROUNDS = int(os.environ.get("ETCDPY_CRASH_ROUNDS", "5"))
WRITERS = 8


def _writer(endpoint: str, wid: int, rnd: int, acked: list[tuple[bytes, bytes, int]],
            stop: threading.Event) -> None:
    with grpc.insecure_channel(endpoint) as ch:
        kv = rpc_pb2_grpc.KVStub(ch)
        seq = 0
        while not stop.is_set():
            key = f"crash/{rnd}/{wid}/{seq}".encode()
            value = os.urandom(16).hex().encode()
            try:
                resp = kv.Put(rpc_pb2.PutRequest(key=key, value=value), timeout=2)
            except grpc.RpcError:
                return
            acked.append((key, value, resp.header.revision))
            seq += 1


@pytest.mark.slow
def test_kill9_loses_no_acknowledged_write(tmp_path: Path) -> None:
    rng = random.Random(int(os.environ.get("ETCDPY_CRASH_SEED", "7")))
    server = EtcdProcess("etcdpy", tmp_path / "crash.etcd")
    server.start()
    all_acked: list[tuple[bytes, bytes, int]] = []
    try:
        for rnd in range(ROUNDS):
            acked: list[tuple[bytes, bytes, int]] = []
            stop = threading.Event()
            threads = [threading.Thread(target=_writer, args=(server.endpoint, w, rnd, acked, stop))
                       for w in range(WRITERS)]
            for t in threads:
                t.start()
            deadline = time.monotonic() + 10
            target = rng.randint(20, 400)
            while len(acked) < target and time.monotonic() < deadline:
                time.sleep(0.005)
            time.sleep(rng.random() * 0.05)
            server.kill9()
            stop.set()
            for t in threads:
                t.join(timeout=10)
            assert acked, "no write was acknowledged before the kill"
            all_acked.extend(acked)
            server.start()
            with grpc.insecure_channel(server.endpoint) as ch:
                kv = rpc_pb2_grpc.KVStub(ch)
                revs = [r for _, _, r in all_acked]
                assert len(set(revs)) == len(revs), "two acknowledged puts share a revision"
                for key, value, rev in all_acked:
                    got = kv.Range(rpc_pb2.RangeRequest(key=key), timeout=5)
                    assert got.kvs, f"round {rnd}: acknowledged key {key!r} is lost"
                    assert got.kvs[0].value == value
                    assert got.kvs[0].mod_revision == rev
                    assert got.header.revision >= max(revs)
    finally:
        server.stop()
