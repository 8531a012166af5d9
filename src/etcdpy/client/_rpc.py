"""The etcd RPCs the client calls, with their wire paths and response types."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

from google.protobuf.message import Message

from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb

Resp = TypeVar("Resp", bound=Message)


@dataclass(frozen=True)
class Rpc(Generic[Resp]):
    """One RPC. `read_only` RPCs may be re-sent to another endpoint after any transport failure."""

    path: str
    response: type[Resp]
    read_only: bool


RANGE = Rpc("/etcdserverpb.KV/Range", pb.RangeResponse, True)
PUT = Rpc("/etcdserverpb.KV/Put", pb.PutResponse, False)
DELETE_RANGE = Rpc("/etcdserverpb.KV/DeleteRange", pb.DeleteRangeResponse, False)
TXN = Rpc("/etcdserverpb.KV/Txn", pb.TxnResponse, False)
COMPACT = Rpc("/etcdserverpb.KV/Compact", pb.CompactionResponse, False)

STATUS = Rpc("/etcdserverpb.Maintenance/Status", pb.StatusResponse, True)
HASH_KV = Rpc("/etcdserverpb.Maintenance/HashKV", pb.HashKVResponse, True)
DEFRAGMENT = Rpc("/etcdserverpb.Maintenance/Defragment", pb.DefragmentResponse, False)
ALARM = Rpc("/etcdserverpb.Maintenance/Alarm", pb.AlarmResponse, False)
SNAPSHOT = Rpc("/etcdserverpb.Maintenance/Snapshot", pb.SnapshotResponse, True)

MEMBER_LIST = Rpc("/etcdserverpb.Cluster/MemberList", pb.MemberListResponse, True)
MEMBER_ADD = Rpc("/etcdserverpb.Cluster/MemberAdd", pb.MemberAddResponse, False)
MEMBER_REMOVE = Rpc("/etcdserverpb.Cluster/MemberRemove", pb.MemberRemoveResponse, False)
MEMBER_UPDATE = Rpc("/etcdserverpb.Cluster/MemberUpdate", pb.MemberUpdateResponse, False)
MEMBER_PROMOTE = Rpc("/etcdserverpb.Cluster/MemberPromote", pb.MemberPromoteResponse, False)
MOVE_LEADER = Rpc("/etcdserverpb.Maintenance/MoveLeader", pb.MoveLeaderResponse, False)

AUTHENTICATE = Rpc("/etcdserverpb.Auth/Authenticate", pb.AuthenticateResponse, False)
AUTH_ENABLE = Rpc("/etcdserverpb.Auth/AuthEnable", pb.AuthEnableResponse, False)
AUTH_DISABLE = Rpc("/etcdserverpb.Auth/AuthDisable", pb.AuthDisableResponse, False)
AUTH_STATUS = Rpc("/etcdserverpb.Auth/AuthStatus", pb.AuthStatusResponse, True)
USER_ADD = Rpc("/etcdserverpb.Auth/UserAdd", pb.AuthUserAddResponse, False)
USER_GET = Rpc("/etcdserverpb.Auth/UserGet", pb.AuthUserGetResponse, True)
USER_LIST = Rpc("/etcdserverpb.Auth/UserList", pb.AuthUserListResponse, True)
USER_DELETE = Rpc("/etcdserverpb.Auth/UserDelete", pb.AuthUserDeleteResponse, False)
USER_CHANGE_PASSWORD = Rpc("/etcdserverpb.Auth/UserChangePassword", pb.AuthUserChangePasswordResponse, False)
USER_GRANT_ROLE = Rpc("/etcdserverpb.Auth/UserGrantRole", pb.AuthUserGrantRoleResponse, False)
USER_REVOKE_ROLE = Rpc("/etcdserverpb.Auth/UserRevokeRole", pb.AuthUserRevokeRoleResponse, False)
ROLE_ADD = Rpc("/etcdserverpb.Auth/RoleAdd", pb.AuthRoleAddResponse, False)
ROLE_GET = Rpc("/etcdserverpb.Auth/RoleGet", pb.AuthRoleGetResponse, True)
ROLE_LIST = Rpc("/etcdserverpb.Auth/RoleList", pb.AuthRoleListResponse, True)
ROLE_DELETE = Rpc("/etcdserverpb.Auth/RoleDelete", pb.AuthRoleDeleteResponse, False)
ROLE_GRANT_PERMISSION = Rpc(
    "/etcdserverpb.Auth/RoleGrantPermission", pb.AuthRoleGrantPermissionResponse, False
)
ROLE_REVOKE_PERMISSION = Rpc(
    "/etcdserverpb.Auth/RoleRevokePermission", pb.AuthRoleRevokePermissionResponse, False
)

LEASE_GRANT = Rpc("/etcdserverpb.Lease/LeaseGrant", pb.LeaseGrantResponse, False)
LEASE_REVOKE = Rpc("/etcdserverpb.Lease/LeaseRevoke", pb.LeaseRevokeResponse, False)
LEASE_TIME_TO_LIVE = Rpc("/etcdserverpb.Lease/LeaseTimeToLive", pb.LeaseTimeToLiveResponse, True)
LEASE_LEASES = Rpc("/etcdserverpb.Lease/LeaseLeases", pb.LeaseLeasesResponse, True)

# Bidirectional streams; `read_only` is unused (a broken stream is reopened by its owner).
WATCH = Rpc("/etcdserverpb.Watch/Watch", pb.WatchResponse, True)
LEASE_KEEP_ALIVE = Rpc("/etcdserverpb.Lease/LeaseKeepAlive", pb.LeaseKeepAliveResponse, True)
