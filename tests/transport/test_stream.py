"""Message streams between transports on loopback: order, batching, reconnects, drops, limits, cleanup."""

from __future__ import annotations

import asyncio
import http.client
import logging
from dataclasses import replace
from pathlib import Path
from typing import cast

import pytest

from etcdpy.raft import raftpb
from etcdpy.server.transport.codec import decode_message, encode_message
from etcdpy.server.transport.framing import FRAME_HEADER, HELLO_SIZE, MAGIC, Status, Verdict
from etcdpy.server.transport.stats import PeerStats
from tests.transport._harness import (
    CLUSTER_ID,
    FAST,
    LOOPS,
    Node,
    app,
    captured_logs,
    heartbeat,
    listening_socket,
    lone_node,
    make_node,
    open_sockets,
    raw_connect,
    run,
    silent_peer,
    start_cluster,
    stop_all,
    wait_closed_by_peer,
    wait_until,
)


def _from(node: Node, sender: int) -> list[raftpb.Message]:
    return [m for m in node.handler.messages if m.frm == sender]


def _stats(node: Node, peer: int) -> PeerStats:
    stats = node.transport.stats(peer)
    assert stats is not None
    return stats


@pytest.mark.parametrize("loop", LOOPS)
def test_messages_arrive_complete_and_in_order_from_every_sender(tmp_path: Path, loop: str) -> None:
    async def scenario() -> None:
        nodes = await start_cluster(tmp_path, [1, 2, 3])
        try:
            sent: dict[tuple[int, int], list[raftpb.Message]] = {}
            for round_ in range(40):
                for src in nodes:
                    batch = [
                        m
                        for dst in nodes
                        if dst is not src
                        for m in (
                            *(
                                app(src.id, dst.id, round_ * 10 + k, n_entries=k % 4, size=64 * k)
                                for k in range(10)
                            ),
                            heartbeat(src.id, dst.id, commit=round_),
                        )
                    ]
                    for m in batch:
                        sent.setdefault((m.frm, m.to), []).append(m)
                    src.transport.send(batch)
                await asyncio.sleep(0)
            await wait_until(
                lambda: all(len(n.handler.messages) == 2 * 40 * 11 for n in nodes), "every message"
            )
            for dst in nodes:
                for src in nodes:
                    if src is not dst:
                        assert _from(dst, src.id) == sent[(src.id, dst.id)]
                        assert _stats(dst, src.id).received_messages == 40 * 11
            assert not any(n.handler.unreachable for n in nodes)
        finally:
            await stop_all(nodes)

    run(scenario(), loop)


def test_each_send_leaves_at_once_in_one_write(tmp_path: Path) -> None:
    async def scenario() -> None:
        n1, n2 = nodes = await start_cluster(tmp_path, [1, 2])
        try:
            stats = _stats(n1, 2)
            writes = stats.sent_writes
            for k in range(10):  # ten Readys' worth of messages
                n1.transport.send([app(1, 2, k * 20 + j, n_entries=2) for j in range(20)])
                assert stats.sent_writes == writes + k + 1  # written before send returned
            await wait_until(lambda: len(n2.handler.messages) == 200, "200 messages")
            assert stats.sent_messages == 200
        finally:
            await stop_all(nodes)

    asyncio.run(scenario())


@pytest.mark.parametrize("loop", LOOPS)
def test_send_on_a_stream_lost_in_the_same_loop_turn_keeps_the_messages(tmp_path: Path, loop: str) -> None:
    """The connection closes; before connection_lost runs, a send must neither raise (uvloop raises
    on writes to a closed transport, which once killed a member's raft loop) nor lose the messages:
    they leave on the next stream."""

    async def scenario() -> None:
        n1, n2 = nodes = await start_cluster(tmp_path, [1, 2])
        try:
            conn = n1.transport._peers[2].stream._transport
            assert conn is not None
            conn.close()
            n1.transport.send([heartbeat(1, 2, 7)])
            await wait_until(lambda: any(m.commit == 7 for m in _from(n2, 1)), "the heartbeat, redelivered")
        finally:
            await stop_all(nodes)

    run(scenario(), loop)


class _SlowPeer(asyncio.Protocol):
    """Accepts a stream as member 2, then reads nothing until told to: the sender's buffers fill up."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.messages: list[raftpb.Message] = []
        self.handshaken = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass it

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if not self.handshaken and len(self.buf) >= len(MAGIC) + HELLO_SIZE:
            del self.buf[: len(MAGIC) + HELLO_SIZE]
            self.handshaken = True
            assert self.transport is not None
            self.transport.write(Verdict(Status.OK, CLUSTER_ID, 2).encode())
            self.transport.pause_reading()
        while self.handshaken and len(self.buf) >= 4:
            (n,) = FRAME_HEADER.unpack_from(self.buf)
            if len(self.buf) < 4 + n:
                break
            self.messages.append(decode_message(bytes(self.buf[4 : 4 + n])))
            del self.buf[: 4 + n]


@pytest.mark.parametrize("loop", LOOPS)
def test_messages_queued_while_the_socket_is_full_leave_together(tmp_path: Path, loop: str) -> None:
    async def scenario() -> None:
        peer = _SlowPeer()
        server = await asyncio.get_running_loop().create_server(lambda: peer, sock=listening_socket())
        port = server.sockets[0].getsockname()[1]
        n1 = make_node(tmp_path, 1, cfg=replace(FAST, write_buffer_bytes=64 * 1024))
        n1.transport.add_peer(2, [f"http://127.0.0.1:{port}"])
        n1.transport.start([n1.sock])
        try:
            await wait_until(lambda: n1.transport.active_since(2), "stream to the slow peer")
            # 400 messages of 64 KiB, one per loop iteration: far more than loopback socket buffers hold.
            sent = [app(1, 2, k, n_entries=1, size=64 * 1024) for k in range(400)]
            for m in sent:
                n1.transport.send([m])
                await asyncio.sleep(0)
            assert peer.transport is not None
            peer.transport.resume_reading()
            await wait_until(lambda: len(peer.messages) == 400, "every message at the slow peer")
            assert peer.messages == sent
            stats = _stats(n1, 2)
            assert stats.dropped_messages == 0 and stats.sent_messages == 400
            assert stats.sent_writes < 300  # the backlog went out in batches
        finally:
            await n1.transport.stop()
            server.close()
            assert peer.transport is not None
            peer.transport.close()
            await server.wait_closed()
            await asyncio.sleep(0)

    run(scenario(), loop)


@pytest.mark.parametrize("loop", LOOPS)
def test_stream_reconnects_after_the_receiver_restarts(tmp_path: Path, loop: str) -> None:
    async def scenario() -> None:
        n1, n2 = await start_cluster(tmp_path, [1, 2])
        n2b = None
        try:
            n1.transport.send([app(1, 2, k) for k in range(5)])
            await wait_until(lambda: len(n2.handler.messages) == 5, "messages before the restart")
            await n2.transport.stop()
            await wait_until(lambda: n1.transport.active_since(2) is None, "the stream to notice")
            assert n1.handler.unreachable == [2]
            n2b = make_node(tmp_path, 2, port=n2.port)
            n2b.transport.add_peer(1, [n1.url])
            n2b.transport.start([n2b.sock])
            await wait_until(lambda: n1.transport.active_since(2), "the stream to reconnect")
            later = [app(1, 2, 100 + k, n_entries=3) for k in range(50)]
            n1.transport.send(later)
            await wait_until(lambda: len(n2b.handler.messages) == 50, "messages after the restart")
            assert n2b.handler.messages == later
        finally:
            await stop_all([n for n in (n1, n2, n2b) if n is not None])

    run(scenario(), loop)


def test_full_queue_drops_and_reports_without_blocking(tmp_path: Path) -> None:
    async def scenario() -> None:
        n1 = make_node(tmp_path, 1, cfg=replace(FAST, max_queue_messages=10, max_queue_bytes=4096))
        async with silent_peer() as url:  # the handshake hangs: messages stay queued
            n1.transport.add_peer(2, [url])
            n1.transport.start([n1.sock])
            try:
                n1.transport.send([heartbeat(1, 2, k) for k in range(15)])
                assert n1.handler.unreachable == []  # reports never run inside send()
                await wait_until(lambda: n1.handler.unreachable, "the drop report")
                assert n1.handler.unreachable == [2]  # one report per send() call
                assert _stats(n1, 2).dropped_messages == 5
                n1.transport.send([heartbeat(1, 2)])
                await wait_until(lambda: len(n1.handler.unreachable) == 2, "the second drop report")
                assert _stats(n1, 2).dropped_messages == 6
            finally:
                await n1.transport.stop()

    asyncio.run(scenario())


def test_queue_is_bounded_in_bytes(tmp_path: Path) -> None:
    async def scenario() -> None:
        n1 = make_node(tmp_path, 1, cfg=replace(FAST, max_queue_bytes=10_000))
        async with silent_peer() as url:
            n1.transport.add_peer(2, [url])
            n1.transport.start([n1.sock])
            try:
                n1.transport.send([app(1, 2, k, size=4000) for k in range(3)])
                await wait_until(lambda: n1.handler.unreachable == [2], "the drop report")
                assert _stats(n1, 2).dropped_messages == 1
            finally:
                await n1.transport.stop()

    asyncio.run(scenario())


def test_unreachable_peer_messages_are_dropped_and_reported(tmp_path: Path) -> None:
    async def scenario() -> None:
        closed = listening_socket()
        dead_url = f"http://127.0.0.1:{closed.getsockname()[1]}"
        closed.close()
        n1 = make_node(tmp_path, 1)
        n1.transport.add_peer(2, [dead_url])
        n1.transport.start([n1.sock])
        try:

            async def dropping() -> bool:
                n1.transport.send([heartbeat(1, 2)])
                await asyncio.sleep(0.001)
                return bool(n1.handler.unreachable)

            for _ in range(2000):
                if await dropping():
                    break
            assert set(n1.handler.unreachable) == {2}
            assert n1.transport.active_since(2) is None
        finally:
            await n1.transport.stop()

    asyncio.run(scenario())


def test_oversized_messages_are_dropped_by_the_sender(tmp_path: Path) -> None:
    async def scenario() -> None:
        cfg = replace(FAST, max_frame_bytes=64 * 1024, snapshot_chunk_bytes=32 * 1024)
        n1, n2 = nodes = await start_cluster(tmp_path, [1, 2], cfg=cfg)
        try:
            with captured_logs() as logs:
                n1.transport.send([app(1, 2, 0, size=70 * 1024), heartbeat(1, 2, 7)])
                await wait_until(lambda: n2.handler.messages, "the message after the oversized one")
                assert n2.handler.messages == [heartbeat(1, 2, 7)]
                assert n1.handler.unreachable == [2]
                assert logs.has("larger than the frame limit", logging.ERROR)
        finally:
            await stop_all(nodes)

    asyncio.run(scenario())


def test_an_oversized_frame_closes_the_connection(tmp_path: Path) -> None:
    async def scenario() -> None:
        cfg = replace(FAST, max_frame_bytes=64 * 1024, snapshot_chunk_bytes=32 * 1024)
        n2 = lone_node(tmp_path, 2, phantom=9, cfg=cfg)
        try:
            with captured_logs() as logs:
                reader, writer, verdict = await raw_connect(n2, sender=9)
                assert verdict.status == Status.OK
                ok = encode_message(heartbeat(9, 2))
                writer.writelines([FRAME_HEADER.pack(len(ok)), ok, FRAME_HEADER.pack(64 * 1024 + 1)])
                await wait_closed_by_peer(reader)
                writer.close()
                assert logs.has("exceeds the limit of 65536", logging.WARNING)
                assert n2.handler.messages == [heartbeat(9, 2)]
        finally:
            await n2.transport.stop()

    asyncio.run(scenario())


def test_a_message_not_addressed_along_the_stream_closes_it(tmp_path: Path) -> None:
    async def scenario() -> None:
        n2 = lone_node(tmp_path, 2, phantom=9)
        try:
            with captured_logs() as logs:
                reader, writer, verdict = await raw_connect(n2, sender=9)
                assert verdict.status == Status.OK
                forged = encode_message(heartbeat(3, 2))
                writer.writelines([FRAME_HEADER.pack(len(forged)), forged])
                await wait_closed_by_peer(reader)
                writer.close()
                assert logs.has("on the stream from 9", logging.WARNING)
                assert n2.handler.messages == []
        finally:
            await n2.transport.stop()

    asyncio.run(scenario())


@pytest.mark.parametrize("loop", LOOPS)
def test_stop_leaves_no_tasks_or_sockets(tmp_path: Path, loop: str) -> None:
    async def scenario() -> None:
        before = open_sockets()
        nodes = await start_cluster(tmp_path, [1, 2, 3])
        n1, n2, _ = nodes
        for n in nodes:
            n.transport.send([app(n.id, m.id, k) for m in nodes if m is not n for k in range(100)])
        # Connections in every state: a handshake half-sent, an idle HTTP keep-alive, a snapshot mid-way.
        _, half = await asyncio.open_connection("127.0.0.1", n2.port)
        half.write(MAGIC)
        conn = http.client.HTTPConnection("127.0.0.1", n1.port, timeout=5)
        await asyncio.to_thread(conn.request, "GET", "/version")
        assert (await asyncio.to_thread(conn.getresponse)).status == 200
        _, snap_writer, _ = await raw_connect(n2, sender=1, kind=2)
        ours = {
            half.get_extra_info("socket").fileno(),
            conn.sock.fileno(),
            snap_writer.get_extra_info("socket").fileno(),
        }
        await stop_all(nodes)
        assert asyncio.all_tasks() == {asyncio.current_task()}
        assert all(n.sock.fileno() == -1 for n in nodes)
        assert open_sockets() - before == ours  # only the test's own ends remain
        conn.close()
        half.close()
        snap_writer.close()

    run(scenario(), loop)


@pytest.mark.parametrize("peer_first", [True, False])
def test_peers_added_before_or_after_start(tmp_path: Path, peer_first: bool) -> None:
    async def scenario() -> None:
        n1, n2 = make_node(tmp_path, 1), make_node(tmp_path, 2)
        n2.transport.add_peer(1, [n1.url])
        n2.transport.start([n2.sock])
        if peer_first:
            n1.transport.add_peer(2, [n2.url])
            n1.transport.start([n1.sock])
        else:
            n1.transport.start([n1.sock])
            n1.transport.add_peer(2, [n2.url])
        try:
            n1.transport.send([heartbeat(1, 2, 1)])  # queued while the first dial is in progress
            await wait_until(lambda: n2.handler.messages == [heartbeat(1, 2, 1)], "the first message")
        finally:
            await stop_all([n1, n2])

    asyncio.run(scenario())


def test_update_peer_redials_the_new_url_and_remove_peer_forgets_it(tmp_path: Path) -> None:
    async def scenario() -> None:
        n1, n2 = make_node(tmp_path, 1), make_node(tmp_path, 2)
        dead = listening_socket()
        dead_url = f"http://127.0.0.1:{dead.getsockname()[1]}"
        dead.close()
        n1.transport.add_peer(2, [dead_url])
        n2.transport.add_peer(1, [n1.url])
        n1.transport.start([n1.sock])
        n2.transport.start([n2.sock])
        try:
            n1.transport.update_peer(2, [n2.url])
            await wait_until(lambda: n1.transport.active_since(2), "the stream to the new URL")
            n1.transport.remove_peer(2)
            assert n1.transport.active_since(2) is None and n1.transport.stats(2) is None
            n1.transport.send([heartbeat(1, 2)])  # an unknown peer: ignored
            await wait_until(lambda: n2.transport.active_since(1) is None, "member 2's stream to be refused")
            assert n2.handler.messages == []
        finally:
            await stop_all([n1, n2])

    asyncio.run(scenario())


def test_msgsnap_must_go_through_send_snapshot(tmp_path: Path) -> None:
    async def scenario() -> None:
        n1 = make_node(tmp_path, 1)
        n1.transport.add_peer(2, ["http://127.0.0.1:1"])
        snap = raftpb.Message(raftpb.MessageType.MsgSnap, 2, 1, term=1, snapshot=raftpb.Snapshot())
        with pytest.raises(ValueError, match="send_snapshot"):
            n1.transport.send([snap])
        with pytest.raises(ValueError, match="own peer"):
            n1.transport.add_peer(1, ["http://127.0.0.1:1"])
        with pytest.raises(ValueError, match="unsupported peer URL"):
            n1.transport.add_peer(3, ["unix://127.0.0.1:1"])
        await n1.transport.stop()
        n1.sock.close()  # never handed to the transport

    asyncio.run(scenario())
