"""etcd's client-visible errors: exact message strings, gRPC codes, HTTP statuses.

Clients recognise errors by their message text (clientv3's rpctypes maps the
description back to a typed error), so every string here is etcd's, to the
letter. The server raises `EtcdError`; the gRPC layer turns it into a status,
the JSON gateway into an HTTP status and body, the client back into an
`EtcdError` carrying the same message.
"""

from __future__ import annotations

import enum

import grpc


class EtcdError(Exception):
    """An error whose message and gRPC code are part of etcd's API."""

    def __init__(self, message: str, code: grpc.StatusCode) -> None:
        super().__init__(message)
        self.message = message
        self.code = code

    def __reduce__(self) -> tuple[type[EtcdError], tuple[str, grpc.StatusCode]]:
        return (EtcdError, (self.message, self.code))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EtcdError) and (self.message, self.code) == (other.message, other.code)

    def __hash__(self) -> int:
        return hash((self.message, self.code))


_C = grpc.StatusCode

# Key-value requests.
EMPTY_KEY = EtcdError("etcdserver: key is not provided", _C.INVALID_ARGUMENT)
KEY_NOT_FOUND = EtcdError("etcdserver: key not found", _C.INVALID_ARGUMENT)
VALUE_PROVIDED = EtcdError("etcdserver: value is provided", _C.INVALID_ARGUMENT)
LEASE_PROVIDED = EtcdError("etcdserver: lease is provided", _C.INVALID_ARGUMENT)
TOO_MANY_OPS = EtcdError("etcdserver: too many operations in txn request", _C.INVALID_ARGUMENT)
DUPLICATE_KEY = EtcdError("etcdserver: duplicate key given in txn request", _C.INVALID_ARGUMENT)
INVALID_SORT_OPTION = EtcdError("etcdserver: invalid sort option", _C.INVALID_ARGUMENT)
REQUEST_TOO_LARGE = EtcdError("etcdserver: request is too large", _C.INVALID_ARGUMENT)
COMPACTED = EtcdError("etcdserver: mvcc: required revision has been compacted", _C.OUT_OF_RANGE)
FUTURE_REV = EtcdError("etcdserver: mvcc: required revision is a future revision", _C.OUT_OF_RANGE)
NO_SPACE = EtcdError("etcdserver: mvcc: database space exceeded", _C.RESOURCE_EXHAUSTED)
TOO_MANY_REQUESTS = EtcdError("etcdserver: too many requests", _C.RESOURCE_EXHAUSTED)

# Leases.
LEASE_NOT_FOUND = EtcdError("etcdserver: requested lease not found", _C.NOT_FOUND)
LEASE_EXIST = EtcdError("etcdserver: lease already exists", _C.FAILED_PRECONDITION)
LEASE_TTL_TOO_LARGE = EtcdError("etcdserver: too large lease TTL", _C.OUT_OF_RANGE)
WATCH_CANCELED = EtcdError("etcdserver: watch canceled", _C.CANCELLED)

# Membership.
MEMBER_EXIST = EtcdError("etcdserver: member ID already exist", _C.FAILED_PRECONDITION)
PEER_URL_EXIST = EtcdError("etcdserver: Peer URLs already exists", _C.FAILED_PRECONDITION)
MEMBER_NOT_ENOUGH_STARTED = EtcdError(
    "etcdserver: re-configuration failed due to not enough started members", _C.FAILED_PRECONDITION
)
MEMBER_BAD_URLS = EtcdError("etcdserver: given member URLs are invalid", _C.INVALID_ARGUMENT)
MEMBER_NOT_FOUND = EtcdError("etcdserver: member not found", _C.NOT_FOUND)
MEMBER_NOT_LEARNER = EtcdError("etcdserver: can only promote a learner member", _C.FAILED_PRECONDITION)
LEARNER_NOT_READY = EtcdError(
    "etcdserver: can only promote a learner member which is in sync with leader", _C.FAILED_PRECONDITION
)
TOO_MANY_LEARNERS = EtcdError("etcdserver: too many learner members in cluster", _C.FAILED_PRECONDITION)
CLUSTER_ID_MISMATCH = EtcdError("etcdserver: cluster ID mismatch", _C.FAILED_PRECONDITION)

# Auth.
ROOT_USER_NOT_EXIST = EtcdError("etcdserver: root user does not exist", _C.FAILED_PRECONDITION)
ROOT_ROLE_NOT_EXIST = EtcdError("etcdserver: root user does not have root role", _C.FAILED_PRECONDITION)
USER_ALREADY_EXIST = EtcdError("etcdserver: user name already exists", _C.FAILED_PRECONDITION)
USER_EMPTY = EtcdError("etcdserver: user name is empty", _C.INVALID_ARGUMENT)
USER_NOT_FOUND = EtcdError("etcdserver: user name not found", _C.FAILED_PRECONDITION)
ROLE_ALREADY_EXIST = EtcdError("etcdserver: role name already exists", _C.FAILED_PRECONDITION)
ROLE_NOT_FOUND = EtcdError("etcdserver: role name not found", _C.FAILED_PRECONDITION)
ROLE_EMPTY = EtcdError("etcdserver: role name is empty", _C.INVALID_ARGUMENT)
AUTH_FAILED = EtcdError(
    "etcdserver: authentication failed, invalid user ID or password", _C.INVALID_ARGUMENT
)
PERMISSION_NOT_GIVEN = EtcdError("etcdserver: permission not given", _C.INVALID_ARGUMENT)
PERMISSION_DENIED = EtcdError("etcdserver: permission denied", _C.PERMISSION_DENIED)
ROLE_NOT_GRANTED = EtcdError("etcdserver: role is not granted to the user", _C.FAILED_PRECONDITION)
PERMISSION_NOT_GRANTED = EtcdError(
    "etcdserver: permission is not granted to the role", _C.FAILED_PRECONDITION
)
AUTH_NOT_ENABLED = EtcdError("etcdserver: authentication is not enabled", _C.FAILED_PRECONDITION)
INVALID_AUTH_TOKEN = EtcdError("etcdserver: invalid auth token", _C.UNAUTHENTICATED)
INVALID_AUTH_MGMT = EtcdError("etcdserver: invalid auth management", _C.INVALID_ARGUMENT)
AUTH_OLD_REVISION = EtcdError("etcdserver: revision of auth store is old", _C.INVALID_ARGUMENT)
# The auth store's own errors, which some of etcd's paths return unconverted (code UNKNOWN).
AUTH_RAW_PERMISSION_DENIED = EtcdError("auth: permission denied", _C.UNKNOWN)
AUTH_RAW_USER_EMPTY = EtcdError("auth: user name is empty", _C.UNKNOWN)
AUTH_RAW_USER_NOT_FOUND = EtcdError("auth: user name not found", _C.UNKNOWN)
AUTH_RAW_INVALID_AUTH_TOKEN = EtcdError("auth: invalid auth token", _C.UNKNOWN)
AUTH_NO_PASSWORD_USER = EtcdError(
    "auth: authentication failed, password was given for no password user", _C.UNKNOWN
)

# Server and consensus.
NO_LEADER = EtcdError("etcdserver: no leader", _C.UNAVAILABLE)
NOT_LEADER = EtcdError("etcdserver: not leader", _C.FAILED_PRECONDITION)
LEADER_CHANGED = EtcdError("etcdserver: leader changed", _C.UNAVAILABLE)
NOT_CAPABLE = EtcdError("etcdserver: not capable", _C.FAILED_PRECONDITION)
STOPPED = EtcdError("etcdserver: server stopped", _C.UNAVAILABLE)
TIMEOUT = EtcdError("etcdserver: request timed out", _C.UNAVAILABLE)
TIMEOUT_DUE_TO_LEADER_FAIL = EtcdError(
    "etcdserver: request timed out, possibly due to previous leader failure", _C.UNAVAILABLE
)
TIMEOUT_DUE_TO_CONNECTION_LOST = EtcdError(
    "etcdserver: request timed out, possibly due to connection lost", _C.UNAVAILABLE
)
TIMEOUT_WAIT_APPLIED_INDEX = EtcdError(
    "etcdserver: request timed out, waiting for the applied index took too long", _C.UNAVAILABLE
)
TIMEOUT_LEADER_TRANSFER = EtcdError(
    "etcdserver: request timed out, leader transfer took too long", _C.UNAVAILABLE
)
UNHEALTHY = EtcdError("etcdserver: unhealthy cluster", _C.UNAVAILABLE)
CORRUPT = EtcdError("etcdserver: corrupt cluster", _C.DATA_LOSS)
NOT_SUPPORTED_FOR_LEARNER = EtcdError("etcdserver: rpc not supported for learner", _C.FAILED_PRECONDITION)
BAD_LEADER_TRANSFEREE = EtcdError("etcdserver: bad leader transferee", _C.FAILED_PRECONDITION)
CANCELED = EtcdError("etcdserver: request canceled", _C.CANCELLED)
DEADLINE_EXCEEDED = EtcdError("etcdserver: context deadline exceeded", _C.DEADLINE_EXCEEDED)
INVALID_CLIENT_API_VERSION = EtcdError("etcdserver: invalid client api version", _C.INVALID_ARGUMENT)

ALL: tuple[EtcdError, ...] = tuple(v for v in globals().values() if isinstance(v, EtcdError))
BY_MESSAGE: dict[str, EtcdError] = {e.message: e for e in ALL}


class HTTPStatus(enum.IntEnum):
    """HTTP status per gRPC code, as grpc-gateway v1.16 (etcd 3.5's gateway) maps them."""

    OK = 200
    BAD_REQUEST = 400
    UNAUTHORIZED = 401
    FORBIDDEN = 403
    NOT_FOUND = 404
    METHOD_NOT_ALLOWED = 405
    REQUEST_TIMEOUT = 408
    CONFLICT = 409
    TOO_MANY_REQUESTS = 429
    INTERNAL = 500
    NOT_IMPLEMENTED = 501
    UNAVAILABLE = 503
    GATEWAY_TIMEOUT = 504


HTTP_STATUS_BY_CODE: dict[grpc.StatusCode, int] = {
    _C.OK: 200,
    _C.CANCELLED: 408,
    _C.UNKNOWN: 500,
    _C.INVALID_ARGUMENT: 400,
    _C.DEADLINE_EXCEEDED: 504,
    _C.NOT_FOUND: 404,
    _C.ALREADY_EXISTS: 409,
    _C.PERMISSION_DENIED: 403,
    _C.UNAUTHENTICATED: 401,
    _C.RESOURCE_EXHAUSTED: 429,
    _C.FAILED_PRECONDITION: 400,
    _C.ABORTED: 409,
    _C.OUT_OF_RANGE: 400,
    _C.UNIMPLEMENTED: 501,
    _C.INTERNAL: 500,
    _C.UNAVAILABLE: 503,
    _C.DATA_LOSS: 500,
}
