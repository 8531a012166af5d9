"""Snapshot save (real etcdctl 3.5.1), etcdutl status/restore, and defrag against etcd-py."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import grpc
import pytest

from etcdpy.api.pb.etcdserverpb import rpc_pb2, rpc_pb2_grpc
from tests.servers import REPO, EtcdProcess, reference_etcdctl

pytestmark = pytest.mark.reference


def etcdctl(ep: EtcdProcess, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([reference_etcdctl(), f"--endpoints={ep.endpoint}", *args],
                          capture_output=True, text=True, timeout=60)


def etcdutl(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "etcdpy.cli.etcdutl.main", *args], capture_output=True,
                          text=True, timeout=60, cwd=cwd, env={"PYTHONPATH": str(REPO / "src")})


def _status(ep: EtcdProcess) -> rpc_pb2.StatusResponse:
    with grpc.insecure_channel(ep.endpoint) as ch:
        return rpc_pb2_grpc.MaintenanceStub(ch).Status(rpc_pb2.StatusRequest(), timeout=5)


def test_snapshot_save_status_restore(tmp_path: Path) -> None:
    src = EtcdProcess("etcdpy", tmp_path / "src.etcd")
    src.start()
    try:
        for i in range(50):
            assert etcdctl(src, "put", f"k{i:03d}", f"v{i}").returncode == 0
        snap = tmp_path / "snap.db"
        out = etcdctl(src, "snapshot", "save", str(snap))
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == f"Snapshot saved at {snap}"
        rev = _status(src).header.revision
    finally:
        src.stop()

    st = etcdutl("snapshot", "status", str(snap), "-w", "json", cwd=tmp_path)
    assert st.returncode == 0, st.stderr
    status = json.loads(st.stdout)
    assert status["revision"] == rev == 51
    assert status["totalSize"] == snap.stat().st_size

    restored = tmp_path / "restored.etcd"
    dst = EtcdProcess("etcdpy", restored)
    peer = f"http://127.0.0.1:{dst.peer_port}"
    out = etcdutl("snapshot", "restore", str(snap), "--data-dir", str(restored),
                  "--initial-cluster", f"default={peer}", "--initial-advertise-peer-urls", peer, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    again = etcdutl("snapshot", "restore", str(snap), "--data-dir", str(restored), cwd=tmp_path)
    assert again.returncode == 1
    assert again.stderr.strip().endswith(f'Error: data-dir "{restored}" not empty or could not be read')
    dst.start()
    try:
        got = etcdctl(dst, "get", "k", "--prefix", "--keys-only")
        assert got.stdout.split() == [f"k{i:03d}" for i in range(50)]
        assert _status(dst).header.revision == rev
        assert etcdctl(dst, "put", "after", "restore").returncode == 0
        assert _status(dst).header.revision == rev + 1
    finally:
        dst.stop()


def test_snapshot_restore_rejects_bad_hash(tmp_path: Path, etcdpy_server: EtcdProcess) -> None:
    snap = tmp_path / "s.db"
    assert etcdctl(etcdpy_server, "snapshot", "save", str(snap)).returncode == 0
    data = bytearray(snap.read_bytes())
    data[100] ^= 0xFF
    snap.write_bytes(bytes(data))
    out = etcdutl("snapshot", "restore", str(snap), "--data-dir", str(tmp_path / "x.etcd"), cwd=tmp_path)
    assert out.returncode == 1 and "Error: expected sha256" in out.stderr
    assert not (tmp_path / "x.etcd").exists()


def test_defrag_shrinks_the_db(etcdpy_server: EtcdProcess) -> None:
    big = "x" * 100_000
    with grpc.insecure_channel(etcdpy_server.endpoint) as ch:
        kv = rpc_pb2_grpc.KVStub(ch)
        for i in range(200):
            kv.Put(rpc_pb2.PutRequest(key=f"big/{i}".encode(), value=big.encode()), timeout=10)
        resp = kv.DeleteRange(rpc_pb2.DeleteRangeRequest(key=b"big/", range_end=b"big0"), timeout=10)
        kv.Compact(rpc_pb2.CompactionRequest(revision=resp.header.revision, physical=True), timeout=30)
    before = _status(etcdpy_server)
    out = etcdctl(etcdpy_server, "defrag")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"Finished defragmenting etcd member[{etcdpy_server.endpoint}]"
    after = _status(etcdpy_server)
    assert after.dbSize < before.dbSize / 4, (before.dbSize, after.dbSize)
    assert after.dbSizeInUse <= after.dbSize
