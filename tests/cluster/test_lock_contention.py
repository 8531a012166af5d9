"""Processes of the real etcdctl 3.5.1 contend for one `etcdctl lock` on a 3-member etcd-py
cluster, each through a different member. Inside the lock each runs a critical section that reads
a counter and writes it back with a compare on its mod revision: with mutual exclusion no compare
ever fails, and the sections' revision intervals, in lock order, never overlap."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cluster._cluster import running_cluster
from tests.servers import REPO, reference_etcdctl

pytestmark = pytest.mark.reference

COUNTER = "/lock-test/counter"

# The critical section: read the counter, write it back incremented if nobody wrote it meanwhile.
# Prints "<lock revision> <read revision> <write revision> <ok|conflict>".
SECTION = f"""
import os, grpc
from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb, rpc_pb2_grpc
with grpc.insecure_channel(os.environ["ENDPOINT"]) as ch:
    kv = rpc_pb2_grpc.KVStub(ch)
    got = kv.Range(pb.RangeRequest(key=b"{COUNTER}"), timeout=10)
    mod = got.kvs[0].mod_revision if got.kvs else 0
    value = int(got.kvs[0].value) if got.kvs else 0
    same = pb.Compare(key=b"{COUNTER}", target=pb.Compare.MOD, result=pb.Compare.EQUAL, mod_revision=mod)
    put = pb.RequestOp(request_put=pb.PutRequest(key=b"{COUNTER}", value=b"%d" % (value + 1)))
    done = kv.Txn(pb.TxnRequest(compare=[same], success=[put]), timeout=10)
    print(os.environ["ETCD_LOCK_REV"], got.header.revision, done.header.revision,
          "ok" if done.succeeded else "conflict")
"""


def test_contending_lock_holders_never_overlap(tmp_path: Path) -> None:
    rounds, per_member = 2, 2
    with running_cluster("etcdpy", tmp_path, 3) as c:
        c.wait_one_leader()
        env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
        procs = []
        for _ in range(rounds):
            for m in c.members:
                for _ in range(per_member):
                    procs.append(subprocess.Popen(
                        [reference_etcdctl(), f"--endpoints={m.endpoint}", "lock", "contended", "--",
                         sys.executable, "-c", SECTION],
                        env={**env, "ENDPOINT": m.endpoint}, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        text=True,
                    ))
        sections = []
        try:
            for p in procs:
                out, err = p.communicate(timeout=120)
                assert p.returncode == 0, err
                lock_rev, read_rev, write_rev, verdict = out.split()
                sections.append((int(lock_rev), int(read_rev), int(write_rev), verdict))
        finally:
            for p in procs:
                if p.poll() is None:
                    p.kill()
                    p.wait()
        assert all(v == "ok" for *_, v in sections), sections
        sections.sort()
        for (_, _, prev_write, _), (_, read, _, _) in itertools.pairwise(sections):
            assert read >= prev_write, sections  # the next holder read after the previous one wrote
        got = c.etcdctl("get", COUNTER, "--print-value-only")
        assert got == f"{len(procs)}\n"
