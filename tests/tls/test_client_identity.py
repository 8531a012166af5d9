"""The verified client certificate's CN reaches gRPC handlers behind the client port, unforgeably."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import grpc

from etcdpy.api.gateway.h2inject import HeaderInjector, literal_field
from etcdpy.api.gateway.listener import ClientListener
from etcdpy.api.v3rpc import tls_identity
from etcdpy.api.v3rpc.credentials import credentials
from etcdpy.pkg.tlsutil import CLIENT_PORT_ALPN, TLSInfo
from tests.tls_certs import TLSFiles, generate

_METHOD = "/test.Identity/Who"


def _frame(kind: int, flags: int, stream: int, payload: bytes) -> bytes:
    return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload


def test_injector_appends_a_continuation_to_opening_header_blocks_only() -> None:
    field = literal_field(b"k", b"v")
    preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
    settings = _frame(0x4, 0, 0, b"")
    headers = _frame(0x1, 0x4, 1, b"\x82")
    data = _frame(0x0, 0x1, 1, b"x" * 100)
    trailers = _frame(0x1, 0x5, 1, b"\x83")
    stream = preface + settings + headers + data + trailers
    # Fed one byte at a time, the output is the same as fed at once.
    out = HeaderInjector(field).feed(stream)
    one_by_one = HeaderInjector(field)
    assert b"".join(one_by_one.feed(stream[i : i + 1]) for i in range(len(stream))) == out
    expected = (
        preface + settings + _frame(0x1, 0x0, 1, b"\x82") + _frame(0x9, 0x4, 1, field) + data + trailers
    )
    assert out == expected


def test_injector_extends_the_last_continuation_of_a_split_block() -> None:
    field = literal_field(b"k", b"v")
    first = _frame(0x1, 0x0, 3, b"\x82")
    cont = _frame(0x9, 0x4, 3, b"\x84")
    out = HeaderInjector(field).feed(b"P" * 24 + first + cont)
    assert out == b"P" * 24 + first + _frame(0x9, 0x0, 3, b"\x84") + _frame(0x9, 0x4, 3, field)


async def _scenario(tmp_path: Path, files: TLSFiles) -> None:
    async def who(request: bytes, context: grpc.aio.ServicerContext) -> bytes:  # type: ignore[type-arg]
        creds = credentials(context)
        return (creds.common_name if creds and creds.common_name else "<none>").encode()

    # Metadata between grpc's soft limit (8 KiB by default) and its hard limit is refused at random:
    # room for the large header block below, so that the test does not depend on the draw.
    server = grpc.aio.server(options=[("grpc.max_metadata_size", 64 * 1024)])
    handler = grpc.unary_unary_rpc_method_handler(who)
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler("test.Identity", {"Who": handler}),)
    )
    target = f"unix:{tmp_path}/grpc.sock"
    server.add_insecure_port(target)
    await server.start()
    tls = TLSInfo(
        cert_file=str(files.server.cert), key_file=str(files.server.key), trusted_ca_file=str(files.ca)
    )
    listener = ClientListener(
        "127.0.0.1",
        0,
        target,
        ssl_context=tls.server_context(CLIENT_PORT_ALPN),
        identity_secret=tls_identity.member_secret(),
    )
    await listener.start()
    creds = grpc.ssl_channel_credentials(
        files.ca.read_bytes(), files.client.key.read_bytes(), files.client.cert.read_bytes()
    )
    forged = base64.b64encode(b"0" * 16 + b"mallory")
    try:
        async with grpc.aio.secure_channel(f"127.0.0.1:{listener.port}", creds) as ch:
            call = ch.unary_unary(_METHOD, None, None)
            for _ in range(3):  # several streams on one connection: HPACK state stays consistent
                assert await call(b"", timeout=5) == b"alice"
            assert await call(b"", metadata=((tls_identity.METADATA_KEY, forged),), timeout=5) == b"alice"
            assert await call(b"", metadata=(("x-big", "v" * 8000),), timeout=5) == b"alice"
    finally:
        await listener.close()
        await server.stop(None)


def test_cn_reaches_the_handler_and_a_forged_entry_does_not(tmp_path: Path) -> None:
    asyncio.run(_scenario(tmp_path, generate(tmp_path, client_cn="alice")))


def test_forged_entry_is_ignored() -> None:
    class Context:
        def invocation_metadata(self) -> tuple[tuple[str, bytes], ...]:
            return ((tls_identity.METADATA_KEY, b"x" * 16 + b"mallory"),)

    assert credentials(Context()) is None  # type: ignore[arg-type]
