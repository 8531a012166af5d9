"""Revisions and their on-disk encoding, as etcd lays them out in the `key` bucket.

A revision is a pair (main, sub): `main` numbers the atomic write (one
transaction), `sub` numbers the change within it (0, 1, ...). Its 17-byte key is
8-byte big-endian main, b"_", 8-byte big-endian sub; a deletion is stored under
that key plus b"t" (a tombstone). The value is the serialized mvccpb.KeyValue
(for a tombstone: a KeyValue holding only the key).

In memory a revision *is* its 17-byte key (`Revision`). Byte order equals
(main, sub) order, so revisions compare, sort and bisect as plain bytes, and a
stored value is read with no encoding step. To ask "main <= n", compare with the
8-byte prefix `bound(n + 1)`: a 17-byte key is below that prefix exactly when
its main is at most n.
"""

from __future__ import annotations

import struct
from typing import Final, TypeAlias

Revision: TypeAlias = bytes

REV_LEN: Final = 17
TOMBSTONE_MARK: Final = b"t"

_MAIN: Final = struct.Struct(">Q")
_REV: Final = struct.Struct(">QcQ")


def encode(main: int, sub: int = 0) -> Revision:
    return _REV.pack(main, b"_", sub)


def decode(rev: bytes) -> tuple[int, int]:
    """(main, sub) of a revision key, with or without the tombstone mark."""
    main, _, sub = _REV.unpack_from(rev)
    return main, sub


def main_of(rev: bytes) -> int:
    main: int = _MAIN.unpack_from(rev)[0]
    return main


def prefix(main: int) -> bytes:
    """The first 9 bytes of every revision key with this main; append the 8-byte sub."""
    return _MAIN.pack(main) + b"_"


def encode_sub(sub: int) -> bytes:
    return _MAIN.pack(sub)


def bound(main: int) -> bytes:
    """Sorts after every revision with a smaller main and before every other: rev < bound(m) iff main < m."""
    return _MAIN.pack(main)


def is_tombstone(key: bytes) -> bool:
    return len(key) == REV_LEN + 1 and key[REV_LEN:] == TOMBSTONE_MARK
