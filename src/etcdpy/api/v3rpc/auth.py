"""The Auth service: every request goes through the raft log (Authenticate too, so that every member
knows the token it makes), as etcd's do."""

from __future__ import annotations

from typing import Any, TypeVar

from etcdpy.api.pb.etcdserverpb import rpc_pb2, rpc_pb2_grpc
from etcdpy.api.v3rpc.status import Context, unary
from etcdpy.server.server import EtcdServer

T = TypeVar("T")


class AuthService(rpc_pb2_grpc.AuthServicer):
    def __init__(self, server: EtcdServer) -> None:
        self._server = server

    async def _propose(self, field: str, request: Any, response: type[T]) -> T:
        resp = await self._server.auth_request(field, request)
        assert isinstance(resp, response)
        return resp

    @unary
    async def Authenticate(
        self, request: rpc_pb2.AuthenticateRequest, context: Context
    ) -> rpc_pb2.AuthenticateResponse:
        return await self._server.authenticate(request)

    @unary
    async def AuthEnable(
        self, request: rpc_pb2.AuthEnableRequest, context: Context
    ) -> rpc_pb2.AuthEnableResponse:
        return await self._propose("auth_enable", request, rpc_pb2.AuthEnableResponse)

    @unary
    async def AuthDisable(
        self, request: rpc_pb2.AuthDisableRequest, context: Context
    ) -> rpc_pb2.AuthDisableResponse:
        return await self._propose("auth_disable", request, rpc_pb2.AuthDisableResponse)

    @unary
    async def AuthStatus(
        self, request: rpc_pb2.AuthStatusRequest, context: Context
    ) -> rpc_pb2.AuthStatusResponse:
        return await self._propose("auth_status", request, rpc_pb2.AuthStatusResponse)

    @unary
    async def UserAdd(
        self, request: rpc_pb2.AuthUserAddRequest, context: Context
    ) -> rpc_pb2.AuthUserAddResponse:
        return await self._propose("auth_user_add", request, rpc_pb2.AuthUserAddResponse)

    @unary
    async def UserGet(
        self, request: rpc_pb2.AuthUserGetRequest, context: Context
    ) -> rpc_pb2.AuthUserGetResponse:
        return await self._propose("auth_user_get", request, rpc_pb2.AuthUserGetResponse)

    @unary
    async def UserList(
        self, request: rpc_pb2.AuthUserListRequest, context: Context
    ) -> rpc_pb2.AuthUserListResponse:
        return await self._propose("auth_user_list", request, rpc_pb2.AuthUserListResponse)

    @unary
    async def UserDelete(
        self, request: rpc_pb2.AuthUserDeleteRequest, context: Context
    ) -> rpc_pb2.AuthUserDeleteResponse:
        return await self._propose("auth_user_delete", request, rpc_pb2.AuthUserDeleteResponse)

    @unary
    async def UserChangePassword(
        self, request: rpc_pb2.AuthUserChangePasswordRequest, context: Context
    ) -> rpc_pb2.AuthUserChangePasswordResponse:
        return await self._propose(
            "auth_user_change_password", request, rpc_pb2.AuthUserChangePasswordResponse
        )

    @unary
    async def UserGrantRole(
        self, request: rpc_pb2.AuthUserGrantRoleRequest, context: Context
    ) -> rpc_pb2.AuthUserGrantRoleResponse:
        return await self._propose("auth_user_grant_role", request, rpc_pb2.AuthUserGrantRoleResponse)

    @unary
    async def UserRevokeRole(
        self, request: rpc_pb2.AuthUserRevokeRoleRequest, context: Context
    ) -> rpc_pb2.AuthUserRevokeRoleResponse:
        return await self._propose("auth_user_revoke_role", request, rpc_pb2.AuthUserRevokeRoleResponse)

    @unary
    async def RoleAdd(
        self, request: rpc_pb2.AuthRoleAddRequest, context: Context
    ) -> rpc_pb2.AuthRoleAddResponse:
        return await self._propose("auth_role_add", request, rpc_pb2.AuthRoleAddResponse)

    @unary
    async def RoleGet(
        self, request: rpc_pb2.AuthRoleGetRequest, context: Context
    ) -> rpc_pb2.AuthRoleGetResponse:
        return await self._propose("auth_role_get", request, rpc_pb2.AuthRoleGetResponse)

    @unary
    async def RoleList(
        self, request: rpc_pb2.AuthRoleListRequest, context: Context
    ) -> rpc_pb2.AuthRoleListResponse:
        return await self._propose("auth_role_list", request, rpc_pb2.AuthRoleListResponse)

    @unary
    async def RoleDelete(
        self, request: rpc_pb2.AuthRoleDeleteRequest, context: Context
    ) -> rpc_pb2.AuthRoleDeleteResponse:
        return await self._propose("auth_role_delete", request, rpc_pb2.AuthRoleDeleteResponse)

    @unary
    async def RoleGrantPermission(
        self, request: rpc_pb2.AuthRoleGrantPermissionRequest, context: Context
    ) -> rpc_pb2.AuthRoleGrantPermissionResponse:
        return await self._propose(
            "auth_role_grant_permission", request, rpc_pb2.AuthRoleGrantPermissionResponse
        )

    @unary
    async def RoleRevokePermission(
        self, request: rpc_pb2.AuthRoleRevokePermissionRequest, context: Context
    ) -> rpc_pb2.AuthRoleRevokePermissionResponse:
        return await self._propose(
            "auth_role_revoke_permission", request, rpc_pb2.AuthRoleRevokePermissionResponse
        )
