"""Auth at apply time: the caller's rights to a replicated request, and the auth requests themselves.

The caller is the one its proposer named in the entry's header (user name and the auth revision
its token was valid at), so every member reaches the same verdict.
"""

from __future__ import annotations

from typing import Any

from etcdpy.api import errors
from etcdpy.api.pb.etcdserverpb import raft_internal_pb2, rpc_pb2
from etcdpy.auth.info import AuthInfo
from etcdpy.auth.store import AuthStore
from etcdpy.lease.lessor import Lessor

InternalRaftRequest = raft_internal_pb2.InternalRaftRequest

# Requests only a user with the root role may make (etcd's needAdminPermission, plus AuthStatus as in
# 3.5); see also `_about_self`.
AUTH_REQUESTS = frozenset(
    {
        "auth_enable",
        "auth_disable",
        "auth_status",
        "auth_user_add",
        "auth_user_delete",
        "auth_user_change_password",
        "auth_user_grant_role",
        "auth_user_revoke_role",
        "auth_role_add",
        "auth_role_grant_permission",
        "auth_role_revoke_permission",
        "auth_role_delete",
        "auth_user_list",
        "auth_role_list",
        "authenticate",
        "auth_user_get",
        "auth_role_get",
    }
)


def caller(req: InternalRaftRequest) -> AuthInfo:
    return AuthInfo(req.header.username, req.header.auth_revision)


def check(store: AuthStore, lessor: Lessor, kind: str, req: InternalRaftRequest) -> None:
    """Refuse `req` (whose request field is `kind`) if its caller may not make it. Auth enabled."""
    info = caller(req)
    if kind == "put":
        put = req.put
        store.check(info, put.key, b"", write=True)
        _check_lease_keys(store, lessor, info, put.lease)
        if put.prev_kv:
            store.check(info, put.key, b"", write=False)
    elif kind == "delete_range":
        _check_delete(store, info, req.delete_range)
    elif kind == "txn":
        check_txn(store, info, req.txn)
    elif kind == "lease_revoke":
        _check_lease_keys(store, lessor, info, req.lease_revoke.ID)
    elif kind in AUTH_REQUESTS and not _about_self(store, info, kind, req):
        store.check_admin(info)


def _about_self(store: AuthStore, info: AuthInfo, kind: str, req: InternalRaftRequest) -> bool:
    """A user may get itself and the roles it has without being root; and anyone may authenticate."""
    if kind == "auth_user_get":
        return req.auth_user_get.name == info.username
    if kind == "auth_role_get":
        return store.has_role(info.username, req.auth_role_get.role)
    return kind == "authenticate"


def _check_delete(store: AuthStore, info: AuthInfo | None, req: rpc_pb2.DeleteRangeRequest) -> None:
    if req.prev_kv:
        store.check(info, req.key, req.range_end, write=False)
    store.check(info, req.key, req.range_end, write=True)


def _check_lease_keys(store: AuthStore, lessor: Lessor, info: AuthInfo | None, lease_id: int) -> None:
    """A user may attach or revoke a lease only if it may write every key already attached to it."""
    if lease_id and lessor.lookup(lease_id) is not None:
        for key in lessor.keys(lease_id):
            store.check(info, key, b"", write=True)


def check_txn(store: AuthStore, info: AuthInfo | None, req: rpc_pb2.TxnRequest) -> None:
    """Every compare needs read permission, and every operation in either branch its own. As in etcd
    3.5.1, the operations of nested transactions are not checked."""
    for cmp in req.compare:
        store.check(info, cmp.key, cmp.range_end, write=False)
    for op in (*req.success, *req.failure):
        kind = op.WhichOneof("request")
        if kind == "request_range":
            store.check(info, op.request_range.key, op.request_range.range_end, write=False)
        elif kind == "request_put":
            store.check(info, op.request_put.key, b"", write=True)
        elif kind == "request_delete_range":
            _check_delete(store, info, op.request_delete_range)


def apply(store: AuthStore, kind: str, req: InternalRaftRequest, index: int) -> Any:
    """Apply the auth request in field `kind` of `req`; its response (without header)."""
    if kind == "auth_enable":
        store.enable()
        return rpc_pb2.AuthEnableResponse()
    if kind == "auth_disable":
        store.disable()
        return rpc_pb2.AuthDisableResponse()
    if kind == "auth_status":
        return rpc_pb2.AuthStatusResponse(enabled=store.enabled, authRevision=store.revision)
    if kind == "authenticate":
        a = req.authenticate
        return rpc_pb2.AuthenticateResponse(token=store.authenticate(a.name, a.simple_token, index))
    if kind == "auth_user_add":
        store.user_add(req.auth_user_add)
        return rpc_pb2.AuthUserAddResponse()
    if kind == "auth_user_delete":
        store.user_delete(req.auth_user_delete.name)
        return rpc_pb2.AuthUserDeleteResponse()
    if kind == "auth_user_change_password":
        store.user_change_password(req.auth_user_change_password)
        return rpc_pb2.AuthUserChangePasswordResponse()
    if kind == "auth_user_grant_role":
        store.user_grant_role(req.auth_user_grant_role.user, req.auth_user_grant_role.role)
        return rpc_pb2.AuthUserGrantRoleResponse()
    if kind == "auth_user_revoke_role":
        store.user_revoke_role(req.auth_user_revoke_role.name, req.auth_user_revoke_role.role)
        return rpc_pb2.AuthUserRevokeRoleResponse()
    if kind == "auth_user_get":
        return rpc_pb2.AuthUserGetResponse(roles=store.user_get(req.auth_user_get.name))
    if kind == "auth_user_list":
        return rpc_pb2.AuthUserListResponse(users=store.user_list())
    if kind == "auth_role_add":
        store.role_add(req.auth_role_add.name)
        return rpc_pb2.AuthRoleAddResponse()
    if kind == "auth_role_delete":
        store.role_delete(req.auth_role_delete.role)
        return rpc_pb2.AuthRoleDeleteResponse()
    if kind == "auth_role_get":
        return rpc_pb2.AuthRoleGetResponse(perm=store.role_get(req.auth_role_get.role))
    if kind == "auth_role_list":
        return rpc_pb2.AuthRoleListResponse(roles=store.role_list())
    if kind == "auth_role_grant_permission":
        grant = req.auth_role_grant_permission
        if not grant.HasField("perm"):
            raise errors.PERMISSION_NOT_GIVEN
        store.role_grant_permission(grant.name, grant.perm)
        return rpc_pb2.AuthRoleGrantPermissionResponse()
    if kind == "auth_role_revoke_permission":
        rv = req.auth_role_revoke_permission
        store.role_revoke_permission(rv.role, rv.key, rv.range_end)
        return rpc_pb2.AuthRoleRevokePermissionResponse()
    raise errors.NOT_CAPABLE
