"""The credentials a gRPC call presents: etcd's `token` metadata (the JSON gateway's `authorization`
header also counts), else the common name of a verified TLS client certificate (see tls_identity)."""

from __future__ import annotations

from typing import Any

import grpc

from etcdpy.api.v3rpc import tls_identity
from etcdpy.auth.info import CALLER, Credentials

Context = grpc.aio.ServicerContext[Any, Any]

_TOKEN_KEYS = ("token", "authorization")


def credentials(context: Context) -> Credentials:
    metadata = dict(context.invocation_metadata() or ())
    for key in _TOKEN_KEYS:
        token = metadata.get(key)
        if isinstance(token, str):
            return Credentials(token=token)
    cn = tls_identity.client_cn(context)
    return Credentials(common_name=cn) if cn else Credentials()


def serve_as_caller(context: Context) -> None:
    """From here on, the task serving this call acts for the call's credentials."""
    CALLER.set(credentials(context))
