"""TCP proxies in front of members' peer ports, which can cut a member off the cluster.

Members advertise a proxy's URL as their peer URL and listen on the real port behind it, so
every peer connection passes through a proxy: the one in front of its receiver. A connection
carries messages from the member that dialled it (its sender, named in the hello that opens
each framed connection of etcd-py's peer protocol) to the member behind the proxy. Isolating
member X therefore means: the proxy in front of X forwards nothing, and every proxy stops
forwarding connections whose sender is X. Cut connections are aborted; new ones are accepted
and then blackholed (read and discarded, never answered) until healed, like a dead network.

The proxies run in a child process (`PeerProxy`), so forwarding does not compete with the test's
client threads for the GIL. Its control protocol on stdin/stdout is one line per command:
`isolate <route index> <member id hex>`, `heal`; each is answered `ok` once in effect.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from etcdpy.server.transport.framing import HELLO_SIZE, MAGIC, Hello
from tests.servers import REPO

_HEAD_SIZE = len(MAGIC) + HELLO_SIZE
_CHUNK = 256 * 1024


@dataclass(eq=False)
class _Link:
    """One accepted connection and, when forwarded, its upstream half."""

    route: int
    sender: int | None  # None: not a framed peer connection (HTTP: /members, /version)
    downstream: asyncio.StreamWriter
    upstream: asyncio.StreamWriter | None = None

    def abort(self) -> None:
        for w in (self.downstream, self.upstream):
            if w is not None:
                w.transport.abort()


@dataclass
class _Proxies:
    upstream_ports: list[int]
    # The isolated member: its route index and member ID.
    isolated: tuple[int, int] | None = None
    links: set[_Link] = field(default_factory=set)

    def cut(self, link: _Link) -> bool:
        if self.isolated is None:
            return False
        route, member_id = self.isolated
        return link.route == route or link.sender == member_id

    async def serve(self, route: int) -> asyncio.Server:
        return await asyncio.start_server(
            lambda r, w: self._accept(route, r, w), "127.0.0.1", 0, reuse_address=True
        )

    async def _accept(self, route: int, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.read(1)
        sender = None
        if head == MAGIC[:1]:
            try:
                head += await reader.readexactly(_HEAD_SIZE - 1)
            except asyncio.IncompleteReadError:
                writer.close()
                return
            sender = Hello.decode(head[len(MAGIC) :]).sender_id
        link = _Link(route, sender, writer)
        self.links.add(link)
        try:
            if self.cut(link):
                await _drain_forever(reader)
                return
            try:
                up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_ports[route])
            except OSError:
                return
            link.upstream = up_writer
            up_writer.write(head)
            await asyncio.gather(_pump(reader, up_writer), _pump(up_reader, writer))
        finally:
            self.links.discard(link)
            link.abort()

    def isolate(self, route: int, member_id: int) -> None:
        self.isolated = (route, member_id)
        for link in list(self.links):
            if self.cut(link):
                link.abort()

    def heal(self) -> None:
        """Blackholed connections are aborted so their senders redial and get through."""
        stalled = [link for link in self.links if self.cut(link)]
        self.isolated = None
        for link in stalled:
            link.abort()


async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(_CHUNK):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.transport.abort()


async def _drain_forever(reader: asyncio.StreamReader) -> None:
    try:
        while await reader.read(_CHUNK):
            pass
    except (ConnectionError, OSError):
        pass


async def _main(upstream_ports: list[int]) -> None:
    proxies = _Proxies(upstream_ports)
    servers = [await proxies.serve(i) for i in range(len(upstream_ports))]
    ports = [s.sockets[0].getsockname()[1] for s in servers]
    print("ports", *ports, flush=True)
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        words = line.split()
        if words[:1] == ["isolate"]:
            proxies.isolate(int(words[1]), int(words[2], 16))
        elif words[:1] == ["heal"]:
            proxies.heal()
        else:
            print("error: unknown command", line.strip(), flush=True)
            continue
        print("ok", flush=True)
    for s in servers:
        s.close()


class PeerProxy:
    """The proxy process: one proxy per upstream port, on loopback ports it picks itself."""

    def __init__(self, upstream_ports: list[int], log_path: Path) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(REPO / "src"), str(REPO), env.get("PYTHONPATH", "")])
        with open(log_path, "ab") as log:
            self._proc = subprocess.Popen(
                [sys.executable, "-m", "tests.cluster._proxy", *map(str, upstream_ports)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                cwd=REPO,
                env=env,
                text=True,
            )
        words = self._reply().split()
        if words[:1] != ["ports"]:
            self.stop()
            raise RuntimeError(f"peer proxy did not start: {words}")
        self.ports = [int(w) for w in words[1:]]

    def _reply(self) -> str:
        assert self._proc.stdout is not None
        return self._proc.stdout.readline()

    def _command(self, line: str) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.write(line + "\n")
        self._proc.stdin.flush()
        reply = self._reply().strip()
        if reply != "ok":
            raise RuntimeError(f"peer proxy: {line!r} -> {reply!r}")

    def isolate(self, route: int, member_id: int) -> None:
        """Cut the member behind proxy `route` (with that ID) off from every other member."""
        self._command(f"isolate {route} {member_id:x}")

    def heal(self) -> None:
        self._command("heal")

    def stop(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait(timeout=10)
        for pipe in (self._proc.stdin, self._proc.stdout):
            if pipe is not None:
                pipe.close()


if __name__ == "__main__":
    asyncio.run(_main([int(p) for p in sys.argv[1:]]))
