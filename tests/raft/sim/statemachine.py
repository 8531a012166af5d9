"""The replicated state machine each simulated node applies entries to.

Its state is a hash chain over every applied entry, so two nodes that applied the same sequence hold the
same digest, and a snapshot's data (the digest and the removed member IDs) can be checked against the
digest any other node reached at that index.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from etcdpy.raft.raftpb import ConfState, Entry, Snapshot

_DIGEST_SIZE = 32
GENESIS = hashlib.sha256(b"etcdpy raft simulation").digest()


def chain(digest: bytes, e: Entry) -> bytes:
    h = hashlib.sha256(digest)
    h.update(b"%d/%d/%d:" % (e.term, e.index, e.type))
    h.update(e.data)
    return h.digest()


def encode_image(digest: bytes, removed: set[int]) -> bytes:
    return digest + b",".join(b"%d" % i for i in sorted(removed))


@dataclass
class StateMachine:
    """Invariant: `digest` is the chain over every entry up to `applied`; `removed` holds the members
    removed by the conf changes applied so far (etcd refuses their messages and never readmits them)."""

    applied: int
    digest: bytes
    conf_state: ConfState
    removed: set[int] = field(default_factory=set)

    @classmethod
    def restore(cls, snap: Snapshot) -> StateMachine:
        data = snap.data
        removed = {int(i) for i in data[_DIGEST_SIZE:].split(b",") if i}
        return cls(snap.metadata.index, data[:_DIGEST_SIZE], snap.metadata.conf_state, removed)

    def image(self) -> bytes:
        """The snapshot data of the current state."""
        return encode_image(self.digest, self.removed)

    def apply(self, e: Entry) -> None:
        self.digest = chain(self.digest, e)
        self.applied = e.index
