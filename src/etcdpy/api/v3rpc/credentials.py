"""The credentials a gRPC call presents: etcd's `token` metadata (the JSON gateway's `authorization`
header also counts), else the common name of a verified TLS client certificate (see tls_identity)."""

from __future__ import annotations

from typing import Any

import grpc

from etcdpy.api.v3rpc import tls_identity
from etcdpy.auth.info import CALLER, Credentials

Context = grpc.aio.ServicerContext[Any, Any]

_TOKEN_KEY = "token"
_GATEWAY_TOKEN_KEY = "authorization"


def credentials(context: Context) -> Credentials | None:
    """Read in one pass over the call's metadata (grpc.aio builds it anew on every call, at a cost
    that shows on every request): the first `token` entry, else the first `authorization`, else
    the CN the client port process vouched for; None for a call that presents none."""
    token = gateway_token = cn = None
    for key, value in context.invocation_metadata() or ():
        if key == _TOKEN_KEY:
            if token is None and isinstance(value, str):
                token = value
        elif key == _GATEWAY_TOKEN_KEY:
            if gateway_token is None and isinstance(value, str):
                gateway_token = value
        elif key == tls_identity.METADATA_KEY:
            cn = tls_identity.cn_of_entry(value) or cn
    token = token if token is not None else gateway_token
    if token is not None:
        return Credentials(token=token)
    return Credentials(common_name=cn) if cn else None


def serve_as_caller(context: Context) -> None:
    """From here on, the task serving this call acts for the call's credentials."""
    CALLER.set(credentials(context))
