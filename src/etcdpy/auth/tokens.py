"""Auth token providers, chosen by --auth-token: `simple` (random, kept by every member) or `jwt`.

Simple tokens are "<16 random letters>.<raft index>": the member that proposes an Authenticate
picks the letters and the entry's index completes the token, so every member registers the same
token. A simple token lives --auth-token-ttl seconds after its last use. JWT tokens carry the user
name and auth revision, signed with the configured key; any member holding the key verifies them.
"""

from __future__ import annotations

import secrets
import string
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import jwt
from cryptography.hazmat.primitives import serialization

from etcdpy.auth.info import AuthInfo
from etcdpy.pkg.goduration import parse_duration

TOKEN_LETTERS = string.ascii_letters
SIMPLE_PREFIX_LEN = 16
DEFAULT_JWT_TTL = 300.0
# Sign methods etcd 3.5.1 accepts for jwt tokens (HS* take priv-key's bytes as the shared secret).
JWT_METHODS = frozenset(
    {
        "RS256",
        "RS384",
        "RS512",
        "PS256",
        "PS384",
        "PS512",
        "ES256",
        "ES384",
        "ES512",
        "HS256",
        "HS384",
        "HS512",
    }
)


class InvalidAuthOptions(ValueError):
    """--auth-token names an unknown provider, or options it cannot use."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"auth: invalid auth options: {detail}")


class TokenProvider(Protocol):
    def new_prefix(self) -> str:
        """What the proposer of an Authenticate adds to the entry (empty if the provider needs none)."""

    def assign(self, username: str, revision: int, prefix: str, index: int) -> str:
        """The token for a user authenticated by the entry at raft `index`."""

    def info(self, token: str, revision: int) -> AuthInfo | None:
        """Who `token` belongs to (None: not a valid token); `revision` is the store's current one."""

    def index_of(self, token: str) -> int:
        """The raft index that must be applied before `token` can be known here (0: none)."""

    def invalidate_user(self, username: str) -> None: ...

    def disable(self) -> None:
        """Auth was disabled: every token issued so far is void."""


class SimpleTokens:
    def __init__(self, ttl: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._tokens: dict[str, tuple[str, float]] = {}  # token -> (user, expiry on `clock`)

    def new_prefix(self) -> str:
        return "".join(secrets.choice(TOKEN_LETTERS) for _ in range(SIMPLE_PREFIX_LEN))

    def assign(self, username: str, revision: int, prefix: str, index: int) -> str:
        now = self._clock()
        self._tokens = {t: v for t, v in self._tokens.items() if v[1] > now}  # drop the expired
        token = f"{prefix}.{index}"
        self._tokens[token] = (username, now + self._ttl)
        return token

    def info(self, token: str, revision: int) -> AuthInfo | None:
        entry = self._tokens.get(token)
        now = self._clock()
        if entry is None or entry[1] <= now:
            self._tokens.pop(token, None)
            return None
        self._tokens[token] = (entry[0], now + self._ttl)  # used: its lifetime starts again
        return AuthInfo(entry[0], revision)

    def index_of(self, token: str) -> int:
        _, dot, index = token.partition(".")
        return int(index) if dot and index.isdigit() else 0

    def invalidate_user(self, username: str) -> None:
        self._tokens = {t: v for t, v in self._tokens.items() if v[0] != username}

    def disable(self) -> None:
        self._tokens.clear()


class JWTTokens:
    def __init__(self, method: str, sign_key: Any, verify_key: Any, ttl: float) -> None:
        self._method = method
        self._sign_key = sign_key
        self._verify_key = verify_key
        self._ttl = ttl

    def new_prefix(self) -> str:
        return ""

    def assign(self, username: str, revision: int, prefix: str, index: int) -> str:
        if self._sign_key is None:
            raise InvalidAuthOptions("no private key to sign with")
        claims = {"username": username, "revision": revision, "exp": int(time.time() + self._ttl)}
        return jwt.encode(claims, self._sign_key, algorithm=self._method)

    def info(self, token: str, revision: int) -> AuthInfo | None:
        try:
            claims = jwt.decode(token, self._verify_key, algorithms=[self._method])
        except jwt.PyJWTError:
            return None
        username, rev = claims.get("username"), claims.get("revision")
        if not isinstance(username, str) or not isinstance(rev, int | float):
            return None
        return AuthInfo(username, int(rev))

    def index_of(self, token: str) -> int:
        return 0

    def invalidate_user(self, username: str) -> None:
        pass  # a JWT stays valid until it expires, as in etcd

    def disable(self) -> None:
        pass


def _jwt_provider(opts: dict[str, str]) -> JWTTokens:
    method = opts.get("sign-method", "")
    if method not in JWT_METHODS:
        raise InvalidAuthOptions(f"unsupported sign-method {method!r}")
    try:
        ttl = parse_duration(opts["ttl"]) if opts.get("ttl") else DEFAULT_JWT_TTL
        priv = Path(opts["priv-key"]).read_bytes() if opts.get("priv-key") else None
        pub = Path(opts["pub-key"]).read_bytes() if opts.get("pub-key") else None
    except (OSError, ValueError) as e:
        raise InvalidAuthOptions(str(e)) from None
    if method.startswith("HS"):
        if priv is None:
            raise InvalidAuthOptions("HMAC sign-method needs priv-key")
        return JWTTokens(method, priv, priv, ttl)
    if priv is None and pub is None:
        raise InvalidAuthOptions("jwt needs pub-key and/or priv-key")
    try:
        sign_key = serialization.load_pem_private_key(priv, None) if priv is not None else None
        verify_key = serialization.load_pem_public_key(pub) if pub is not None else None
    except (ValueError, TypeError) as e:
        raise InvalidAuthOptions(f"cannot load key: {e}") from None
    if verify_key is None and sign_key is not None:
        verify_key = sign_key.public_key()
    return JWTTokens(method, sign_key, verify_key, ttl)


def new_provider(spec: str, simple_ttl: float) -> TokenProvider:
    """The provider --auth-token `spec` asks for ("simple", or "jwt,sign-method=...,priv-key=...")."""
    kind, *rest = spec.split(",")
    opts: dict[str, str] = {}
    for item in rest:
        name, eq, value = item.partition("=")
        if not eq:
            raise InvalidAuthOptions(f"malformed option {item!r}")
        opts[name] = value
    if kind == "simple":
        return SimpleTokens(simple_ttl)
    if kind == "jwt":
        return _jwt_provider(opts)
    raise InvalidAuthOptions(f"unknown token type {kind!r}")
