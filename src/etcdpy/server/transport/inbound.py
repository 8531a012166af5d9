"""The peer listener: sniffs each connection, checks handshakes, reads message streams.

A connection whose first byte is MAGIC's goes to the framed protocol; anything else is
HTTP (GET /members, GET /version). A stream's frames are parsed from large reads, so one
`await` serves every frame that arrived together; `on_message` runs synchronously for each,
in arrival order. Memory per connection is bounded by the StreamReader's limit plus one
frame of at most `max_frame_bytes`.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Callable, Sequence

from google.protobuf.message import DecodeError

from etcdpy.pkg import netutil, timeouts, zaplog
from etcdpy.pkg.tlsutil import peer_common_name
from etcdpy.server.transport import peer_http
from etcdpy.server.transport.codec import decode_message
from etcdpy.server.transport.config import TransportConfig
from etcdpy.server.transport.framing import (
    FRAME_HEADER,
    HELLO_SIZE,
    MAGIC,
    PROTOCOL_VERSION,
    Hello,
    Kind,
    ProtocolError,
    Status,
    Verdict,
)
from etcdpy.server.transport.handler import TransportHandler
from etcdpy.server.transport.snapshot import SnapshotReceiver
from etcdpy.server.transport.stats import PeerStats
from etcdpy.server.transport.tasks import TaskSet

log = zaplog.get("rafthttp")

# Bytes asked of the socket per read, and the StreamReader's buffer limit (reading pauses at twice it).
READ_BYTES = 256 * 1024


class Inbound:
    def __init__(
        self,
        local_id: int,
        cluster_id: int,
        cfg: TransportConfig,
        handler: TransportHandler,
        peer_stats: Callable[[int], PeerStats | None],
        snapshots: SnapshotReceiver,
        tasks: TaskSet,
    ) -> None:
        self._local_id = local_id
        self._cluster_id = cluster_id
        self._cfg = cfg
        self._handler = handler
        self._peer_stats = peer_stats
        self._snapshots = snapshots
        self._tasks = tasks
        self._http = peer_http.PeerHttpSource(cluster_id, handler.members, handler.cluster_version)
        self._sockets: list[socket.socket] = []
        self._acceptors: list[asyncio.Task[None]] = []
        # The open message stream from each peer: a newer one replaces (and closes) an older one.
        self._streams: dict[int, asyncio.StreamWriter] = {}

    def start(self, sockets: Sequence[socket.socket]) -> None:
        # An accept loop of our own rather than asyncio.start_server: every accepted connection is a
        # task in the TaskSet from the start, so stopping cancels and closes all of them.
        for sock in sockets:
            sock.setblocking(False)
            self._sockets.append(sock)
            self._acceptors.append(self._tasks.spawn(self._accept(sock), "peer-accept"))

    async def stop(self) -> None:
        """Stop accepting and close the listening sockets; the TaskSet's owner cancels the connections."""
        for task in self._acceptors:
            task.cancel()
        await asyncio.gather(*self._acceptors, return_exceptions=True)
        for sock in self._sockets:
            sock.close()
        self._acceptors.clear()
        self._sockets.clear()

    def close_peer(self, peer_id: int) -> None:
        writer = self._streams.pop(peer_id, None)
        if writer is not None:
            writer.transport.abort()

    async def _accept(self, sock: socket.socket) -> None:
        def handle(conn: socket.socket, addr: object) -> None:
            self._tasks.spawn(self._on_socket(conn), "peer-connection")

        def failed(exc: OSError) -> None:
            log.error("failed to accept a peer connection", error=str(exc))

        await netutil.accept_forever(sock, handle, failed)

    async def _on_socket(self, conn: socket.socket) -> None:
        remote = _socket_peer(conn)
        try:
            if self._cfg.server_ssl is None:
                reader, writer = await asyncio.open_connection(sock=conn, limit=READ_BYTES)
            else:
                reader, writer = await self._tls_handshake(conn, self._cfg.server_ssl)
        except (OSError, TimeoutError) as exc:  # ssl.SSLError is an OSError
            _log_rejected(remote, exc)
            conn.close()
            return
        except BaseException:
            conn.close()
            raise
        await self._handle(reader, writer)

    async def _tls_handshake(
        self, conn: socket.socket, context: ssl.SSLContext
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        """Streams over TLS on an accepted socket; PermissionError for a certificate whose CN is not
        --peer-cert-allowed-cn (etcd refuses it in the handshake; here just after it)."""
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=READ_BYTES)
        transport, protocol = await loop.connect_accepted_socket(
            lambda: asyncio.StreamReaderProtocol(reader), conn, ssl=context,
            ssl_handshake_timeout=self._cfg.handshake_timeout,
        )
        allowed = self._cfg.allowed_cn
        if allowed and peer_common_name(transport.get_extra_info("peercert")) != allowed:
            transport.abort()
            raise PermissionError("client certificate authentication failed")
        return reader, asyncio.StreamWriter(transport, protocol, reader, loop)

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await self._serve(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError, TimeoutError):
            pass  # the peer went away or stalled: nothing to answer
        except (ProtocolError, DecodeError, ValueError) as exc:
            log.warning(
                "closed peer connection after a protocol error", error=str(exc), remote_addr=_peername(writer)
            )
        finally:
            # Whatever a handler answered was drained first: abort only drops unread input.
            writer.transport.abort()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        timeout = self._cfg.handshake_timeout
        first = await timeouts.wait_for(reader.readexactly(1), timeout)
        if first != MAGIC[:1]:
            await peer_http.serve(first, reader, writer, self._http, timeout)
            return
        rest = await timeouts.wait_for(reader.readexactly(len(MAGIC) - 1 + HELLO_SIZE), timeout)
        if rest[: len(MAGIC) - 1] != MAGIC[1:]:
            raise ProtocolError("bad magic")
        hello = Hello.decode(rest[len(MAGIC) - 1 :])
        stats = self._peer_stats(hello.sender_id)
        status = self._judge(hello, known=stats is not None)
        writer.write(Verdict(status, self._cluster_id, self._local_id).encode())
        if status != Status.OK or stats is None:
            await writer.drain()
            return
        if hello.kind == Kind.SNAPSHOT:
            await self._snapshots.receive(hello.sender_id, reader, writer)
            await writer.drain()
            return
        old = self._streams.get(hello.sender_id)
        if old is not None:
            log.warning(
                "closed an existing TCP streaming connection with remote peer",
                remote_peer_id=f"{hello.sender_id:x}",
            )
            old.transport.abort()
        self._streams[hello.sender_id] = writer
        try:
            await self._read_stream(hello.sender_id, reader, stats)
        finally:
            if self._streams.get(hello.sender_id) is writer:
                del self._streams[hello.sender_id]

    def _judge(self, hello: Hello, known: bool) -> Status:
        """Whether to accept a hello; every refusal is logged here, on the receiving side."""
        fields = {
            "local_member_id": f"{self._local_id:x}",
            "local_member_cluster_id": f"{self._cluster_id:x}",
            "remote_peer_id": f"{hello.sender_id:x}",
            "remote_peer_cluster_id": f"{hello.cluster_id:x}",
        }
        if hello.version != PROTOCOL_VERSION:
            log.error(
                "request version incompatibility",
                remote_peer_protocol_version=hello.version,
                local_protocol_version=PROTOCOL_VERSION,
                **fields,
            )
            return Status.VERSION_MISMATCH
        if hello.cluster_id != self._cluster_id:
            log.error("request cluster ID mismatch", **fields)
            return Status.CLUSTER_ID_MISMATCH
        if hello.receiver_id != self._local_id:
            log.error(
                "ignored streaming request; ID mismatch", remote_peer_id_to=f"{hello.receiver_id:x}", **fields
            )
            return Status.MEMBER_ID_MISMATCH
        if self._handler.is_removed(hello.sender_id):
            log.warning("rejected stream from remote peer because it was removed", **fields)
            return Status.REMOVED
        if not known:
            log.warning("failed to find remote peer in cluster", **fields)
            return Status.UNKNOWN_PEER
        if hello.kind not in (Kind.STREAM, Kind.SNAPSHOT):
            log.error("unknown peer connection kind", kind=hello.kind, **fields)
            return Status.BAD_KIND
        return Status.OK

    async def _read_stream(self, sender: int, reader: asyncio.StreamReader, stats: PeerStats) -> None:
        """Deliver frames until EOF. Invariant at the top of the loop: `buf` holds no complete frame."""
        max_frame = self._cfg.max_frame_bytes
        on_message = self._handler.on_message
        local = self._local_id
        header = FRAME_HEADER.size
        buf = b""
        while True:
            if len(buf) >= header:  # a frame's head arrived: read exactly the rest of it
                (n,) = FRAME_HEADER.unpack_from(buf)
                buf += await reader.readexactly(header + n - len(buf))
            else:
                chunk = await reader.read(READ_BYTES)
                if not chunk:
                    if buf:
                        raise ProtocolError("stream ended inside a frame")
                    return
                buf = buf + chunk if buf else chunk
            view = memoryview(buf)
            pos, end, count = 0, len(buf), 0
            while end - pos >= header:
                (n,) = FRAME_HEADER.unpack_from(buf, pos)
                if n > max_frame:
                    raise ProtocolError(f"frame of {n} bytes exceeds the limit of {max_frame}")
                stop = pos + header + n
                if stop > end:
                    break
                msg = decode_message(view[pos + header : stop])
                if msg.frm != sender or msg.to != local:
                    raise ProtocolError(
                        f"message from {msg.frm:x} to {msg.to:x} on the stream from {sender:x}"
                    )
                on_message(msg)
                count += 1
                pos = stop
            if pos:
                stats.received_messages += count
                stats.received_bytes += pos - count * header
                buf = buf[pos:]


def _socket_peer(conn: socket.socket) -> str:
    try:
        host, port = conn.getpeername()[:2]
    except (OSError, ValueError):
        return "unknown"
    return f"{host}:{port}"


def _log_rejected(remote: str, exc: BaseException) -> None:
    """etcd's warning for a refused TLS handshake."""
    error = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
    log.warning("rejected connection", **{"remote-addr": remote, "server-name": "", "error": error})


def _peername(writer: asyncio.StreamWriter) -> str:
    with contextlib.suppress(OSError, TypeError, IndexError):
        host, port = writer.get_extra_info("peername")[:2]
        return f"{host}:{port}"
    return "unknown"
