"""Transports on loopback inside one event loop, with a handler that records every callback."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvloop

from etcdpy.pkg import timeouts
from etcdpy.raft import raftpb
from etcdpy.server.membership import Member
from etcdpy.server.transport import Transport, TransportConfig
from etcdpy.server.transport.framing import PROTOCOL_VERSION, VERDICT_SIZE, Hello, Kind, Verdict

CLUSTER_ID = 0x1C0FFEE
# The member runs on uvloop; tests of the core behaviour run on both loops.
LOOPS = ("asyncio", "uvloop")
# Fast reconnects so that tests finish in milliseconds, not seconds.
FAST = TransportConfig(backoff_min=0.01, backoff_max=0.05, dial_timeout=1.0, handshake_timeout=2.0)


@dataclass
class Recorder:
    """A TransportHandler that keeps what it is told."""

    members_list: list[Member] = field(default_factory=list)
    removed_ids: set[int] = field(default_factory=set)
    version: str | None = "3.5.0"
    messages: list[raftpb.Message] = field(default_factory=list)
    snapshots: list[tuple[raftpb.Message, Path]] = field(default_factory=list)
    unreachable: list[int] = field(default_factory=list)
    snapshot_reports: list[tuple[int, bool]] = field(default_factory=list)
    removed_by: list[int] = field(default_factory=list)

    def on_message(self, msg: raftpb.Message) -> None:
        self.messages.append(msg)

    def on_snapshot(self, msg: raftpb.Message, path: Path) -> None:
        self.snapshots.append((msg, path))

    def report_unreachable(self, peer_id: int) -> None:
        self.unreachable.append(peer_id)

    def report_snapshot(self, peer_id: int, ok: bool) -> None:
        self.snapshot_reports.append((peer_id, ok))

    def report_removed(self, peer_id: int) -> None:
        self.removed_by.append(peer_id)

    def is_removed(self, member_id: int) -> bool:
        return member_id in self.removed_ids

    def members(self) -> Sequence[Member]:
        return self.members_list

    def cluster_version(self) -> str | None:
        return self.version


def run(coro: Coroutine[Any, Any, None], loop: str = "asyncio") -> None:
    """Run a test scenario on a fresh event loop of the given kind."""
    factory = uvloop.new_event_loop if loop == "uvloop" else None
    with asyncio.Runner(loop_factory=factory) as runner:
        runner.run(coro)


def listening_socket(port: int = 0) -> socket.socket:
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(64)
    sock.setblocking(False)
    return sock


def dead_url() -> str:
    """The URL of a loopback port nothing listens on."""
    sock = listening_socket()
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"


@dataclass
class Node:
    id: int
    port: int
    snap_dir: Path
    handler: Recorder
    transport: Transport
    sock: socket.socket

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def make_node(
    tmp: Path, member_id: int, *, cluster_id: int = CLUSTER_ID, cfg: TransportConfig = FAST, port: int = 0
) -> Node:
    sock = listening_socket(port)
    snap_dir = tmp / f"snap-{member_id:x}"
    snap_dir.mkdir(exist_ok=True)
    handler = Recorder()
    transport = Transport(member_id, cluster_id, handler, snap_dir, cfg)
    return Node(member_id, sock.getsockname()[1], snap_dir, handler, transport, sock)


def lone_node(tmp: Path, member_id: int, *, phantom: int, cfg: TransportConfig = FAST) -> Node:
    """A started member whose only peer, `phantom`, is never up: tests speak for it by hand."""
    node = make_node(tmp, member_id, cfg=cfg)
    node.transport.add_peer(phantom, [dead_url()])
    node.transport.start([node.sock])
    return node


async def start_cluster(tmp: Path, ids: Sequence[int], cfg: TransportConfig = FAST) -> list[Node]:
    """Fully meshed members, started, with every stream active."""
    nodes = [make_node(tmp, i, cfg=cfg) for i in ids]
    for n in nodes:
        n.handler.members_list = [Member(m.id, f"m{m.id}", [m.url]) for m in nodes]
        for m in nodes:
            if m is not n:
                n.transport.add_peer(m.id, [m.url])
    for n in nodes:
        n.transport.start([n.sock])
    await wait_until(
        lambda: all(n.transport.active_since(m.id) for n in nodes for m in nodes if m is not n),
        "all streams active",
    )
    return nodes


async def stop_all(nodes: Sequence[Node]) -> None:
    for n in nodes:
        await n.transport.stop()


async def wait_until(cond: Callable[[], object], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.002)


def app(frm: int, to: int, index: int, n_entries: int = 1, size: int = 16) -> raftpb.Message:
    """A MsgApp whose entries start at index + 1 (data derived from the index, so it can be checked)."""
    entries = tuple(
        raftpb.Entry(term=3, index=index + 1 + k, data=(index + k).to_bytes(8, "big") * (size // 8))
        for k in range(n_entries)
    )
    return raftpb.Message(
        raftpb.MessageType.MsgApp, to, frm, term=3, log_term=3, index=index, entries=entries, commit=index
    )


def heartbeat(frm: int, to: int, commit: int = 0) -> raftpb.Message:
    return raftpb.Message(raftpb.MessageType.MsgHeartbeat, to, frm, term=3, commit=commit)


def open_sockets() -> set[int]:
    """This process's open socket descriptors (Linux)."""
    out = set()
    for fd in os.listdir("/proc/self/fd"):
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                out.add(int(fd))
    return out


@contextlib.asynccontextmanager
async def silent_peer() -> AsyncIterator[str]:
    """The URL of a server that accepts connections and never answers: a handshake that hangs."""
    accepted: list[asyncio.StreamWriter] = []

    async def hold(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)

    server = await asyncio.start_server(hold, sock=listening_socket())
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        for w in accepted:
            w.close()
        await server.wait_closed()
        await asyncio.sleep(0)


async def raw_connect(
    node: Node,
    *,
    sender: int,
    receiver: int | None = None,
    kind: int = Kind.STREAM,
    cluster_id: int = CLUSTER_ID,
    version: int = PROTOCOL_VERSION,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter, Verdict]:
    """A hand-driven peer connection to `node`: hello sent, verdict read."""
    reader, writer = await asyncio.open_connection("127.0.0.1", node.port)
    hello = Hello(version, kind, cluster_id, sender, node.id if receiver is None else receiver)
    writer.write(hello.encode())
    verdict = Verdict.decode(await timeouts.wait_for(reader.readexactly(VERDICT_SIZE), 5))
    return reader, writer, verdict


async def wait_closed_by_peer(reader: asyncio.StreamReader) -> None:
    """Until the other side closes the connection (reading whatever it still sends)."""
    while await timeouts.wait_for(reader.read(65536), 5):
        pass


class LogRecords(logging.Handler):
    """Records of the transport's logger ("etcdpy.rafthttp"), whatever zaplog.configure did to propagation."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def has(self, text: str, level: int = logging.DEBUG) -> bool:
        """Whether a record at `level` or above mentions `text` in its message or its fields."""
        return any(
            r.levelno >= level and text in f"{r.getMessage()} {getattr(r, 'fields', '')}"
            for r in self.records
        )


@contextlib.contextmanager
def captured_logs() -> Iterator[LogRecords]:
    logger = logging.getLogger("etcdpy.rafthttp")
    records, old_level = LogRecords(), logger.level
    logger.addHandler(records)
    logger.setLevel(logging.DEBUG)
    try:
        yield records
    finally:
        logger.removeHandler(records)
        logger.setLevel(old_level)
