"""The leases in the backend's `lease` bucket.

Key: the lease ID as 8 bytes big-endian two's complement (etcd's key). Value:
ID, TTL and checkpointed remaining TTL as three such int64s (the fields of
etcd's leasepb.Lease, in a fixed-size encoding of our own).
"""

from __future__ import annotations

import struct
from typing import NamedTuple

from etcdpy.storage import schema
from etcdpy.storage.backend import Backend

_KEY = struct.Struct(">q")
_VALUE = struct.Struct(">qqq")


class LeaseRecord(NamedTuple):
    id: int
    ttl: int
    remaining_ttl: int


def save(backend: Backend, record: LeaseRecord) -> None:
    with backend.write() as txn:
        txn.put(schema.LEASE, _KEY.pack(record.id), _VALUE.pack(*record))


def delete(backend: Backend, lease_id: int) -> None:
    with backend.write() as txn:
        txn.delete(schema.LEASE, _KEY.pack(lease_id))


def load(backend: Backend) -> list[LeaseRecord]:
    with backend.read() as txn:
        return [LeaseRecord(*_VALUE.unpack(value)) for _, value in txn.items(schema.LEASE)]
