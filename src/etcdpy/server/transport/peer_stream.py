"""The outbound message stream to one peer.

One long-lived connection per peer carries frames of encoded messages. `enqueue` never
blocks: it appends to a bounded queue; `flush` hands everything queued (a whole Ready's
messages) to the socket in a single `writelines` at once, so a leader's appends are on the
wire before it starts its own fsync. When the socket buffer passes `write_buffer_bytes`,
asyncio pauses writing; messages queue until it resumes and then go out together.

Queue rules (Raft tolerates loss; a blocked sender would stall the member):
- queued while the stream is active or a dial is in progress;
- dropped while backing off after a failed dial or refusal, and when the queue is full;
- the queue is dropped when a dial fails; a broken active stream reports the peer
  unreachable, since frames in flight may be lost.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from typing import cast

from etcdpy.pkg import timeouts, zaplog
from etcdpy.server.transport.config import TransportConfig
from etcdpy.server.transport.endpoints import Endpoints, PeerAddr
from etcdpy.server.transport.framing import FRAME_HEADER, VERDICT_SIZE, Status, Verdict
from etcdpy.server.transport.handler import TransportHandler
from etcdpy.server.transport.stats import PeerStats

log = zaplog.get("rafthttp")
_Emit = Callable[..., None]


class _StreamProtocol(asyncio.Protocol):
    """One connection: writes the hello, reads the verdict, then only writes."""

    def __init__(self, stream: PeerStream, hello: bytes, write_buffer_bytes: int) -> None:
        loop = asyncio.get_running_loop()
        # None when the connection closed before a verdict arrived.
        self.verdict: asyncio.Future[Verdict | None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()
        self.transport: asyncio.Transport | None = None
        self._stream = stream
        self._hello = hello
        self._write_buffer_bytes = write_buffer_bytes
        self._buf = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.transport.set_write_buffer_limits(high=self._write_buffer_bytes)
        self.transport.write(self._hello)

    def data_received(self, data: bytes) -> None:
        self._buf += data
        # The receiver writes exactly one verdict and nothing after it.
        if len(self._buf) > VERDICT_SIZE or self.verdict.done():
            log.warning(
                "unexpected bytes from remote peer; closing stream",
                remote_peer_id=f"{self._stream.peer_id:x}",
            )
            self.abort()
        elif len(self._buf) == VERDICT_SIZE:
            self.verdict.set_result(Verdict.decode(self._buf))

    def connection_lost(self, exc: Exception | None) -> None:
        # Either future may have been cancelled by a waiter that gave up.
        if not self.verdict.done():
            self.verdict.set_result(None)
        if not self.closed.done():
            self.closed.set_result(None)

    def pause_writing(self) -> None:
        self._stream.pause()

    def resume_writing(self) -> None:
        self._stream.resume()

    def abort(self) -> None:
        if self.transport is not None:
            self.transport.abort()


class PeerStream:
    def __init__(
        self, peer_id: int, urls: Sequence[str], hello: bytes, cfg: TransportConfig, handler: TransportHandler
    ) -> None:
        self.peer_id = peer_id
        self.active_since: float | None = None
        self.stats = PeerStats()
        self.urls = list(urls)
        self._endpoints = Endpoints(urls)
        self._hello = hello
        self._cfg = cfg
        self._handler = handler
        # Alternating frame headers and payloads, ready for writelines.
        self._queue: list[bytes] = []
        self._queued = 0
        self._queued_bytes = 0
        self._accepting = True
        # The active stream's transport: set from an accepted handshake until the connection is lost.
        self._transport: asyncio.Transport | None = None
        self._conn: _StreamProtocol | None = None
        self._conn_addr: PeerAddr | None = None
        self._paused = False
        self._flush_handle: asyncio.Handle | None = None
        self._last_failure: str | None = None
        # Whether the last message was dropped: a run of drops logs one warning.
        self._dropping = False

    def enqueue(self, payload: bytes) -> bool:
        """Queue one encoded message; False when it was dropped instead."""
        n = len(payload)
        if (
            not self._accepting
            or self._queued >= self._cfg.max_queue_messages
            or self._queued_bytes + n > self._cfg.max_queue_bytes
        ):
            self.stats.dropped_messages += 1
            if not self._dropping:
                self._dropping = True
                log.warning(
                    "dropped internal Raft messages to remote peer (sending buffer full or peer unreachable)",
                    remote_peer_id=f"{self.peer_id:x}",
                    queued_messages=self._queued,
                )
            return False
        self._dropping = False
        self._queue.append(FRAME_HEADER.pack(n))
        self._queue.append(payload)
        self._queued += 1
        self._queued_bytes += n
        return True

    def update_urls(self, urls: Sequence[str]) -> None:
        self._endpoints.update(urls)
        self.urls = list(urls)
        if self._conn is not None and self._conn_addr not in self._endpoints.all():
            self._conn.abort()

    def pause(self) -> None:
        self._paused = True

    def resume(self) -> None:
        self._paused = False
        self._schedule_flush()

    def _schedule_flush(self) -> None:
        if self._flush_handle is None and self._queue:
            self._flush_handle = asyncio.get_running_loop().call_soon(self.flush)

    def flush(self) -> None:
        """Write what is queued, unless there is no active stream or it is paused (it is written
        once the stream is active or resumes)."""
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        transport = self._transport
        # A transport lost in this loop turn is closing before connection_lost clears it: what is
        # queued waits for the next stream (writing to it would raise).
        if transport is None or self._paused or not self._queue or transport.is_closing():
            return
        frames = self._queue
        stats = self.stats
        stats.sent_writes += 1
        stats.sent_messages += self._queued
        stats.sent_bytes += self._queued_bytes
        self._queue, self._queued, self._queued_bytes = [], 0, 0
        transport.writelines(frames)

    async def run(self) -> None:
        """Keep a stream to the peer until cancelled."""
        backoff = self._cfg.backoff_min
        self._accepting = True
        try:
            while True:
                conn = await self._connect()
                if conn is None:
                    self._drop_queue()
                    self._accepting = False
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, self._cfg.backoff_max)
                    self._accepting = True
                    continue
                backoff = self._cfg.backoff_min
                self._activate(conn)
                # Shielded: cancelling the run must leave `closed` to connection_lost (awaited below).
                await asyncio.shield(conn.closed)
                self._deactivate()
                self._conn = self._conn_addr = None
                log.warning(
                    "lost TCP streaming connection with remote peer", remote_peer_id=f"{self.peer_id:x}"
                )
                self._handler.report_unreachable(self.peer_id)
                # A peer that accepts and drops at once must not be redialled in a busy loop.
                await asyncio.sleep(self._cfg.backoff_min)
        finally:
            self._accepting = False
            self._deactivate()
            self._queue, self._queued, self._queued_bytes = [], 0, 0
            conn = self._conn
            if conn is not None:
                conn.abort()
                await conn.closed

    async def _connect(self) -> _StreamProtocol | None:
        addr = self._endpoints.current()
        loop = asyncio.get_running_loop()
        cfg = self._cfg
        try:
            _, conn = await timeouts.wait_for(
                loop.create_connection(
                    lambda: _StreamProtocol(self, self._hello, cfg.write_buffer_bytes),
                    addr.host,
                    addr.port,
                    **addr.dial_options(cfg.client_ssl),
                ),
                cfg.dial_timeout,
            )
        except (OSError, TimeoutError) as exc:
            self._endpoints.failed(addr)
            self._failure(
                log.warning, "failed to dial remote peer", addr, error=str(exc) or type(exc).__name__
            )
            return None
        self._conn, self._conn_addr = conn, addr
        try:
            verdict = await timeouts.wait_for(conn.verdict, cfg.handshake_timeout)
        except TimeoutError:
            self._failure(log.warning, "remote peer did not answer the handshake in time", addr)
        else:
            if verdict is not None and verdict.status == Status.OK:
                return conn
            if verdict is None:
                self._failure(log.warning, "remote peer closed the stream during the handshake", addr)
            else:
                self._refused(addr, verdict)
        self._endpoints.failed(addr)
        conn.abort()
        await conn.closed
        self._conn = self._conn_addr = None
        return None

    def _refused(self, addr: PeerAddr, verdict: Verdict) -> None:
        self._failure(
            log.error,
            f"request sent was ignored by remote peer ({verdict.reason()})",
            addr,
            remote_peer_cluster_id=f"{verdict.cluster_id:x}",
            remote_peer_member_id=f"{verdict.member_id:x}",
        )
        if verdict.status == Status.REMOVED:
            self._handler.report_removed(self.peer_id)

    def _failure(self, level: _Emit, msg: str, addr: PeerAddr, **fields: str) -> None:
        """Log a failed attempt at `level` when it differs from the previous one, else at debug level."""
        emit = log.debug if msg == self._last_failure else level
        self._last_failure = msg
        emit(msg, remote_peer_id=f"{self.peer_id:x}", address=f"{addr[0]}:{addr[1]}", **fields)

    def _activate(self, conn: _StreamProtocol) -> None:
        self._transport, self._paused = conn.transport, False
        self.active_since = time.monotonic()
        self._last_failure = None
        log.info("peer became active", peer_id=f"{self.peer_id:x}")
        self._schedule_flush()

    def _deactivate(self) -> None:
        if self._flush_handle is not None:
            self._flush_handle.cancel()
            self._flush_handle = None
        self._transport = None
        self.active_since = None

    def _drop_queue(self) -> None:
        if self._queued:
            self.stats.dropped_messages += self._queued
            self._queue, self._queued, self._queued_bytes = [], 0, 0
            self._handler.report_unreachable(self.peer_id)
