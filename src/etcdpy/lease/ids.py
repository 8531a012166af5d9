"""Lease IDs chosen by the server: the member's next request ID made a positive int64 (as etcd)."""

from __future__ import annotations

from etcdpy.pkg.idutil import IDGenerator

_POSITIVE = (1 << 63) - 1


def next_lease_id(ids: IDGenerator) -> int:
    """The next positive int64 from `ids` (0 is skipped: it means "let the server choose")."""
    while True:
        lease_id = ids.next() & _POSITIVE
        if lease_id:
            return lease_id


def hex_id(lease_id: int) -> str:
    """A lease ID as etcd logs and prints it: 16 hex digits of its two's complement."""
    return f"{lease_id & 0xFFFFFFFFFFFFFFFF:016x}"
