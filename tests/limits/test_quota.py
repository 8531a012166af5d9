"""--quota-backend-bytes with the NOSPACE alarm, on reference etcd 3.5.1 and etcd-py alike (the same
test body)."""

from __future__ import annotations

import time
from pathlib import Path

import grpc
import pytest

from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.api.pb.etcdserverpb import rpc_pb2_grpc
from tests.servers import running

pytestmark = pytest.mark.reference

QUOTA = 400_000
VALUE = b"q" * 100_000
TIMEOUT = 10.0
NOSPACE = "etcdserver: mvcc: database space exceeded"


def _fill(kv: rpc_pb2_grpc.KVStub) -> grpc.RpcError:
    """Put 100 kB values until one is refused; the refusal. The backend's size shows after its batch
    commit (every 100 ms in etcd), so the puts are paced and bounded in number."""
    for i in range(100):
        try:
            kv.Put(pb.PutRequest(key=b"fill/%d" % i, value=VALUE), timeout=TIMEOUT)
        except grpc.RpcError as e:
            return e
        time.sleep(0.05)
    raise AssertionError(f"10 MB put against a quota of {QUOTA} bytes and no write was refused")


@pytest.mark.parametrize("kind", ["reference", "etcdpy"])
def test_nospace_alarm_cycle(kind: str, tmp_path: Path) -> None:
    """Over quota: NOSPACE raised, writes refused with etcd's error while reads and deletes work; after a
    compaction, a defragmentation and `alarm disarm`, writes succeed again."""
    flags = ["--quota-backend-bytes", str(QUOTA)]
    with running(kind, tmp_path, extra_args=flags) as proc, grpc.insecure_channel(proc.endpoint) as ch:
        kv, maintenance = rpc_pb2_grpc.KVStub(ch), rpc_pb2_grpc.MaintenanceStub(ch)
        refused = _fill(kv)
        assert (refused.code(), refused.details()) == (grpc.StatusCode.RESOURCE_EXHAUSTED, NOSPACE)
        alarms = maintenance.Alarm(pb.AlarmRequest(action=pb.AlarmRequest.GET), timeout=TIMEOUT).alarms
        assert [(a.memberID, a.alarm) for a in alarms] == [(proc_member_id(maintenance), pb.NOSPACE)]
        with pytest.raises(grpc.RpcError) as again:
            kv.Put(pb.PutRequest(key=b"small", value=b"v"), timeout=TIMEOUT)
        assert again.value.details() == NOSPACE
        with pytest.raises(grpc.RpcError) as txn:
            kv.Txn(
                pb.TxnRequest(success=[pb.RequestOp(request_put=pb.PutRequest(key=b"t"))]),
                timeout=TIMEOUT,
            )
        assert txn.value.details() == NOSPACE
        assert kv.Range(pb.RangeRequest(key=b"fill/0"), timeout=TIMEOUT).count == 1
        deleted = kv.DeleteRange(pb.DeleteRangeRequest(key=b"fill/", range_end=b"fill0"), timeout=TIMEOUT)
        assert deleted.deleted >= 1
        kv.Compact(pb.CompactionRequest(revision=deleted.header.revision, physical=True), timeout=TIMEOUT)
        maintenance.Defragment(pb.DefragmentRequest(), timeout=30)
        for a in alarms:
            disarm = pb.AlarmRequest(action=pb.AlarmRequest.DEACTIVATE, memberID=a.memberID, alarm=a.alarm)
            maintenance.Alarm(disarm, timeout=TIMEOUT)
        kv.Put(pb.PutRequest(key=b"small", value=b"v"), timeout=TIMEOUT)
        assert not maintenance.Alarm(pb.AlarmRequest(action=pb.AlarmRequest.GET), timeout=TIMEOUT).alarms


def proc_member_id(maintenance: rpc_pb2_grpc.MaintenanceStub) -> int:
    return int(maintenance.Status(pb.StatusRequest(), timeout=TIMEOUT).header.member_id)
