"""The member's behaviour on a damaged WAL: a torn tail is repaired, a corrupt middle stops it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import grpc

from etcdpy.api.pb.etcdserverpb import rpc_pb2, rpc_pb2_grpc
from tests.servers import EtcdProcess, wait_until


def _fill(server: EtcdProcess, n: int) -> None:
    with grpc.insecure_channel(server.endpoint) as ch:
        kv = rpc_pb2_grpc.KVStub(ch)
        for i in range(n):
            kv.Put(rpc_pb2.PutRequest(key=f"k{i}".encode(), value=b"v" * 100), timeout=5)


def _segment(server: EtcdProcess) -> Path:
    segs = sorted((server.data_dir / "member" / "wal").glob("*.wal"))
    assert segs
    return segs[-1]


def _used_length(data: bytes) -> int:
    """Bytes before the zero-filled runway at the end of the last segment."""
    return len(data.rstrip(b"\0"))


def test_torn_tail_is_repaired(tmp_path: Path) -> None:
    server = EtcdProcess("etcdpy", tmp_path / "torn.etcd")
    server.start()
    _fill(server, 20)
    server.kill9()
    seg = _segment(server)
    data = seg.read_bytes()
    used = _used_length(data)
    # Tear the last record: drop its final bytes as a crash mid-write would.
    seg.write_bytes(data[: used - 7] + b"\0" * (len(data) - used + 7))
    server.start()
    try:
        with grpc.insecure_channel(server.endpoint) as ch:
            kv = rpc_pb2_grpc.KVStub(ch)
            got = kv.Range(rpc_pb2.RangeRequest(key=b"k", range_end=b"l", count_only=True), timeout=5)
            assert got.count >= 19
            kv.Put(rpc_pb2.PutRequest(key=b"after", value=b"repair"), timeout=5)
    finally:
        server.stop()


def test_corrupt_middle_stops_the_member_and_changes_nothing(tmp_path: Path) -> None:
    server = EtcdProcess("etcdpy", tmp_path / "corrupt.etcd", extra_args=["--snapshot-count", "1000000"])
    server.start()
    _fill(server, 50)
    server.stop()
    seg = _segment(server)
    data = bytearray(seg.read_bytes())
    middle = _used_length(bytes(data)) // 2
    data[middle] ^= 0x5A
    seg.write_bytes(bytes(data))
    # The backend already holds everything; remove it so the member must replay the WAL.
    (server.data_dir / "member" / "snap" / "db").unlink()
    before = {p.name: p.read_bytes() for p in seg.parent.iterdir() if p.is_file()}
    server.start(wait=False)
    assert server.proc is not None
    wait_until(lambda: server.proc is not None and server.proc.poll() is not None, 30, "the member to exit")
    assert server.proc.returncode != 0
    log = server.log_tail(400)
    assert seg.name in log and "offset" in log, log
    after = {p.name: p.read_bytes() for p in seg.parent.iterdir() if p.is_file()}
    assert after == before


def test_bad_flag_exit_code(tmp_path: Path) -> None:
    import sys

    from tests.servers import REPO

    out = subprocess.run([sys.executable, "-m", "etcdpy.cli.etcd", "--no-such-flag"], capture_output=True,
                         text=True, timeout=30, env={"PYTHONPATH": str(REPO / "src")})
    assert out.returncode == 2
    assert out.stderr.startswith("flag provided but not defined: -no-such-flag\n")
