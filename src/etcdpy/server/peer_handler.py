"""What the peer transport calls on the member: messages into the Raft node, reports about peers,
and the membership the peer port shows (GET /members, /version)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from etcdpy.pkg import zaplog
from etcdpy.raft import raftpb
from etcdpy.server.membership import Member

if TYPE_CHECKING:
    from etcdpy.server.server import EtcdServer

log = zaplog.get("etcdserver")


class PeerHandler:
    """The server's side of `TransportHandler`; every call runs on the member's event loop."""

    def __init__(self, server: EtcdServer) -> None:
        self._server = server

    def on_message(self, msg: raftpb.Message) -> None:
        self._server.step(msg)

    def on_snapshot(self, msg: raftpb.Message, path: Path) -> None:
        self._server.receive_snapshot(msg, path)

    def report_unreachable(self, peer_id: int) -> None:
        self._server.node.node.report_unreachable(peer_id)

    def report_snapshot(self, peer_id: int, ok: bool) -> None:
        self._server.node.node.report_snapshot(peer_id, ok)
        self._server.wake()

    def report_removed(self, peer_id: int) -> None:
        log.warning("a peer says this member was removed from the cluster", **{"peer-id": f"{peer_id:x}"})
        self._server.removed_from_cluster()

    def is_removed(self, member_id: int) -> bool:
        return member_id in self._server.cluster.removed

    def members(self) -> Sequence[Member]:
        return sorted(self._server.cluster.members.values(), key=lambda m: m.id)

    def cluster_version(self) -> str | None:
        return self._server.cluster_version or None
