"""The JSON gateway's paths and the gRPC methods behind them, as etcd 3.5.1 serves them.

Facts checked against the etcd 3.5.1 binary: `/v3/maintenance/hash` reaches
Hash (HashKV has no reachable path: both are declared on that path and Hash
wins), Lock is `/v3/lock/lock`, the lease paths also answer under `/v3/kv/lease/`.
"""

from __future__ import annotations

import dataclasses
from typing import Final, cast

from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import Message

from etcdpy.api.pb.etcdserverpb import rpc_pb2
from etcdpy.api.pb.v3electionpb import v3election_pb2
from etcdpy.api.pb.v3lockpb import v3lock_pb2


@dataclasses.dataclass(frozen=True, slots=True)
class Route:
    """One gateway path: the gRPC method it calls and how its messages flow."""

    method: str  # "/package.Service/Method"
    request: type[Message]
    response: type[Message]
    client_streaming: bool
    server_streaming: bool


_PATHS: Final = {
    "/v3/kv/range": "etcdserverpb.KV.Range",
    "/v3/kv/put": "etcdserverpb.KV.Put",
    "/v3/kv/deleterange": "etcdserverpb.KV.DeleteRange",
    "/v3/kv/txn": "etcdserverpb.KV.Txn",
    "/v3/kv/compaction": "etcdserverpb.KV.Compact",
    "/v3/watch": "etcdserverpb.Watch.Watch",
    "/v3/lease/grant": "etcdserverpb.Lease.LeaseGrant",
    "/v3/lease/revoke": "etcdserverpb.Lease.LeaseRevoke",
    "/v3/kv/lease/revoke": "etcdserverpb.Lease.LeaseRevoke",
    "/v3/lease/keepalive": "etcdserverpb.Lease.LeaseKeepAlive",
    "/v3/lease/timetolive": "etcdserverpb.Lease.LeaseTimeToLive",
    "/v3/kv/lease/timetolive": "etcdserverpb.Lease.LeaseTimeToLive",
    "/v3/lease/leases": "etcdserverpb.Lease.LeaseLeases",
    "/v3/kv/lease/leases": "etcdserverpb.Lease.LeaseLeases",
    "/v3/cluster/member/add": "etcdserverpb.Cluster.MemberAdd",
    "/v3/cluster/member/remove": "etcdserverpb.Cluster.MemberRemove",
    "/v3/cluster/member/update": "etcdserverpb.Cluster.MemberUpdate",
    "/v3/cluster/member/list": "etcdserverpb.Cluster.MemberList",
    "/v3/cluster/member/promote": "etcdserverpb.Cluster.MemberPromote",
    "/v3/maintenance/alarm": "etcdserverpb.Maintenance.Alarm",
    "/v3/maintenance/status": "etcdserverpb.Maintenance.Status",
    "/v3/maintenance/defragment": "etcdserverpb.Maintenance.Defragment",
    "/v3/maintenance/hash": "etcdserverpb.Maintenance.Hash",
    "/v3/maintenance/snapshot": "etcdserverpb.Maintenance.Snapshot",
    "/v3/maintenance/transfer-leadership": "etcdserverpb.Maintenance.MoveLeader",
    "/v3/maintenance/downgrade": "etcdserverpb.Maintenance.Downgrade",
    "/v3/auth/enable": "etcdserverpb.Auth.AuthEnable",
    "/v3/auth/disable": "etcdserverpb.Auth.AuthDisable",
    "/v3/auth/status": "etcdserverpb.Auth.AuthStatus",
    "/v3/auth/authenticate": "etcdserverpb.Auth.Authenticate",
    "/v3/auth/user/add": "etcdserverpb.Auth.UserAdd",
    "/v3/auth/user/get": "etcdserverpb.Auth.UserGet",
    "/v3/auth/user/list": "etcdserverpb.Auth.UserList",
    "/v3/auth/user/delete": "etcdserverpb.Auth.UserDelete",
    "/v3/auth/user/changepw": "etcdserverpb.Auth.UserChangePassword",
    "/v3/auth/user/grant": "etcdserverpb.Auth.UserGrantRole",
    "/v3/auth/user/revoke": "etcdserverpb.Auth.UserRevokeRole",
    "/v3/auth/role/add": "etcdserverpb.Auth.RoleAdd",
    "/v3/auth/role/get": "etcdserverpb.Auth.RoleGet",
    "/v3/auth/role/list": "etcdserverpb.Auth.RoleList",
    "/v3/auth/role/delete": "etcdserverpb.Auth.RoleDelete",
    "/v3/auth/role/grant": "etcdserverpb.Auth.RoleGrantPermission",
    "/v3/auth/role/revoke": "etcdserverpb.Auth.RoleRevokePermission",
    "/v3/lock/lock": "v3lockpb.Lock.Lock",
    "/v3/lock/unlock": "v3lockpb.Lock.Unlock",
    "/v3/election/campaign": "v3electionpb.Election.Campaign",
    "/v3/election/proclaim": "v3electionpb.Election.Proclaim",
    "/v3/election/leader": "v3electionpb.Election.Leader",
    "/v3/election/observe": "v3electionpb.Election.Observe",
    "/v3/election/resign": "v3electionpb.Election.Resign",
}


def _method(full_name: str) -> MethodDescriptor:
    service_name, _, method_name = full_name.rpartition(".")
    for module in (rpc_pb2, v3lock_pb2, v3election_pb2):
        for service in module.DESCRIPTOR.services_by_name.values():
            if service.full_name == service_name:
                return cast(MethodDescriptor, service.methods_by_name[method_name])
    raise KeyError(full_name)


def _route(full_name: str) -> Route:
    method = _method(full_name)
    return Route(
        method=f"/{method.containing_service.full_name}/{method.name}",
        request=message_factory.GetMessageClass(method.input_type),
        response=message_factory.GetMessageClass(method.output_type),
        client_streaming=method.client_streaming,
        server_streaming=method.server_streaming,
    )


ROUTES: Final = {path: _route(name) for path, name in _PATHS.items()}
