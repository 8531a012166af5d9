"""etcdpy.client with TLS and authentication, against reference etcd 3.5.1 (etcd-py's server
with ETCDPY_TEST_SERVER=etcdpy)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from etcdpy.api import errors
from etcdpy.client import AsyncClient, Client, EtcdError, TLSConfig
from tests.servers import EtcdProcess, running
from tests.tls_certs import TLSEtcd, TLSFiles, generate

pytestmark = pytest.mark.reference

SERVER_KIND = os.environ.get("ETCDPY_TEST_SERVER", "reference")


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TLSEtcd]:
    tmp = tmp_path_factory.mktemp("client-tls")
    server = TLSEtcd(SERVER_KIND, tmp / "tls.etcd", generate(tmp / "certs"))
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _full(tls: TLSFiles, **kw: object) -> TLSConfig:
    return TLSConfig(str(tls.ca), str(tls.client.cert), str(tls.client.key), **kw)  # type: ignore[arg-type]


def test_tls_with_client_certificate(tls_server: TLSEtcd) -> None:
    with Client(tls_server.endpoint, timeout=5, tls=_full(tls_server.tls)) as c:
        c.put("k", "v")
        assert c.get("k").kvs[0].value == b"v"
    with Client(tls_server.url, timeout=5, tls=_full(tls_server.tls, server_name="localhost")) as c:
        assert c.get("k").count == 1


def test_skip_verify_trusts_the_presented_certificate(tls_server: TLSEtcd) -> None:
    tls = tls_server.tls
    config = TLSConfig(
        cert_file=str(tls.client.cert), key_file=str(tls.client.key), insecure_skip_verify=True
    )
    with Client(tls_server.url, timeout=5, tls=config) as c:
        assert c.get("k").count == 1


@pytest.mark.parametrize(
    "config",
    [None, "ca only", "no ca"],
    ids=["plaintext", "without a client certificate", "unknown authority"],
)
def test_refused_handshakes_time_out(tls_server: TLSEtcd, config: str | None) -> None:
    tls = tls_server.tls
    configs = {
        "ca only": TLSConfig(ca_file=str(tls.ca)),
        "no ca": TLSConfig(cert_file=str(tls.client.cert), key_file=str(tls.client.key)),
    }
    with (
        Client(tls_server.endpoint, timeout=0.5, tls=configs.get(config or "")) as c,
        pytest.raises(EtcdError) as info,
    ):
        c.get("k")
    assert info.value.message == "context deadline exceeded"


def test_bad_files_are_value_errors(tls_server: TLSEtcd, tmp_path: Path) -> None:
    tls = tls_server.tls
    with pytest.raises(ValueError, match=r"^KeyFile and CertFile must both be present\[key: , cert: "):
        TLSConfig(cert_file=str(tls.client.cert))
    with pytest.raises(ValueError, match=r"^open /nonexistent: no such file or directory$"):
        Client(tls_server.endpoint, tls=TLSConfig(ca_file="/nonexistent"))
    mismatched = TLSConfig(cert_file=str(tls.client.cert), key_file=str(tls.server.key))
    with pytest.raises(ValueError, match=r"^tls: private key does not match public key$"):
        Client(tls_server.endpoint, tls=mismatched)


def test_async_client_over_tls(tls_server: TLSEtcd) -> None:
    async def body() -> None:
        async with AsyncClient(tls_server.endpoint, timeout=5, tls=_full(tls_server.tls)) as c:
            await c.put("ak", "1")
            assert (await c.get("ak")).kvs[0].value == b"1"

    asyncio.run(body())


# -- authentication ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdProcess]:
    with running(SERVER_KIND, tmp_path_factory.mktemp("client-auth")) as server:
        with Client(server.endpoint, timeout=5) as admin:
            admin.user_add("root", "rootpw")
            admin.role_add("root")
            admin.user_grant_role("root", "root")
            admin.role_add("reader")
            admin.role_grant_permission("reader", "read", "r/", "r0")
            admin.user_add("alice", "alicepw")
            admin.user_grant_role("alice", "reader")
            admin.auth_enable()
        yield server


def test_auth_api_round_trip(auth_server: EtcdProcess) -> None:
    with Client(auth_server.endpoint, timeout=5, user="root", password="rootpw") as c:
        assert c.auth_status().enabled
        assert list(c.user_list().users) == ["alice", "root"]
        assert list(c.user_get("alice").roles) == ["reader"]
        perm = c.role_get("reader").perm[0]
        assert (perm.permType, perm.key, perm.range_end) == (0, b"r/", b"r0")
        c.role_add("tmp")
        c.role_grant_permission("tmp", "readwrite", "t", "\0")
        c.role_revoke_permission("tmp", "t", "\0")
        assert not c.role_get("tmp").perm
        c.user_add("nopw", no_password=True)
        c.user_change_password("alice", "alicepw")
        c.user_revoke_role("alice", "reader")
        c.user_grant_role("alice", "reader")
        c.user_delete("nopw")
        c.role_delete("tmp")
        assert list(c.role_list().roles) == ["reader", "root"]
        with pytest.raises(ValueError, match=r"^invalid permission type: owner$"):
            c.role_grant_permission("reader", "owner", "k")


def test_calls_carry_the_token(auth_server: EtcdProcess) -> None:
    with Client(auth_server.endpoint, timeout=5) as anonymous:
        with pytest.raises(EtcdError) as info:
            anonymous.get("r/a")
        assert info.value == errors.USER_EMPTY
    with Client(auth_server.endpoint, timeout=5, user="alice", password="alicepw") as alice:
        assert alice.get("r/a").count == 0
        with pytest.raises(EtcdError) as info:
            alice.put("r/a", "1")
        assert info.value == errors.PERMISSION_DENIED
    with pytest.raises(EtcdError) as info:
        Client(auth_server.endpoint, timeout=5, user="alice", password="wrong")
    assert info.value == errors.AUTH_FAILED


def test_streams_carry_the_token(auth_server: EtcdProcess) -> None:
    with Client(auth_server.endpoint, timeout=5, user="root", password="rootpw") as c:
        with c.watch("w") as watch:
            c.put("w", "1")
            assert next(watch).events[0].kv.value == b"1"
        lease = c.grant(30)
        keep_alive = c.keep_alive(lease.ID)
        assert next(keep_alive).TTL == 30
        keep_alive.close()


def test_an_invalidated_token_is_renewed(auth_server: EtcdProcess) -> None:
    """Disabling authentication drops every token; the client logs in again by itself."""
    with Client(auth_server.endpoint, timeout=5, user="root", password="rootpw") as c:
        c.put("x", "1")
        with Client(auth_server.endpoint, timeout=5, user="root", password="rootpw") as admin:
            admin.auth_disable()
            admin.auth_enable()
        assert c.get("x").kvs[0].value == b"1"


def test_async_client_authenticates(auth_server: EtcdProcess) -> None:
    async def body() -> None:
        async with AsyncClient(auth_server.endpoint, timeout=5, user="root", password="rootpw") as c:
            assert (await c.auth_status()).enabled
            watch = await c.watch("aw")
            await c.put("aw", "1")
            assert (await watch.__anext__()).events[0].kv.value == b"1"
            await watch.cancel()
        bad = AsyncClient(auth_server.endpoint, timeout=5, user="root", password="wrong")
        with pytest.raises(EtcdError) as info:
            await bad.get("k")
        assert info.value == errors.AUTH_FAILED
        await bad.close()

    asyncio.run(body())
