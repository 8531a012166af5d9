"""The check etcd's client makes on peer URLs before MemberAdd and MemberUpdate.

It is etcd's types.NewURLs: every URL, trimmed, must parse with Go's net/url, have
scheme http, https, unix or unixs, a `host:port` address and no path. Errors carry
Go's texts, which etcdctl prints as they are.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from etcdpy.pkg.goquote import quote

# Go's unicode.IsSpace, which strings.TrimSpace strips.
_GO_SPACE = (
    "\t\n\v\f\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
)
_SCHEMES = ("http", "https", "unix", "unixs")
_LETTERS = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_ALNUM = _LETTERS | frozenset(b"0123456789")
# ASCII bytes a host may hold unescaped (net/url's shouldEscape in host mode).
_HOST_OK = _ALNUM | frozenset(b"!$&'()*+,;=:[]<>\"-_.~")
_USERINFO_OK = _ALNUM | frozenset(b"-._:~!$&'()*+,;=%@")
_HEX = frozenset(b"0123456789abcdefABCDEF")


class URLError(ValueError):
    """A peer URL etcd's client refuses; `str()` is Go's error text."""


class _ParseError(Exception):
    """What net/url's parse reports, before Parse wraps it as `parse "<url>": ...`."""


def check_peer_urls(urls: Sequence[str]) -> None:
    """Raise URLError for the first of `urls` etcd's client would refuse."""
    if not urls:
        raise URLError("no valid URLs given")
    for url in urls:
        text = url.strip(_GO_SPACE)
        scheme, host, path = _parse(text)
        if scheme not in _SCHEMES:
            raise URLError(f"URL scheme must be http, https, unix, or unixs: {text}")
        if not _is_host_port(host):
            raise URLError(f'URL address does not have the form "host:port": {text}')
        if path:
            raise URLError(f"URL must not contain a path: {text}")


def _parse(text: str) -> tuple[str, bytes, bytes]:
    """url.Parse: (lower-case scheme, unescaped host, unescaped path)."""
    raw = text.encode("utf-8", "surrogateescape")
    before_fragment, hash_, fragment = raw.partition(b"#")
    try:
        parsed = _parse_reference(before_fragment)
    except _ParseError as err:
        raise URLError(f"parse {quote(before_fragment)}: {err}") from None
    if hash_:
        try:
            _unescape(fragment, "fragment")
        except _ParseError as err:
            raise URLError(f"parse {quote(raw)}: {err}") from None
    return parsed


def _parse_reference(raw: bytes) -> tuple[str, bytes, bytes]:
    if any(b < 0x20 or b == 0x7F for b in raw):
        raise _ParseError("net/url: invalid control character in URL")
    scheme, rest = _scheme(raw)
    rest = rest.partition(b"?")[0]  # the query is not checked
    if not rest.startswith(b"/"):
        if scheme:
            return scheme, b"", b""  # an opaque URL: no host, no path
        if b":" in rest.partition(b"/")[0]:
            raise _ParseError("first path segment in URL cannot contain colon")
    host = b""
    if rest.startswith(b"//") and (scheme or not rest.startswith(b"///")):
        authority, sep, path = rest[2:].partition(b"/")
        host = _authority_host(authority)
        rest = sep + path
    return scheme, host, _unescape(rest, "path")


def _scheme(raw: bytes) -> tuple[str, bytes]:
    for i, c in enumerate(raw):
        if c in _LETTERS:
            continue
        if c in b"0123456789+-.":
            if i == 0:
                return "", raw
            continue
        if c == 0x3A:  # ':'
            if i == 0:
                raise _ParseError("missing protocol scheme")
            return raw[:i].decode().lower(), raw[i + 1 :]
        return "", raw
    return "", raw


def _authority_host(authority: bytes) -> bytes:
    at = authority.rfind(b"@")
    host = _host(authority[at + 1 :])
    if at >= 0:
        userinfo = authority[:at]
        if not all(c in _USERINFO_OK for c in userinfo):
            raise _ParseError("net/url: invalid userinfo")
        for part in userinfo.split(b":", 1):
            _unescape(part, "userinfo")
    return host


def _host(host: bytes) -> bytes:
    if host.startswith(b"["):
        end = host.rfind(b"]")
        if end < 0:
            raise _ParseError("missing ']' in host")
        _check_port(host[end + 1 :])
        zone = host.find(b"%25", 0, end)
        if zone >= 0:
            return (
                _unescape(host[:zone], "host")
                + _unescape(host[zone:end], "zone")
                + _unescape(host[end:], "host")
            )
    elif (colon := host.rfind(b":")) >= 0:
        _check_port(host[colon:])
    return _unescape(host, "host")


def _check_port(colon_port: bytes) -> None:
    if colon_port and not (colon_port[:1] == b":" and all(0x30 <= c <= 0x39 for c in colon_port[1:])):
        raise _ParseError(f"invalid port {quote(colon_port)} after host")


def _is_host_port(hostport: bytes) -> bool:
    """Whether net.SplitHostPort accepts `hostport`."""
    colon = hostport.rfind(b":")
    if colon < 0:
        return False
    host_start = port_start = 0
    if hostport.startswith(b"["):
        end = hostport.find(b"]")
        if end < 0 or end + 1 != colon:
            return False
        host_start, port_start = 1, end + 1
    elif b":" in hostport[:colon]:
        return False
    return b"[" not in hostport[host_start:] and b"]" not in hostport[port_start:]


def _unescape(s: bytes, mode: Literal["host", "zone", "path", "fragment", "userinfo"]) -> bytes:
    """net/url's unescape: %XX decoded; in a host or zone, only some bytes are allowed."""
    out = bytearray()
    i = 0
    while i < len(s):
        c = s[i]
        if c == 0x25:  # '%'
            escape = s[i : i + 3]
            if len(escape) < 3 or escape[1] not in _HEX or escape[2] not in _HEX:
                raise _ParseError(f"invalid URL escape {quote(escape)}")
            value = int(escape[1:], 16)
            if mode == "host" and value >> 4 < 8 and escape != b"%25":
                raise _ParseError(f"invalid URL escape {quote(escape)}")
            if mode == "zone" and escape != b"%25" and value != 0x20 and value not in _HOST_OK:
                raise _ParseError(f"invalid URL escape {quote(escape)}")
            out.append(value)
            i += 3
            continue
        if mode in ("host", "zone") and c < 0x80 and c not in _HOST_OK:
            raise _ParseError(f"invalid character {quote(bytes([c]))} in host name")
        out.append(c)
        i += 1
    return bytes(out)
