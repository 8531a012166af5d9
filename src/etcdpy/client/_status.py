"""gRPC failures -> `EtcdError`, and which failures mean "try another endpoint"."""

from __future__ import annotations

import grpc

from etcdpy.api import errors

# Go's spelling of each gRPC code, as it appears in `rpc error: code = X desc = Y`.
GO_CODE_NAMES: dict[grpc.StatusCode, str] = {
    grpc.StatusCode.OK: "OK",
    grpc.StatusCode.CANCELLED: "Canceled",
    grpc.StatusCode.UNKNOWN: "Unknown",
    grpc.StatusCode.INVALID_ARGUMENT: "InvalidArgument",
    grpc.StatusCode.DEADLINE_EXCEEDED: "DeadlineExceeded",
    grpc.StatusCode.NOT_FOUND: "NotFound",
    grpc.StatusCode.ALREADY_EXISTS: "AlreadyExists",
    grpc.StatusCode.PERMISSION_DENIED: "PermissionDenied",
    grpc.StatusCode.RESOURCE_EXHAUSTED: "ResourceExhausted",
    grpc.StatusCode.FAILED_PRECONDITION: "FailedPrecondition",
    grpc.StatusCode.ABORTED: "Aborted",
    grpc.StatusCode.OUT_OF_RANGE: "OutOfRange",
    grpc.StatusCode.UNIMPLEMENTED: "Unimplemented",
    grpc.StatusCode.INTERNAL: "Internal",
    grpc.StatusCode.UNAVAILABLE: "Unavailable",
    grpc.StatusCode.DATA_LOSS: "DataLoss",
    grpc.StatusCode.UNAUTHENTICATED: "Unauthenticated",
}

# Go's context error text: what etcd clients report when a call runs out of time.
DEADLINE_MESSAGE = "context deadline exceeded"
CANCELED_MESSAGE = "context canceled"


class TransportError(errors.EtcdError):
    """The call never got an answer from a server (connection refused, reset, no route)."""


def from_rpc_error(err: grpc.RpcError) -> errors.EtcdError:
    """The `EtcdError` a failed call stands for; etcd's own errors are matched by message."""
    code: grpc.StatusCode = err.code()
    details: str = err.details() or ""
    return from_status(code, details)


def from_status(code: grpc.StatusCode, details: str) -> errors.EtcdError:
    known = errors.BY_MESSAGE.get(details)
    if known is not None:
        return known
    if code is grpc.StatusCode.DEADLINE_EXCEEDED:
        return errors.EtcdError(DEADLINE_MESSAGE, code)
    if code is grpc.StatusCode.CANCELLED:
        return errors.EtcdError(CANCELED_MESSAGE, code)
    if code is grpc.StatusCode.UNAVAILABLE:
        return TransportError(details, code)
    return errors.EtcdError(details, code)


def never_sent(err: errors.EtcdError) -> bool:
    """The request cannot have reached a server: safe to resend even a write elsewhere."""
    if not isinstance(err, TransportError):
        return False
    text = err.message.lower()
    return "failed to connect" in text or "connection refused" in text or "no address" in text


def deadline_error(cause: errors.EtcdError | None) -> errors.EtcdError:
    """The error for a call whose deadline passed while no endpoint could serve it."""
    err = errors.EtcdError(DEADLINE_MESSAGE, grpc.StatusCode.DEADLINE_EXCEEDED)
    err.__cause__ = cause
    return err
