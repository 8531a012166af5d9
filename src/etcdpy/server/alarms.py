"""Cluster alarms (NOSPACE, CORRUPT): replicated state, changed and listed through the log.

As in etcd, every Alarm request (GET included) is an entry of the log, so all
members agree on the alarms at each index. Active alarms live in the backend's
`alarm` bucket, keyed by the serialized AlarmMember, and are restored on start.
"""

from __future__ import annotations

from etcdpy.api.pb.etcdserverpb import rpc_pb2
from etcdpy.storage import schema
from etcdpy.storage.backend import Backend

AlarmMember = rpc_pb2.AlarmMember
_A = rpc_pb2.AlarmRequest.AlarmAction


class AlarmStore:
    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self._active: dict[tuple[int, int], AlarmMember] = {}
        self.reload()

    def reload(self) -> None:
        """(Re)read the active alarms from the backend."""
        self._active.clear()
        with self._backend.read() as txn:
            for key, _ in txn.items(schema.ALARM):
                m = AlarmMember.FromString(key)
                self._active[(m.memberID, m.alarm)] = m

    def raised(self, alarm: int) -> bool:
        """Whether any member has `alarm` active."""
        return any(kind == alarm for _, kind in self._active)

    def active(self) -> list[AlarmMember]:
        return [self._active[k] for k in sorted(self._active)]

    def apply(self, req: rpc_pb2.AlarmRequest) -> rpc_pb2.AlarmResponse:
        """GET lists; ACTIVATE and DEACTIVATE answer with the alarm they changed (none if no change)."""
        resp = rpc_pb2.AlarmResponse()
        if req.action == _A.GET:
            resp.alarms.extend(self.active())
            return resp
        member = AlarmMember(memberID=req.memberID, alarm=req.alarm)
        key = (member.memberID, member.alarm)
        if req.action == _A.ACTIVATE and req.alarm != rpc_pb2.NONE and key not in self._active:
            with self._backend.write() as txn:
                txn.put(schema.ALARM, member.SerializeToString(), b"")
            self._active[key] = member
            resp.alarms.append(member)
        elif req.action == _A.DEACTIVATE and key in self._active:
            with self._backend.write() as txn:
                txn.delete(schema.ALARM, member.SerializeToString())
            del self._active[key]
            resp.alarms.append(member)
        return resp
