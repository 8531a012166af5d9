"""aetcd 1.0 over TLS: put/get/delete, a watch and a lease.

aetcd 1.0 has no TLS options: its channel comes from `aetcd.rpc.insecure_channel`, which this
script replaces with grpc.aio's secure channel (aetcd.rpc exports it too) carrying the files given.

usage: python aetcd_tls.py HOST PORT CA [CERT KEY]; prints "ok" and exits 0 when all pass.
"""

import asyncio
import sys
import uuid
from pathlib import Path
from typing import Any

import aetcd  # type: ignore[import-not-found]
import aetcd.rpc  # type: ignore[import-not-found]
import grpc

host, port, ca, *pair = sys.argv[1:]
cert, key = (Path(p).read_bytes() for p in pair) if pair else (None, None)
creds = grpc.ssl_channel_credentials(Path(ca).read_bytes(), key, cert)


def secure_channel(target: str, options: Any = None) -> Any:
    return aetcd.rpc.secure_channel(target, creds, options=options)


aetcd.rpc.insecure_channel = secure_channel


async def main() -> None:
    prefix = f"/tls/aetcd/{uuid.uuid4().hex}/".encode()
    async with asyncio.timeout(30):
        c = aetcd.Client(host=host, port=int(port), timeout=10)
        await c.connect()
        rev = (await c.put(prefix + b"a", b"1")).header.revision
        assert (await c.get(prefix + b"a")).value == b"1"
        watch = await c.watch(prefix + b"a", start_revision=rev)
        await c.put(prefix + b"a", b"2")
        events = watch.__aiter__()
        assert [(await events.__anext__()).kv.value for _ in range(2)] == [b"1", b"2"]
        await watch.cancel()
        assert (await c.delete(prefix + b"a")) is not None
        assert await c.get(prefix + b"a") is None

        lease = await c.lease(30)
        await c.put(prefix + b"leased", b"v", lease=lease)
        assert 0 < await lease.remaining_ttl() <= 30
        await lease.revoke()
        assert await c.get(prefix + b"leased") is None
        await c.close()


asyncio.run(main())
print("ok")
