"""etcd's Auth API on the clients: enabling authentication, users, roles and permissions.

`AuthAPI` (blocking) and `AsyncAuthAPI` (asyncio) are mixed into `Client` and `AsyncClient`.
Permission types are `authpb.Permission.Type` values or their names (`"read"`, `"write"`,
`"readwrite"`, any case).
"""

from __future__ import annotations

from typing import Protocol, TypeVar, cast

from google.protobuf.message import Message

from etcdpy.api import errors
from etcdpy.api.pb.authpb import auth_pb2
from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.client import _rpc
from etcdpy.client._requests import Bytes, to_bytes

Resp = TypeVar("Resp", bound=Message)
PermissionType = auth_pb2.Permission.Type | str

# The errors after which a client that has credentials gets a new token and tries once more
# (clientv3's shouldRefreshToken): an expired or unknown token, a token older than the
# latest auth change, or a request that arrived without the token.
TOKEN_REFRESH_ERRORS = frozenset({errors.INVALID_AUTH_TOKEN, errors.AUTH_OLD_REVISION, errors.USER_EMPTY})


def permission_type(value: PermissionType) -> auth_pb2.Permission.Type:
    """A permission type from its value or name; ValueError names an unknown one as etcdctl does."""
    if not isinstance(value, str):
        return value
    try:
        return cast(auth_pb2.Permission.Type, auth_pb2.Permission.Type.Value(value.upper()))
    except ValueError:
        raise ValueError(f"invalid permission type: {value}") from None


def user_add_request(name: str, password: str, no_password: bool) -> pb.AuthUserAddRequest:
    return pb.AuthUserAddRequest(
        name=name, password=password, options=auth_pb2.UserAddOptions(no_password=no_password)
    )


def grant_request(
    role: str, perm_type: PermissionType, key: Bytes, range_end: Bytes
) -> pb.AuthRoleGrantPermissionRequest:
    perm = auth_pb2.Permission(
        permType=permission_type(perm_type), key=to_bytes(key), range_end=to_bytes(range_end)
    )
    return pb.AuthRoleGrantPermissionRequest(name=role, perm=perm)


def revoke_request(role: str, key: Bytes, range_end: Bytes) -> pb.AuthRoleRevokePermissionRequest:
    return pb.AuthRoleRevokePermissionRequest(role=role, key=to_bytes(key), range_end=to_bytes(range_end))


class _Caller(Protocol):
    def _call(
        self, rpc: _rpc.Rpc[Resp], request: Message, timeout: float | None, endpoint: str | None
    ) -> Resp: ...

    def _timeout(self, timeout: float | None) -> float | None: ...


class _AsyncCaller(Protocol):
    async def _call(
        self, rpc: _rpc.Rpc[Resp], request: Message, timeout: float | None, endpoint: str | None
    ) -> Resp: ...

    def _timeout(self, timeout: float | None) -> float | None: ...


class AuthAPI:
    """The Auth RPCs of `Client`."""

    def auth_enable(self: _Caller, *, timeout: float | None = None) -> pb.AuthEnableResponse:
        """Turn authentication on (the server requires a `root` user with the `root` role)."""
        return self._call(_rpc.AUTH_ENABLE, pb.AuthEnableRequest(), self._timeout(timeout), None)

    def auth_disable(self: _Caller, *, timeout: float | None = None) -> pb.AuthDisableResponse:
        return self._call(_rpc.AUTH_DISABLE, pb.AuthDisableRequest(), self._timeout(timeout), None)

    def auth_status(self: _Caller, *, timeout: float | None = None) -> pb.AuthStatusResponse:
        return self._call(_rpc.AUTH_STATUS, pb.AuthStatusRequest(), self._timeout(timeout), None)

    def user_add(
        self: _Caller,
        name: str,
        password: str = "",
        *,
        no_password: bool = False,
        timeout: float | None = None,
    ) -> pb.AuthUserAddResponse:
        """Add a user; one with `no_password` can only be authenticated by its TLS client certificate."""
        request = user_add_request(name, password, no_password)
        return self._call(_rpc.USER_ADD, request, self._timeout(timeout), None)

    def user_get(self: _Caller, name: str, *, timeout: float | None = None) -> pb.AuthUserGetResponse:
        request = pb.AuthUserGetRequest(name=name)
        return self._call(_rpc.USER_GET, request, self._timeout(timeout), None)

    def user_list(self: _Caller, *, timeout: float | None = None) -> pb.AuthUserListResponse:
        return self._call(_rpc.USER_LIST, pb.AuthUserListRequest(), self._timeout(timeout), None)

    def user_delete(self: _Caller, name: str, *, timeout: float | None = None) -> pb.AuthUserDeleteResponse:
        request = pb.AuthUserDeleteRequest(name=name)
        return self._call(_rpc.USER_DELETE, request, self._timeout(timeout), None)

    def user_change_password(
        self: _Caller, name: str, password: str, *, timeout: float | None = None
    ) -> pb.AuthUserChangePasswordResponse:
        request = pb.AuthUserChangePasswordRequest(name=name, password=password)
        return self._call(_rpc.USER_CHANGE_PASSWORD, request, self._timeout(timeout), None)

    def user_grant_role(
        self: _Caller, user: str, role: str, *, timeout: float | None = None
    ) -> pb.AuthUserGrantRoleResponse:
        request = pb.AuthUserGrantRoleRequest(user=user, role=role)
        return self._call(_rpc.USER_GRANT_ROLE, request, self._timeout(timeout), None)

    def user_revoke_role(
        self: _Caller, user: str, role: str, *, timeout: float | None = None
    ) -> pb.AuthUserRevokeRoleResponse:
        request = pb.AuthUserRevokeRoleRequest(name=user, role=role)
        return self._call(_rpc.USER_REVOKE_ROLE, request, self._timeout(timeout), None)

    def role_add(self: _Caller, name: str, *, timeout: float | None = None) -> pb.AuthRoleAddResponse:
        request = pb.AuthRoleAddRequest(name=name)
        return self._call(_rpc.ROLE_ADD, request, self._timeout(timeout), None)

    def role_get(self: _Caller, name: str, *, timeout: float | None = None) -> pb.AuthRoleGetResponse:
        request = pb.AuthRoleGetRequest(role=name)
        return self._call(_rpc.ROLE_GET, request, self._timeout(timeout), None)

    def role_list(self: _Caller, *, timeout: float | None = None) -> pb.AuthRoleListResponse:
        return self._call(_rpc.ROLE_LIST, pb.AuthRoleListRequest(), self._timeout(timeout), None)

    def role_delete(self: _Caller, name: str, *, timeout: float | None = None) -> pb.AuthRoleDeleteResponse:
        request = pb.AuthRoleDeleteRequest(role=name)
        return self._call(_rpc.ROLE_DELETE, request, self._timeout(timeout), None)

    def role_grant_permission(
        self: _Caller,
        role: str,
        perm_type: PermissionType,
        key: Bytes,
        range_end: Bytes = b"",
        *,
        timeout: float | None = None,
    ) -> pb.AuthRoleGrantPermissionResponse:
        """Let `role` read and/or write `key`, or [key, range_end) (range_end b"\\0": every key
        from `key` on)."""
        request = grant_request(role, perm_type, key, range_end)
        return self._call(_rpc.ROLE_GRANT_PERMISSION, request, self._timeout(timeout), None)

    def role_revoke_permission(
        self: _Caller, role: str, key: Bytes, range_end: Bytes = b"", *, timeout: float | None = None
    ) -> pb.AuthRoleRevokePermissionResponse:
        request = revoke_request(role, key, range_end)
        return self._call(_rpc.ROLE_REVOKE_PERMISSION, request, self._timeout(timeout), None)


class AsyncAuthAPI:
    """The Auth RPCs of `AsyncClient`; see `AuthAPI`."""

    async def auth_enable(self: _AsyncCaller, *, timeout: float | None = None) -> pb.AuthEnableResponse:
        return await self._call(_rpc.AUTH_ENABLE, pb.AuthEnableRequest(), self._timeout(timeout), None)

    async def auth_disable(self: _AsyncCaller, *, timeout: float | None = None) -> pb.AuthDisableResponse:
        return await self._call(_rpc.AUTH_DISABLE, pb.AuthDisableRequest(), self._timeout(timeout), None)

    async def auth_status(self: _AsyncCaller, *, timeout: float | None = None) -> pb.AuthStatusResponse:
        return await self._call(_rpc.AUTH_STATUS, pb.AuthStatusRequest(), self._timeout(timeout), None)

    async def user_add(
        self: _AsyncCaller,
        name: str,
        password: str = "",
        *,
        no_password: bool = False,
        timeout: float | None = None,
    ) -> pb.AuthUserAddResponse:
        request = user_add_request(name, password, no_password)
        return await self._call(_rpc.USER_ADD, request, self._timeout(timeout), None)

    async def user_get(
        self: _AsyncCaller, name: str, *, timeout: float | None = None
    ) -> pb.AuthUserGetResponse:
        request = pb.AuthUserGetRequest(name=name)
        return await self._call(_rpc.USER_GET, request, self._timeout(timeout), None)

    async def user_list(self: _AsyncCaller, *, timeout: float | None = None) -> pb.AuthUserListResponse:
        return await self._call(_rpc.USER_LIST, pb.AuthUserListRequest(), self._timeout(timeout), None)

    async def user_delete(
        self: _AsyncCaller, name: str, *, timeout: float | None = None
    ) -> pb.AuthUserDeleteResponse:
        request = pb.AuthUserDeleteRequest(name=name)
        return await self._call(_rpc.USER_DELETE, request, self._timeout(timeout), None)

    async def user_change_password(
        self: _AsyncCaller, name: str, password: str, *, timeout: float | None = None
    ) -> pb.AuthUserChangePasswordResponse:
        request = pb.AuthUserChangePasswordRequest(name=name, password=password)
        return await self._call(_rpc.USER_CHANGE_PASSWORD, request, self._timeout(timeout), None)

    async def user_grant_role(
        self: _AsyncCaller, user: str, role: str, *, timeout: float | None = None
    ) -> pb.AuthUserGrantRoleResponse:
        request = pb.AuthUserGrantRoleRequest(user=user, role=role)
        return await self._call(_rpc.USER_GRANT_ROLE, request, self._timeout(timeout), None)

    async def user_revoke_role(
        self: _AsyncCaller, user: str, role: str, *, timeout: float | None = None
    ) -> pb.AuthUserRevokeRoleResponse:
        request = pb.AuthUserRevokeRoleRequest(name=user, role=role)
        return await self._call(_rpc.USER_REVOKE_ROLE, request, self._timeout(timeout), None)

    async def role_add(
        self: _AsyncCaller, name: str, *, timeout: float | None = None
    ) -> pb.AuthRoleAddResponse:
        request = pb.AuthRoleAddRequest(name=name)
        return await self._call(_rpc.ROLE_ADD, request, self._timeout(timeout), None)

    async def role_get(
        self: _AsyncCaller, name: str, *, timeout: float | None = None
    ) -> pb.AuthRoleGetResponse:
        request = pb.AuthRoleGetRequest(role=name)
        return await self._call(_rpc.ROLE_GET, request, self._timeout(timeout), None)

    async def role_list(self: _AsyncCaller, *, timeout: float | None = None) -> pb.AuthRoleListResponse:
        return await self._call(_rpc.ROLE_LIST, pb.AuthRoleListRequest(), self._timeout(timeout), None)

    async def role_delete(
        self: _AsyncCaller, name: str, *, timeout: float | None = None
    ) -> pb.AuthRoleDeleteResponse:
        request = pb.AuthRoleDeleteRequest(role=name)
        return await self._call(_rpc.ROLE_DELETE, request, self._timeout(timeout), None)

    async def role_grant_permission(
        self: _AsyncCaller,
        role: str,
        perm_type: PermissionType,
        key: Bytes,
        range_end: Bytes = b"",
        *,
        timeout: float | None = None,
    ) -> pb.AuthRoleGrantPermissionResponse:
        request = grant_request(role, perm_type, key, range_end)
        return await self._call(_rpc.ROLE_GRANT_PERMISSION, request, self._timeout(timeout), None)

    async def role_revoke_permission(
        self: _AsyncCaller, role: str, key: Bytes, range_end: Bytes = b"", *, timeout: float | None = None
    ) -> pb.AuthRoleRevokePermissionResponse:
        request = revoke_request(role, key, range_end)
        return await self._call(_rpc.ROLE_REVOKE_PERMISSION, request, self._timeout(timeout), None)
