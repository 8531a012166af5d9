"""Who is asking: the credentials a request came with, and the identity they resolve to."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class AuthInfo:
    """A caller as the auth store knows it: `revision` is the auth revision its token was valid at
    (0 for no caller, which every permission check refuses while auth is enabled)."""

    username: str
    revision: int


@dataclass(frozen=True)
class Credentials:
    """What a request presented: the `token` metadata, or else the CN of its TLS client certificate."""

    token: str | None = None
    common_name: str | None = None


# Who the request being served comes from: the credentials the gRPC layer found on the call (set in
# the task serving it), or an identity the server itself acts as. The server reads it when it checks
# or proposes a request; tasks the server starts on its own behalf run as no one (None).
CALLER: ContextVar[Credentials | AuthInfo | None] = ContextVar("etcd_caller", default=None)
