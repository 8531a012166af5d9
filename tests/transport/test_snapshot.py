"""Snapshot streaming: a multi-MB database in chunks, checksummed, durable before delivery."""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import os
from pathlib import Path
from typing import BinaryIO

import pytest

from etcdpy.pkg import timeouts
from etcdpy.raft import raftpb
from etcdpy.server.transport import snapshot_file_name
from etcdpy.server.transport.codec import encode_message
from etcdpy.server.transport.framing import FRAME_HEADER, SNAPSHOT_FAILED, Kind, Status
from tests.transport._harness import (
    LOOPS,
    captured_logs,
    dead_url,
    lone_node,
    make_node,
    raw_connect,
    run,
    start_cluster,
    stop_all,
    wait_until,
)

SIZE = 5 * (1 << 20) + 12345  # five full chunks and a partial one


def _msg_snap(frm: int, to: int, index: int = 0x2A) -> raftpb.Message:
    conf = raftpb.ConfState(voters=(frm, to), learners=(5,))
    meta = raftpb.SnapshotMeta(index=index, term=4, conf_state=conf)
    return raftpb.Message(raftpb.MessageType.MsgSnap, to, frm, term=4, snapshot=raftpb.Snapshot(b"", meta))


class _TrackedFile(io.BytesIO):
    closed_by_transport = False

    def close(self) -> None:
        _TrackedFile.closed_by_transport = True
        super().close()


@pytest.mark.parametrize("loop", LOOPS)
def test_a_multi_megabyte_snapshot_arrives_intact_and_durable(tmp_path: Path, loop: str) -> None:
    data = os.urandom(SIZE)

    def open_data() -> BinaryIO:
        return _TrackedFile(data)

    async def scenario() -> None:
        n1, n2 = nodes = await start_cluster(tmp_path, [1, 2])
        try:
            msg = _msg_snap(1, 2)
            n1.transport.send_snapshot(msg, open_data)
            await wait_until(lambda: n1.handler.snapshot_reports, "the snapshot report")
            assert n1.handler.snapshot_reports == [(2, True)]
            [(got, path)] = n2.handler.snapshots
            assert got == msg
            assert path == n2.snap_dir / snapshot_file_name(0x2A) == n2.snap_dir / "000000000000002a.snap.db"
            assert hashlib.sha256(path.read_bytes()).digest() == hashlib.sha256(data).digest()
            assert sorted(p.name for p in n2.snap_dir.iterdir()) == [path.name]  # no temporary file left
            assert _TrackedFile.closed_by_transport
            # The stream carried on meanwhile.
            n1.transport.send([raftpb.Message(raftpb.MessageType.MsgHeartbeat, 2, 1, term=4)])
            await wait_until(lambda: n2.handler.messages, "a message after the snapshot")
        finally:
            await stop_all(nodes)

    run(scenario(), loop)


async def _send_raw_snapshot(tmp: Path, tamper: str) -> tuple[bytes, list[tuple[raftpb.Message, Path]], Path]:
    """Stream a snapshot by hand, damaged as `tamper` says: the answer, the deliveries, the snap dir."""
    n2 = lone_node(tmp, 2, phantom=9)
    try:
        reader, writer, verdict = await raw_connect(n2, sender=9, kind=Kind.SNAPSHOT)
        assert verdict.status == Status.OK
        payload = encode_message(_msg_snap(9, 2))
        writer.writelines([FRAME_HEADER.pack(len(payload)), payload])
        chunks = [os.urandom(300_000) for _ in range(4)]
        digest = hashlib.sha256(b"".join(chunks)).digest()
        if tamper == "corrupt":
            chunks[2] = chunks[2][:-1] + bytes([chunks[2][-1] ^ 1])
        if tamper == "truncate":
            chunks = chunks[:2]
        for c in chunks:
            writer.writelines([FRAME_HEADER.pack(len(c)), c])
        if tamper != "truncate":
            writer.writelines([FRAME_HEADER.pack(0), digest])
        else:
            writer.write_eof()
        answer = await timeouts.wait_for(reader.read(), 10)
        writer.close()
        # The receiver cleans up asynchronously after the answer (or the cut-off stream).
        await wait_until(
            lambda: not any(n2.snap_dir.iterdir()) or n2.handler.snapshots, "the receiver's cleanup"
        )
        return answer, n2.handler.snapshots, n2.snap_dir
    finally:
        await n2.transport.stop()


def test_a_corrupted_snapshot_is_rejected_and_discarded(tmp_path: Path) -> None:
    async def scenario() -> None:
        with captured_logs() as logs:
            answer, delivered, snap_dir = await _send_raw_snapshot(tmp_path, "corrupt")
        assert answer == SNAPSHOT_FAILED
        assert delivered == [] and list(snap_dir.iterdir()) == []
        assert logs.has("database snapshot checksum mismatch; discarded", logging.ERROR)

    asyncio.run(scenario())


def test_a_truncated_snapshot_is_discarded(tmp_path: Path) -> None:
    async def scenario() -> None:
        answer, delivered, snap_dir = await _send_raw_snapshot(tmp_path, "truncate")
        assert answer == b""
        assert delivered == [] and list(snap_dir.iterdir()) == []

    asyncio.run(scenario())


def test_an_intact_raw_snapshot_is_accepted(tmp_path: Path) -> None:
    async def scenario() -> None:
        answer, delivered, snap_dir = await _send_raw_snapshot(tmp_path, "none")
        assert answer == b"\x00"
        assert [m.snapshot.metadata.index for m, _ in delivered if m.snapshot] == [0x2A]
        assert [p.name for p in snap_dir.iterdir()] == ["000000000000002a.snap.db"]

    asyncio.run(scenario())


def test_snapshot_to_an_unreachable_or_unknown_peer_reports_failure(tmp_path: Path) -> None:
    async def scenario() -> None:
        n1 = make_node(tmp_path, 1)
        n1.transport.add_peer(2, [dead_url()])
        n1.transport.start([n1.sock])
        try:
            n1.transport.send_snapshot(_msg_snap(1, 2), lambda: io.BytesIO(b"db"))
            n1.transport.send_snapshot(_msg_snap(1, 3), lambda: io.BytesIO(b"db"))
            await wait_until(lambda: len(n1.handler.snapshot_reports) == 2, "both reports")
            assert sorted(n1.handler.snapshot_reports) == [(2, False), (3, False)]
        finally:
            await n1.transport.stop()

    asyncio.run(scenario())


def test_a_refused_snapshot_reports_failure(tmp_path: Path) -> None:
    async def scenario() -> None:
        n1, n2 = nodes = await start_cluster(tmp_path, [1, 2])
        try:
            n2.handler.removed_ids.add(1)
            n1.transport.send_snapshot(_msg_snap(1, 2), lambda: io.BytesIO(b"db"))
            await wait_until(lambda: n1.handler.snapshot_reports, "the report")
            assert n1.handler.snapshot_reports == [(2, False)]
            assert n2.handler.snapshots == []
        finally:
            await stop_all(nodes)

    asyncio.run(scenario())


def test_a_failing_data_opener_reports_failure(tmp_path: Path) -> None:
    def broken() -> BinaryIO:
        raise RuntimeError("no database")

    async def scenario() -> None:
        nodes = await start_cluster(tmp_path, [1, 2])
        try:
            with captured_logs() as logs:
                nodes[0].transport.send_snapshot(_msg_snap(1, 2), broken)
                await wait_until(lambda: nodes[0].handler.snapshot_reports, "the report")
            assert nodes[0].handler.snapshot_reports == [(2, False)]
            assert logs.has("no database", logging.ERROR)
            await wait_until(lambda: not any(nodes[1].snap_dir.iterdir()), "the receiver's cleanup")
        finally:
            await stop_all(nodes)

    asyncio.run(scenario())
