"""The client port runs in a child process of the member: /metrics through it, and the two
processes living and dying together."""

from __future__ import annotations

import os
import subprocess
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.servers import EtcdProcess, running, wait_until


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]


def _gone(pid: int) -> bool:
    """Exited (a zombie nobody reaped counts as exited)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] == "Z"
    except FileNotFoundError:
        return True


def _client_port_pid(member: EtcdProcess) -> int:
    assert member.proc is not None
    (child,) = _children(member.proc.pid)
    with open(f"/proc/{child}/cmdline", "rb") as f:
        assert b"etcdpy.api.gateway.process" in f.read()
    return child


def test_metrics_served_on_the_client_port(tmp_path: Path) -> None:
    with running("etcdpy", tmp_path) as member:
        with urllib.request.urlopen(f"{member.url}/metrics", timeout=10) as resp:
            assert resp.status == 200
            assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            body = resp.read().decode()
        assert "etcd_server_has_leader 1.0" in body
        assert "etcd_disk_wal_fsync_duration_seconds_bucket" in body
        request = urllib.request.Request(f"{member.url}/metrics", data=b"", method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        assert refused.value.code == 405


def test_client_port_process_dies_with_the_member(tmp_path: Path) -> None:
    member = EtcdProcess("etcdpy", tmp_path / "m.etcd")
    member.start()
    try:
        child = _client_port_pid(member)
        member.kill9()
        wait_until(lambda: _gone(child), 10, "the client port process to exit")
        # The port is free again: a restart on the same data dir and ports serves.
        member.start()
    finally:
        member.stop()


def test_member_exits_when_its_client_port_process_dies(tmp_path: Path) -> None:
    member = EtcdProcess("etcdpy", tmp_path / "m.etcd")
    member.start()
    try:
        os.kill(_client_port_pid(member), 9)
        assert member.proc is not None
        assert member.proc.wait(timeout=20) == 1
        assert "the client port process exited unexpectedly" in member.log_tail()
    finally:
        member.stop()


def test_socket_dirs_of_dead_members_are_removed(tmp_path: Path) -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = Path(tempfile.gettempdir()) / f"etcdpy-{dead.pid}-stale"
    stale.mkdir()
    (stale / "grpc.sock").touch()
    with running("etcdpy", tmp_path):
        assert not stale.exists()
