"""The `etcd` command's flags, environment variables and config file, as etcd 3.5 reads them."""

from __future__ import annotations

from pathlib import Path

import pytest

from etcdpy.cli.etcd import UsageError, env_values, file_values, parse_args
from etcdpy.server.config import ConfigError, build_config, parse_duration
from etcdpy.server.membership import Cluster


def test_defaults_are_etcds() -> None:
    cfg = build_config({})
    assert cfg.name == "default" and cfg.data_dir == "default.etcd"
    assert cfg.listen_client_urls == ["http://localhost:2379"]
    assert cfg.listen_peer_urls == ["http://localhost:2380"]
    assert cfg.initial_cluster == {"default": ["http://localhost:2380"]}
    assert cfg.max_request_bytes == 1572864 and cfg.max_txn_ops == 128
    assert cfg.quota_backend_bytes == 2 * 1024**3
    assert cfg.snapshot_count == 100000 and cfg.heartbeat_ms == 100 and cfg.election_ms == 1000


def test_default_ids_match_etcd() -> None:
    c = Cluster.bootstrap(build_config({}).initial_cluster, "etcd-cluster")
    assert [f"{m:x}" for m in c.members] == ["8e9e05c52164694d"]
    assert f"{c.id:x}" == "cdf818194e3a8c32"


def test_data_dir_follows_name() -> None:
    cfg = build_config({"name": "n1", "initial-advertise-peer-urls": "http://127.0.0.1:2380"})
    assert cfg.data_dir == "n1.etcd"
    assert cfg.initial_cluster == {"n1": ["http://127.0.0.1:2380"]}


def test_go_flag_syntax() -> None:
    values, special = parse_args(["-name", "a", "--data-dir=/x", "--unsafe-no-fsync", "--pre-vote=false"])
    assert values == {"name": "a", "data-dir": "/x", "unsafe-no-fsync": "true", "pre-vote": "false"}
    assert not special["help"]
    assert parse_args(["--version"])[1]["version"]


@pytest.mark.parametrize("argv", [["--no-such-flag"], ["positional"], ["--name"]])
def test_bad_flags(argv: list[str]) -> None:
    with pytest.raises(UsageError):
        parse_args(argv)


def test_env_and_file(tmp_path: Path) -> None:
    assert env_values({"ETCD_NAME": "x", "ETCD_MAX_TXN_OPS": "7", "OTHER": "1"}) == {
        "name": "x", "max-txn-ops": "7"}
    f = tmp_path / "etcd.yml"
    f.write_text("name: n1\nlisten-client-urls: http://127.0.0.1:1234\nmax-txn-ops: 5\n"
                 "log-outputs: [stderr]\nenable-v2: false\ninitial-cluster: n1=http://127.0.0.1:2380\n"
                 "initial-advertise-peer-urls: http://127.0.0.1:2380\n")
    cfg = build_config(file_values(str(f)))
    assert cfg.name == "n1" and cfg.max_txn_ops == 5 and cfg.log_outputs == ["stderr"]
    assert cfg.listen_client_urls == ["http://127.0.0.1:1234"]


@pytest.mark.parametrize("values", [
    {"max-txn-ops": "x"},
    {"initial-cluster-state": "maybe"},
    {"listen-client-urls": "ftp://a:1"},
    {"election-timeout": "100"},
    {"log-level": "loud"},
    {"client-crl-file": "/x.pem"},
])
def test_invalid_values(values: dict[str, str]) -> None:
    with pytest.raises(ConfigError):
        build_config(values)


def test_durations() -> None:
    assert parse_duration("500ms") == 0.5
    assert parse_duration("1m30s") == 90
    assert parse_duration("2h") == 7200
    with pytest.raises(ConfigError):
        parse_duration("5 seconds")
