"""Go's encoding/base64 decoding, with its error offsets ("illegal base64 data at input byte N").

Go's standard encodings skip CR and LF anywhere in the input and accept
non-zero trailing bits; Python's decoder disagrees on both, so canonical input
takes the fast path and anything else is decoded quantum by quantum here.
"""

from __future__ import annotations

import binascii
from typing import Final

_ALPHABET: Final = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_VALUE: Final = {c: i for i, c in enumerate(_ALPHABET)}
_NEWLINES: Final = b"\r\n"


class Base64Error(ValueError):
    def __init__(self, offset: int) -> None:
        super().__init__(f"illegal base64 data at input byte {offset}")
        self.offset = offset


def decode(src: bytes, *, padded: bool = True) -> bytes:
    """Decode like Go's `base64.StdEncoding` (or `RawStdEncoding` when not `padded`)."""
    if padded and len(src) % 4 == 0:
        try:
            return binascii.a2b_base64(src, strict_mode=True)
        except binascii.Error:
            pass
    return _decode_slow(src, padded)


def _decode_slow(src: bytes, padded: bool) -> bytes:
    out = bytearray()
    si = 0
    n = len(src)
    while True:
        quantum: list[int] = []
        while len(quantum) < 4:
            if si == n:
                if not quantum:
                    return bytes(out)
                if len(quantum) == 1 or padded:
                    raise Base64Error(si - len(quantum))
                break
            c = src[si]
            si += 1
            if c in _VALUE:
                quantum.append(_VALUE[c])
                continue
            if c in _NEWLINES:
                continue
            if c != 0x3D or not padded or len(quantum) < 2:
                raise Base64Error(si - 1)
            # Padding: "==" after two symbols, "=" after three, then only newlines.
            if len(quantum) == 2:
                while si < n and src[si] in _NEWLINES:
                    si += 1
                if si == n:
                    raise Base64Error(n)
                if src[si] != 0x3D:
                    raise Base64Error(si - 1)
                si += 1
            while si < n and src[si] in _NEWLINES:
                si += 1
            _emit(out, quantum)
            if si < n:
                raise Base64Error(si)
            return bytes(out)
        _emit(out, quantum)
        if len(quantum) < 4:
            return bytes(out)


def _emit(out: bytearray, quantum: list[int]) -> None:
    bits = 0
    for v in quantum:
        bits = (bits << 6) | v
    bits <<= 6 * (4 - len(quantum))
    out += bits.to_bytes(3, "big")[: len(quantum) - 1]
