"""`Transport`: a member's Raft message exchange with its peers (see the package docstring)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterable, Sequence
from pathlib import Path

from etcdpy.pkg import zaplog
from etcdpy.raft import raftpb
from etcdpy.server.transport.codec import encode_message
from etcdpy.server.transport.config import TransportConfig
from etcdpy.server.transport.endpoints import Endpoints
from etcdpy.server.transport.framing import PROTOCOL_VERSION, Hello, Kind
from etcdpy.server.transport.handler import TransportHandler
from etcdpy.server.transport.inbound import Inbound
from etcdpy.server.transport.peer_stream import PeerStream
from etcdpy.server.transport.snapshot import OpenData, SnapshotReceiver, send_snapshot
from etcdpy.server.transport.stats import PeerStats
from etcdpy.server.transport.tasks import TaskSet

log = zaplog.get("rafthttp")


class _Peer:
    def __init__(self, stream: PeerStream) -> None:
        self.stream = stream
        self.task: asyncio.Task[None] | None = None
        self.snapshot_tasks: set[asyncio.Task[None]] = set()


class Transport:
    def __init__(
        self,
        local_id: int,
        cluster_id: int,
        handler: TransportHandler,
        snapshot_dir: Path,
        config: TransportConfig | None = None,
    ) -> None:
        self.local_id = local_id
        self.cluster_id = cluster_id
        self._handler = handler
        self._cfg = config or TransportConfig()
        self._peers: dict[int, _Peer] = {}
        self._tasks = TaskSet()
        self._started = False
        self._stopped = False
        receiver = SnapshotReceiver(snapshot_dir, self._cfg, local_id, handler.on_snapshot)
        self._inbound = Inbound(local_id, cluster_id, self._cfg, handler, self.stats, receiver, self._tasks)

    def start(self, sockets: Sequence[socket.socket]) -> None:
        """Serve on the bound, listening peer sockets (the transport closes them on stop) and dial peers.

        Call it on the running event loop the transport will live on."""
        self._inbound.start(sockets)
        self._started = True
        for peer_id, peer in self._peers.items():
            self._run(peer_id, peer)

    async def stop(self) -> None:
        """Close every socket and end every task the transport started; no callback runs afterwards."""
        self._started = False
        self._stopped = True
        await self._inbound.stop()
        await self._tasks.cancel_all()
        # Connections aborted by the cancelled tasks release their sockets in the next loop iteration.
        await asyncio.sleep(0)

    def add_peer(self, peer_id: int, urls: Sequence[str]) -> None:
        if peer_id == self.local_id:
            raise ValueError("a member is not its own peer")
        if peer_id in self._peers:
            self.update_peer(peer_id, urls)
            return
        hello = Hello(PROTOCOL_VERSION, Kind.STREAM, self.cluster_id, self.local_id, peer_id).encode()
        peer = self._peers[peer_id] = _Peer(PeerStream(peer_id, urls, hello, self._cfg, self._handler))
        log.info(
            "added remote peer",
            local_member_id=f"{self.local_id:x}",
            remote_peer_id=f"{peer_id:x}",
            remote_peer_urls=list(urls),
        )
        if self._started:
            self._run(peer_id, peer)

    def update_peer(self, peer_id: int, urls: Sequence[str]) -> None:
        self._peers[peer_id].stream.update_urls(urls)
        log.info("updated remote peer", remote_peer_id=f"{peer_id:x}", remote_peer_urls=list(urls))

    def remove_peer(self, peer_id: int) -> None:
        """Forget the peer: its stream, snapshot transfers and inbound connections end now."""
        peer = self._peers.pop(peer_id, None)
        if peer is None:
            return
        for task in (peer.task, *peer.snapshot_tasks):
            if task is not None:
                task.cancel()
        self._inbound.close_peer(peer_id)
        log.info("removed remote peer", local_member_id=f"{self.local_id:x}", remote_peer_id=f"{peer_id:x}")

    def stats(self, peer_id: int) -> PeerStats | None:
        """Live traffic counters of the peer (the object keeps counting); None for an unknown peer."""
        peer = self._peers.get(peer_id)
        return None if peer is None else peer.stream.stats

    def active_since(self, peer_id: int) -> float | None:
        """time.monotonic() when the stream to the peer became active; None while it is not."""
        peer = self._peers.get(peer_id)
        return None if peer is None else peer.stream.active_since

    def send(self, messages: Iterable[raftpb.Message]) -> None:
        """Write messages to their peers without blocking; MsgSnap must go through send_snapshot."""
        unreachable: set[int] | None = None
        touched: set[PeerStream] = set()
        peers, max_frame = self._peers, self._cfg.max_frame_bytes
        for m in messages:
            if m.type == raftpb.MessageType.MsgSnap:
                raise ValueError("a MsgSnap is sent with send_snapshot")
            peer = peers.get(m.to)
            if peer is None:
                log.debug(
                    "ignored message send request; unknown remote peer target",
                    unknown_target_peer_id=f"{m.to:x}",
                )
                continue
            payload = encode_message(m)
            if len(payload) > max_frame:
                log.error(
                    "dropped internal Raft message larger than the frame limit",
                    remote_peer_id=f"{m.to:x}",
                    message_type=m.type.name,
                    size=len(payload),
                    limit=max_frame,
                )
            elif peer.stream.enqueue(payload):
                touched.add(peer.stream)
                continue
            if unreachable is None:
                unreachable = set()
            unreachable.add(m.to)
        for stream in touched:
            stream.flush()
        if unreachable:
            loop = asyncio.get_running_loop()
            for peer_id in unreachable:
                loop.call_soon(self._report_unreachable, peer_id)

    def send_snapshot(self, msg: raftpb.Message, open_data: OpenData) -> None:
        """Stream a MsgSnap and its database (read from the binary stream `open_data()` returns, which the
        transport closes) on a connection of its own; the outcome arrives as report_snapshot(msg.to, ok)."""
        if msg.type != raftpb.MessageType.MsgSnap or msg.snapshot is None:
            raise ValueError("send_snapshot needs a MsgSnap with its snapshot metadata")
        peer = self._peers.get(msg.to)
        if peer is None or not self._started:
            asyncio.get_running_loop().call_soon(self._report_snapshot_failed, msg.to)
            return
        hello = Hello(PROTOCOL_VERSION, Kind.SNAPSHOT, self.cluster_id, self.local_id, msg.to).encode()
        payload = encode_message(msg)
        coro = self._send_snapshot(
            msg.to, Endpoints(peer.stream.urls), hello, payload, msg.snapshot.metadata.index, open_data
        )
        task = self._tasks.spawn(coro, f"snapshot-to-{msg.to:x}")
        peer.snapshot_tasks.add(task)
        task.add_done_callback(peer.snapshot_tasks.discard)

    async def _send_snapshot(
        self,
        peer_id: int,
        endpoints: Endpoints,
        hello: bytes,
        payload: bytes,
        index: int,
        open_data: OpenData,
    ) -> None:
        try:
            ok = await send_snapshot(peer_id, endpoints, hello, payload, index, open_data, self._cfg)
        except Exception as exc:  # a failing opener or reader must not leave Raft waiting for the outcome
            log.error("failed to send database snapshot", remote_peer_id=f"{peer_id:x}", error=repr(exc))
            ok = False
        self._handler.report_snapshot(peer_id, ok)

    def _run(self, peer_id: int, peer: _Peer) -> None:
        peer.task = self._tasks.spawn(peer.stream.run(), f"stream-to-{peer_id:x}")

    def _report_unreachable(self, peer_id: int) -> None:
        if not self._stopped and peer_id in self._peers:
            self._handler.report_unreachable(peer_id)

    def _report_snapshot_failed(self, peer_id: int) -> None:
        if not self._stopped:
            self._handler.report_snapshot(peer_id, False)
