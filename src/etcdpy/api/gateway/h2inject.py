"""Appending one header field to every request header block of a client's HTTP/2 connection.

Used by the gRPC relay to pass a verified client certificate's CN to the member
(`etcdpy.api.v3rpc.tls_identity`). The field is encoded as an HPACK "literal header field without
indexing, new name", which leaves both ends' dynamic tables untouched, so the client's header
blocks need no decoding: the frame that ends a block (END_HEADERS) is passed on without that flag
and followed by a CONTINUATION frame that carries the field and ends the block. Only blocks that
open a stream are extended (a client's later HEADERS on an open stream are trailers); frames of
other types pass through as they arrive, without waiting for their payload.
"""

from __future__ import annotations

from typing import Final

PREFACE_BYTES: Final = 24
_FRAME_HEADER_BYTES: Final = 9
_HEADERS: Final = 0x1
_CONTINUATION: Final = 0x9
_END_HEADERS: Final = 0x4


def _hpack_int(value: int, prefix_bits: int) -> bytes:
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([value])
    out = bytearray([limit])
    value -= limit
    while value >= 0x80:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def literal_field(name: bytes, value: bytes) -> bytes:
    """HPACK: literal header field without indexing, new name, no Huffman coding."""
    return b"\x00" + _hpack_int(len(name), 7) + name + _hpack_int(len(value), 7) + value


class HeaderInjector:
    """Rewrites the client-to-server byte stream of one connection (preface included)."""

    def __init__(self, field: bytes) -> None:
        self._field = field
        self._pending = b""
        self._preface_left = PREFACE_BYTES
        self._skip = 0  # payload bytes of the current pass-through frame still to come
        self._last_stream = 0
        self._open_block = 0  # stream whose opening header block awaits END_HEADERS, or 0

    def feed(self, data: bytes) -> bytes:
        """The bytes to send upstream for `data`; an incomplete frame head is held back."""
        buf = self._pending + data if self._pending else data
        out: list[bytes] = []
        pos, end = 0, len(buf)
        if self._preface_left:
            n = min(self._preface_left, end)
            out.append(buf[:n])
            self._preface_left -= n
            pos = n
        while pos < end:
            if self._skip:
                n = min(self._skip, end - pos)
                out.append(buf[pos : pos + n])
                self._skip -= n
                pos += n
                continue
            if end - pos < _FRAME_HEADER_BYTES:
                break
            length = int.from_bytes(buf[pos : pos + 3], "big")
            kind, flags = buf[pos + 3], buf[pos + 4]
            if kind not in (_HEADERS, _CONTINUATION):
                out.append(buf[pos : pos + _FRAME_HEADER_BYTES])
                self._skip = length
                pos += _FRAME_HEADER_BYTES
                continue
            stop = pos + _FRAME_HEADER_BYTES + length
            if stop > end:
                break
            stream = int.from_bytes(buf[pos + 5 : pos + 9], "big") & 0x7FFFFFFF
            if kind == _HEADERS and stream > self._last_stream:
                self._last_stream = stream
                self._open_block = stream
            if flags & _END_HEADERS and self._open_block == stream and stream:
                self._open_block = 0
                out.append(buf[pos : pos + 4] + bytes([flags & ~_END_HEADERS]) + buf[pos + 5 : stop])
                out.append(self._continuation(stream))
            else:
                out.append(buf[pos:stop])
            pos = stop
        self._pending = buf[pos:]
        return b"".join(out)

    def _continuation(self, stream: int) -> bytes:
        head = len(self._field).to_bytes(3, "big") + bytes([_CONTINUATION, _END_HEADERS])
        return head + stream.to_bytes(4, "big") + self._field
