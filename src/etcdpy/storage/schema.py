"""The backend's layout: bucket names and the encodings of well-known keys.

Bucket names are etcd's, so tools and hashes see the same structure as a bbolt
backend. Every bucket exists in every backend (created on open), which keeps
whole-backend hashes comparable between members.

The `meta` bucket holds the apply progress and the compaction markers:

- ``consistent_index``: the raft index of the last applied entry, u64 big-endian.
- ``term``: the raft term of that entry, u64 big-endian.
- ``scheduledCompactRev`` / ``finishedCompactRev``: a compaction revision in the
  17-byte revision encoding (main, '_', sub=0), as etcd writes them. A scheduled
  revision above the finished one means a compaction was interrupted and must be
  resumed on open.
"""

from __future__ import annotations

import struct
from typing import Final

KEY: Final = b"key"
META: Final = b"meta"
LEASE: Final = b"lease"
AUTH: Final = b"auth"
AUTH_USERS: Final = b"authUsers"
AUTH_ROLES: Final = b"authRoles"
MEMBERS: Final = b"members"
MEMBERS_REMOVED: Final = b"members_removed"
CLUSTER: Final = b"cluster"
ALARM: Final = b"alarm"

# Sorted by name: the order bbolt keeps its root bucket in, and so the order of hashing.
BUCKETS: Final[tuple[bytes, ...]] = tuple(
    sorted((KEY, META, LEASE, AUTH, AUTH_USERS, AUTH_ROLES, MEMBERS, MEMBERS_REMOVED, CLUSTER, ALARM))
)

META_CONSISTENT_INDEX: Final = b"consistent_index"
META_TERM: Final = b"term"
META_SCHEDULED_COMPACT_REV: Final = b"scheduledCompactRev"
META_FINISHED_COMPACT_REV: Final = b"finishedCompactRev"

# (bucket, key) pairs left out of the whole-backend hash: the consistent index is
# apply bookkeeping, not replicated state (etcd leaves it out for the same reason).
HASH_IGNORED: Final[frozenset[tuple[bytes, bytes]]] = frozenset({(META, META_CONSISTENT_INDEX)})

_U64: Final = struct.Struct(">Q")


def encode_u64(value: int) -> bytes:
    return _U64.pack(value)


def decode_u64(data: bytes) -> int:
    value: int = _U64.unpack(data)[0]
    return value
