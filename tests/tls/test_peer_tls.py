"""Peer TLS: a 3-member cluster over https:// peer URLs; members without the right certificate are refused."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.servers import EtcdProcess, reference_etcdctl, stop_all, wait_until
from tests.tls_certs import CertificateAuthority, TLSFiles, generate


class PeerTLSEtcd(EtcdProcess):
    def command(self) -> list[str]:
        return [arg.replace(f"http://127.0.0.1:{self.peer_port}", f"https://127.0.0.1:{self.peer_port}")
                for arg in super().command()]  # fmt: skip


def _cluster(tmp_path: Path, files: TLSFiles, extra: dict[str, list[str]]) -> list[PeerTLSEtcd]:
    names = ["m1", "m2", "m3"]
    members = [PeerTLSEtcd("etcdpy", tmp_path / f"{n}.etcd", name=n) for n in names]
    initial = ",".join(f"{m.name}=https://127.0.0.1:{m.peer_port}" for m in members)
    for m in members:
        m.initial_cluster = initial
        m.extra_args += ["--peer-cert-file", str(files.server.cert), "--peer-key-file", str(files.server.key),
                         "--peer-trusted-ca-file", str(files.ca), "--peer-client-cert-auth",
                         *extra.get(m.name, [])]  # fmt: skip
    return members


def _put_get(members: list[PeerTLSEtcd]) -> None:
    ctl = reference_etcdctl()
    put = subprocess.run([ctl, "--endpoints", members[0].endpoint, "put", "k", "v"], timeout=30)
    assert put.returncode == 0

    def replicated() -> bool:
        out = subprocess.run([ctl, "--endpoints", members[2].endpoint, "get", "k", "--consistency=s"],
                             capture_output=True, text=True, timeout=30)  # fmt: skip
        return out.stdout == "k\nv\n"

    wait_until(replicated, 20, "the put to reach the third member")


@pytest.mark.reference
def test_three_members_with_peer_tls_replicate(tmp_path: Path) -> None:
    files = generate(tmp_path / "certs")
    members = _cluster(tmp_path, files, {"m3": ["--peer-cert-allowed-cn", "etcd-server"]})
    try:
        for m in members:
            m.start(wait=False)
        for m in members:
            m.wait_ready(60)
        _put_get(members)
    finally:
        stop_all(members)


@pytest.mark.reference
def test_member_with_a_foreign_certificate_cannot_send_raft_messages(tmp_path: Path) -> None:
    files = generate(tmp_path / "certs")
    rogue = CertificateAuthority(tmp_path / "certs", "rogue").issue(
        "rogue", "etcd-server", hosts=("127.0.0.1",), server=True, client=True
    )
    members = _cluster(tmp_path, files, {})
    members[2].extra_args += ["--peer-cert-file", str(rogue.cert), "--peer-key-file", str(rogue.key)]
    try:
        for m in members:
            m.start(wait=False)
        for m in members[:2]:
            m.wait_ready(60)
        wait_until(lambda: '"msg":"rejected connection"' in members[0].log_tail(400), 20, "a refusal")
        assert not members[2].is_ready()
    finally:
        members[2].kill9()  # still starting (it cannot publish itself), it is not what is tested here
        stop_all(members)


@pytest.mark.reference
def test_peer_cert_allowed_cn_refuses_other_names(tmp_path: Path) -> None:
    files = generate(tmp_path / "certs")
    members = _cluster(tmp_path, files, {"m1": ["--peer-cert-allowed-cn", "someone-else"]})
    try:
        for m in members:
            m.start(wait=False)
        for m in members[1:]:
            m.wait_ready(60)
        wait_until(
            lambda: "client certificate authentication failed" in members[0].log_tail(400), 20, "a CN refusal"
        )
    finally:
        members[0].kill9()  # refusing every peer, it cannot publish itself and is still starting
        stop_all(members)
