"""The `etcd` command as a user runs it: version, help, env vars, config file, log outputs, restart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import cast

import grpc

from etcdpy.api.pb.etcdserverpb import rpc_pb2, rpc_pb2_grpc
from tests.servers import REPO, EtcdProcess, free_port, wait_until

ENV = {**os.environ, "PYTHONPATH": str(REPO / "src")}


def _etcd(*args: str, **kw: object) -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "etcdpy.cli.etcd", *args], capture_output=True,  # type: ignore[call-overload]
                          text=True, timeout=30, env=ENV, **kw)
    return cast("subprocess.CompletedProcess[str]", done)


def test_version_and_help() -> None:
    out = _etcd("--version")
    assert out.returncode == 0
    assert out.stdout.splitlines()[0] == "etcd Version: 3.5.1"
    helped = _etcd("--help")
    assert helped.returncode == 0
    for flag in ("--name 'default'", "--data-dir '${name}.etcd'", "--max-request-bytes '1572864'",
                 "--initial-cluster-state 'new'", "--log-outputs 'default'"):
        assert flag in helped.stdout


def _serve(
    tmp: Path, args: list[str], env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], int]:
    client, peer = free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "etcdpy.cli.etcd", *args], cwd=tmp, env={**ENV, **(env or {}),
        "ETCD_LISTEN_CLIENT_URLS": f"http://127.0.0.1:{client}",
        "ETCD_ADVERTISE_CLIENT_URLS": f"http://127.0.0.1:{client}",
        "ETCD_LISTEN_PEER_URLS": f"http://127.0.0.1:{peer}"},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def ready() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(proc.stderr.read() if proc.stderr else "exited")
        try:
            with grpc.insecure_channel(f"127.0.0.1:{client}") as ch:
                rpc_pb2_grpc.MaintenanceStub(ch).Status(rpc_pb2.StatusRequest(), timeout=0.5)
            return True
        except grpc.RpcError:
            return False

    wait_until(ready, 30, "etcd to serve")
    return proc, client


def _stop(proc: subprocess.Popen[str]) -> str:
    proc.terminate()
    _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    return err


def test_defaults_env_and_json_logs(tmp_path: Path) -> None:
    proc, port = _serve(tmp_path, [], env={"ETCD_NAME": "default"})
    try:
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            rpc_pb2_grpc.KVStub(ch).Put(rpc_pb2.PutRequest(key=b"k", value=b"v"), timeout=5)
            members = rpc_pb2_grpc.ClusterStub(ch).MemberList(rpc_pb2.MemberListRequest(), timeout=5)
        assert f"{members.members[0].ID:x}" == "8e9e05c52164694d"
        assert f"{members.header.cluster_id:x}" == "cdf818194e3a8c32"
    finally:
        err = _stop(proc)
    assert (tmp_path / "default.etcd" / "member" / "wal").is_dir()
    lines = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert lines and all({"level", "ts", "caller", "msg"} <= line.keys() for line in lines)
    assert any(line["msg"] == "recognized and used environment variable" for line in lines)


def test_config_file_and_log_file(tmp_path: Path) -> None:
    log = tmp_path / "etcd.log"
    client, peer = free_port(), free_port()
    conf = tmp_path / "etcd.yml"
    conf.write_text(f"name: n1\ndata-dir: {tmp_path / 'n1.etcd'}\n"
                    f"listen-client-urls: http://127.0.0.1:{client}\n"
                    f"advertise-client-urls: http://127.0.0.1:{client}\n"
                    f"listen-peer-urls: http://127.0.0.1:{peer}\n"
                    f"initial-advertise-peer-urls: http://127.0.0.1:{peer}\n"
                    f"initial-cluster: n1=http://127.0.0.1:{peer}\n"
                    f"log-outputs: [{log}]\n")
    server = EtcdProcess("etcdpy", tmp_path / "n1.etcd", client_port=client)
    proc = subprocess.Popen([sys.executable, "-m", "etcdpy.cli.etcd", "--config-file", str(conf)],
                            env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(server.is_ready, 30, "etcd from config file")
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    assert (tmp_path / "n1.etcd" / "member").is_dir()
    assert any(json.loads(line)["msg"] == "ready to serve client requests"
               for line in log.read_text().splitlines())


def test_restart_keeps_data_and_revision(tmp_path: Path) -> None:
    server = EtcdProcess("etcdpy", tmp_path / "r.etcd")
    server.start()
    try:
        with grpc.insecure_channel(server.endpoint) as ch:
            kv = rpc_pb2_grpc.KVStub(ch)
            for i in range(10):
                rev = kv.Put(rpc_pb2.PutRequest(key=b"k", value=str(i).encode()), timeout=5).header.revision
        server.stop()
        server.start()
        with grpc.insecure_channel(server.endpoint) as ch:
            got = rpc_pb2_grpc.KVStub(ch).Range(rpc_pb2.RangeRequest(key=b"k"), timeout=5)
            assert got.header.revision == rev and got.kvs[0].value == b"9" and got.kvs[0].version == 10
            status = rpc_pb2_grpc.MaintenanceStub(ch).Status(rpc_pb2.StatusRequest(), timeout=5)
            assert status.raftTerm == 3  # a restart is a new term, as etcd's single member
    finally:
        server.stop()
