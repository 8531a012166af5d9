"""One watcher's identity and options, and the responses the watchable store produces for it.

Key ranges use the store's conventions: `end` b"" watches just `key`,
b"\\0" every key >= key, anything else the keys in [key, end).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from etcdpy.api.pb.mvccpb.kv_pb2 import Event

_PUT = Event.PUT


@dataclass(slots=True)
class WatchResponse:
    """What a watch stream sends, before the API layer adds its header.

    `revision` is the header revision etcd reports: the event revision for a
    live notification, the store revision when a catch-up batch was read or a
    progress report made, 0 for a compaction cancel.
    """

    watch_id: int
    revision: int
    events: list[Event] = field(default_factory=list)
    compact_revision: int = 0
    created: bool = False
    canceled: bool = False
    cancel_reason: str = ""


class WatchSink(Protocol):
    """Where a watcher's responses go: a bounded queue (one per client stream)."""

    def offer(self, resp: WatchResponse) -> bool:
        """Queue `resp`; False (and nothing queued) when the queue is full."""
        ...

    def has_room(self) -> bool: ...

    def on_synced(self) -> None:
        """One of this sink's watchers has caught up with the store."""
        ...


@dataclass(eq=False, slots=True)
class Watcher:
    """Identity semantics (eq=False): watchers are kept in sets and dicts by object."""

    id: int
    key: bytes
    end: bytes
    # The lowest revision this watcher has not been sent yet.
    min_rev: int
    sink: WatchSink
    prev_kv: bool = False
    no_put: bool = False
    no_delete: bool = False
    # Sent its compaction cancel: it gets nothing more and is in no group.
    compacted: bool = False

    def wants(self, ev: Event) -> bool:
        """False if one of the watcher's filters drops `ev`."""
        if ev.type == _PUT:
            return not self.no_put
        return not self.no_delete
