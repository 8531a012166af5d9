"""What the transport needs from the member that owns it (implemented by the server)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

from etcdpy.raft import raftpb
from etcdpy.server.membership import Member


class TransportHandler(Protocol):
    """Every method is called on the transport's event loop and must not block."""

    def on_message(self, msg: raftpb.Message) -> None:
        """A message from a peer, in arrival order per connection (step it into the Raft node)."""

    def on_snapshot(self, msg: raftpb.Message, path: Path) -> None:
        """A MsgSnap whose database is now durable at `path` (a file the server takes over)."""

    def report_unreachable(self, peer_id: int) -> None:
        """Messages to `peer_id` were dropped or may have been lost with a broken stream."""

    def report_snapshot(self, peer_id: int, ok: bool) -> None:
        """The outcome of `Transport.send_snapshot` to `peer_id`."""

    def report_removed(self, peer_id: int) -> None:
        """`peer_id` refused this member because the cluster removed it (etcd stops the member)."""

    def is_removed(self, member_id: int) -> bool:
        """Whether `member_id` was removed from the cluster: its connections are refused."""

    def members(self) -> Sequence[Member]:
        """The cluster's members, for GET /members on the peer port."""

    def cluster_version(self) -> str | None:
        """The decided cluster version ("3.5.0"), None before it is decided; for GET /version."""
