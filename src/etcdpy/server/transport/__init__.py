"""The peer transport: how members exchange Raft messages over their peer URLs (port 2380).

API (everything runs on the member's event loop; nothing here blocks it)::

    t = Transport(local_id, cluster_id, handler, snapshot_dir, TransportConfig.for_limits(...))
    t.add_peer(peer_id, ["http://10.0.0.2:2380"])   # also update_peer(id, urls) (KeyError if unknown),
                                                     # remove_peer(id); any time, before or after start
    t.start(listening_sockets)                       # on the running loop; the transport owns the sockets
    t.send(ready.messages)                           # synchronous, never blocks; not for MsgSnap
    t.send_snapshot(msg_snap, open_db)               # open_db() -> BinaryIO, closed by the transport;
                                                     # outcome: handler.report_snapshot(to, ok)
    t.active_since(peer_id) -> float | None          # time.monotonic() the stream became active
    t.stats(peer_id) -> PeerStats | None             # live counters: writes, messages, bytes, drops
    await t.stop()                                   # closes every socket, ends every task; final

`handler` is a `TransportHandler` (handler.py): on_message, on_snapshot, report_unreachable,
report_snapshot, report_removed, is_removed, members, cluster_version. Callbacks never run from
inside send() or send_snapshot() (reports are deferred with call_soon) and never after stop().

Design:
- One port, two protocols. Members know each other only by peer URL, and joining members and
  tools ask the same URL for GET /members and GET /version, so the framed protocol and HTTP
  share the listener. The first byte decides: framed connections open with MAGIC, whose first
  byte 0x89 starts no HTTP method. Sniffing one byte costs nothing, needs no HTTP parsing on
  the Raft path (unlike etcd's HTTP-upgraded streams) and cannot be ambiguous.
- Handshake (framing.py): MAGIC + hello (protocol version, kind, cluster ID, sender ID, intended
  receiver ID); the receiver answers a verdict with its own IDs. A different protocol version,
  cluster ID ("request cluster ID mismatch", etcd's 412), receiver ID ("to field mismatch"), a
  removed sender (etcd's 410) or a sender that is not a known peer is refused, logged on both
  sides; a sender told it was removed reports it through handler.report_removed.
- Outbound (peer_stream.py): one long-lived connection per peer, redialled with doubling backoff
  (backoff_min..backoff_max). Messages are encoded once, in send(), into a bounded per-peer
  queue; everything queued during one loop iteration, or while the socket buffer was full, leaves
  in one writelines. A full queue, or a peer in dial backoff, drops the message and reports the
  peer unreachable. Length-prefixed frames: u32 big-endian length + raftpb.Message protobuf
  (api/pb/raftpb/raft.proto, etcd's raftpb schema).
- Inbound (inbound.py): frames are parsed out of 256 KiB reads, on_message runs synchronously per
  frame in arrival order; frames over max_frame_bytes close the connection.
- Snapshots (snapshot.py): a separate connection per MsgSnap with its own hello; the database
  streams in snapshot_chunk_bytes chunks from the opener's stream, ends with its SHA-256, and is
  written by the receiver to `<index:016x>.snap.db` in snapshot_dir (fsync'd, renamed into place
  only when the checksum matches) before on_snapshot(msg, path) runs. snapshot_dir must exist.
- HTTP (peer_http.py): GET /members (etcd's JSON, X-Etcd-Cluster-Id header) and GET /version;
  fetch_cluster(peer_urls) is the joining member's client for the former.
"""

from etcdpy.server.transport.config import TransportConfig
from etcdpy.server.transport.handler import TransportHandler
from etcdpy.server.transport.peer_http import RemoteCluster, fetch_cluster
from etcdpy.server.transport.snapshot import OpenData, snapshot_file_name
from etcdpy.server.transport.stats import PeerStats
from etcdpy.server.transport.transport import Transport

__all__ = [
    "OpenData",
    "PeerStats",
    "RemoteCluster",
    "Transport",
    "TransportConfig",
    "TransportHandler",
    "fetch_cluster",
    "snapshot_file_name",
]
