"""Handshakes: connections from another cluster, to the wrong member, from removed or unknown members."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from pathlib import Path

from etcdpy.server.transport.framing import MAGIC, Kind, Status
from tests.transport._harness import (
    CLUSTER_ID,
    FAST,
    captured_logs,
    heartbeat,
    lone_node,
    make_node,
    raw_connect,
    start_cluster,
    stop_all,
    wait_closed_by_peer,
    wait_until,
)


def test_a_member_of_another_cluster_is_refused(tmp_path: Path) -> None:
    async def scenario() -> None:
        n1, n2 = make_node(tmp_path, 1, cluster_id=0xAAAA), make_node(tmp_path, 2, cluster_id=0xBBBB)
        n1.transport.add_peer(2, [n2.url])
        n2.transport.add_peer(1, [n1.url])
        with captured_logs() as logs:
            n1.transport.start([n1.sock])
            n2.transport.start([n2.sock])
            try:
                await wait_until(
                    lambda: logs.has("request cluster ID mismatch", logging.ERROR), "receiver's log"
                )
                await wait_until(
                    lambda: logs.has("ignored by remote peer (cluster ID mismatch)", logging.ERROR),
                    "sender's log",
                )
                n1.transport.send([heartbeat(1, 2)])
                assert n1.transport.active_since(2) is None and n2.transport.active_since(1) is None
                assert logs.has("'remote_peer_cluster_id': 'bbbb'") and logs.has(
                    "'remote_peer_cluster_id': 'aaaa'"
                )
            finally:
                await stop_all([n1, n2])
        assert n1.handler.messages == n2.handler.messages == []

    asyncio.run(scenario())


def test_a_stream_meant_for_another_member_is_refused(tmp_path: Path) -> None:
    async def scenario() -> None:
        n1, n3 = make_node(tmp_path, 1), make_node(tmp_path, 3)
        n1.transport.add_peer(2, [n3.url])  # member 2's URL wrongly points at member 3
        n1.transport.add_peer(3, [n3.url])
        n3.transport.add_peer(1, [n1.url])
        with captured_logs() as logs:
            n1.transport.start([n1.sock])
            n3.transport.start([n3.sock])
            try:
                await wait_until(
                    lambda: logs.has("ignored streaming request; ID mismatch", logging.ERROR), "log"
                )
                await wait_until(lambda: logs.has("(to field mismatch)", logging.ERROR), "sender's log")
                assert n1.transport.active_since(2) is None
                await wait_until(lambda: n3.transport.active_since(1), "the stream the other way")
            finally:
                await stop_all([n1, n3])

    asyncio.run(scenario())


def test_a_removed_member_is_refused_and_told(tmp_path: Path) -> None:
    async def scenario() -> None:
        n1, n2 = make_node(tmp_path, 1), make_node(tmp_path, 2)
        n2.handler.removed_ids.add(1)
        n1.transport.add_peer(2, [n2.url])
        n2.transport.add_peer(1, [n1.url])
        with captured_logs() as logs:
            n1.transport.start([n1.sock])
            n2.transport.start([n2.sock])
            try:
                await wait_until(lambda: n1.handler.removed_by, "the removal report")
                assert set(n1.handler.removed_by) == {2}
                assert logs.has("rejected stream from remote peer because it was removed", logging.WARNING)
                assert n1.transport.active_since(2) is None
            finally:
                await stop_all([n1, n2])

    asyncio.run(scenario())


def test_an_unknown_sender_is_refused(tmp_path: Path) -> None:
    async def scenario() -> None:
        n2 = lone_node(tmp_path, 2, phantom=9)
        try:
            with captured_logs() as logs:
                reader, writer, verdict = await raw_connect(n2, sender=7)
                assert (verdict.status, verdict.cluster_id, verdict.member_id) == (
                    Status.UNKNOWN_PEER,
                    CLUSTER_ID,
                    2,
                )
                await wait_closed_by_peer(reader)
                writer.close()
                assert logs.has("failed to find remote peer in cluster", logging.WARNING)
        finally:
            await n2.transport.stop()

    asyncio.run(scenario())


def test_other_protocol_versions_and_kinds_are_refused(tmp_path: Path) -> None:
    async def scenario() -> None:
        n2 = lone_node(tmp_path, 2, phantom=9)
        try:
            for kw, status in (({"version": 2}, Status.VERSION_MISMATCH), ({"kind": 7}, Status.BAD_KIND)):
                reader, writer, verdict = await raw_connect(n2, sender=9, **kw)
                assert verdict.status == status
                await wait_closed_by_peer(reader)
                writer.close()
            _, ok_writer, verdict = await raw_connect(n2, sender=9, kind=Kind.STREAM)
            assert verdict.status == Status.OK
            ok_writer.close()
        finally:
            await n2.transport.stop()

    asyncio.run(scenario())


def test_bad_magic_and_silence_are_cut_off(tmp_path: Path) -> None:
    async def scenario() -> None:
        n2 = lone_node(tmp_path, 2, phantom=9, cfg=replace(FAST, handshake_timeout=0.2))
        try:
            with captured_logs() as logs:
                reader, writer = await asyncio.open_connection("127.0.0.1", n2.port)
                writer.write(MAGIC[:1] + b"x" * 40)
                await wait_closed_by_peer(reader)
                writer.close()
                assert logs.has("bad magic", logging.WARNING)
            reader, writer = await asyncio.open_connection("127.0.0.1", n2.port)
            writer.write(MAGIC)  # and then nothing: the handshake timeout closes it
            await wait_closed_by_peer(reader)
            writer.close()
        finally:
            await n2.transport.stop()

    asyncio.run(scenario())


def test_removing_a_peer_closes_its_inbound_stream(tmp_path: Path) -> None:
    async def scenario() -> None:
        n1, n2 = nodes = await start_cluster(tmp_path, [1, 2])
        try:
            with captured_logs() as logs:
                n2.transport.remove_peer(1)
                await wait_until(lambda: 2 in n1.handler.unreachable, "member 1 to lose its stream")
                await wait_until(
                    lambda: logs.has("failed to find remote peer in cluster"), "the refused redial"
                )
                assert n1.transport.active_since(2) is None
        finally:
            await stop_all(nodes)

    asyncio.run(scenario())
