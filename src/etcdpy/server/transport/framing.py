"""The bytes of the peer protocol: magic, handshake, verdict and length-prefixed frames.

Every framed connection opens with `MAGIC`, then a `Hello` (fixed layout, version first;
later versions may only append fields). The receiver answers with a `Verdict` (fixed
layout in every version) and closes the connection unless its status is OK. After an OK:

- STREAM: the sender writes frames until it closes: u32 big-endian length, then that many
  bytes of an encoded raftpb.Message. The receiver never writes again.
- SNAPSHOT: one frame with the MsgSnap, then data chunks framed the same way (length > 0),
  then a zero-length frame and the 32-byte SHA-256 of all chunk bytes. The receiver answers
  one byte: SNAPSHOT_OK once the file is durable and handed to the server, SNAPSHOT_FAILED
  otherwise.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

# The first byte (0x89) is no HTTP method's first character: one byte tells the protocols apart.
MAGIC = b"\x89etcdpy\n"
PROTOCOL_VERSION = 1

FRAME_HEADER = struct.Struct(">I")
SHA256_SIZE = 32
SNAPSHOT_OK = b"\x00"
SNAPSHOT_FAILED = b"\x01"

_HELLO = struct.Struct(">HBQQQ")
_VERDICT = struct.Struct(">BQQ")
HELLO_SIZE = _HELLO.size
VERDICT_SIZE = _VERDICT.size


class Kind(enum.IntEnum):
    STREAM = 1
    SNAPSHOT = 2


class Status(enum.IntEnum):
    OK = 0
    VERSION_MISMATCH = 1
    CLUSTER_ID_MISMATCH = 2
    MEMBER_ID_MISMATCH = 3
    REMOVED = 4
    UNKNOWN_PEER = 5
    BAD_KIND = 6

    def describe(self) -> str:
        return _STATUS_TEXT[self]


_STATUS_TEXT = {
    Status.OK: "accepted",
    Status.VERSION_MISMATCH: "incompatible peer protocol version",
    Status.CLUSTER_ID_MISMATCH: "cluster ID mismatch",
    Status.MEMBER_ID_MISMATCH: "to field mismatch",
    Status.REMOVED: "removed member",
    Status.UNKNOWN_PEER: "sender not found",
    Status.BAD_KIND: "unknown connection kind",
}


class ProtocolError(Exception):
    """The peer sent bytes that break the protocol; the connection is closed."""


@dataclass(frozen=True, slots=True)
class Hello:
    version: int
    kind: int
    cluster_id: int
    sender_id: int
    receiver_id: int

    def encode(self) -> bytes:
        """MAGIC and the hello: the first bytes a sender writes on a new connection."""
        return MAGIC + _HELLO.pack(self.version, self.kind, self.cluster_id, self.sender_id, self.receiver_id)

    @classmethod
    def decode(cls, data: bytes) -> Hello:
        return cls(*_HELLO.unpack(data))


@dataclass(frozen=True, slots=True)
class Verdict:
    """The receiver's answer to a hello, with its own cluster and member IDs for the sender's logs."""

    status: int
    cluster_id: int
    member_id: int

    def encode(self) -> bytes:
        return _VERDICT.pack(self.status, self.cluster_id, self.member_id)

    @classmethod
    def decode(cls, data: bytes) -> Verdict:
        return cls(*_VERDICT.unpack(data))

    def reason(self) -> str:
        try:
            return Status(self.status).describe()
        except ValueError:
            return f"unknown refusal status {self.status}"


def frame_header(length: int) -> bytes:
    return FRAME_HEADER.pack(length)
