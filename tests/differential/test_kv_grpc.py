"""Differential: the same KV requests over gRPC to reference etcd 3.5.1 and to etcd-py.

Responses are compared whole, after clearing only what legitimately differs
(cluster and member IDs). Both stores start at revision 1 and see the same
requests in the same order, so revisions, versions and errors must agree exactly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message

from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.api.pb.etcdserverpb import rpc_pb2_grpc
from tests.servers import EtcdProcess, running

pytestmark = pytest.mark.reference

Op = Callable[[rpc_pb2_grpc.KVStub], Any]


def _normalize(resp: Message) -> Message:
    out = type(resp)()
    out.CopyFrom(resp)
    if out.HasField("header"):
        out.header.cluster_id = 0  # type: ignore[attr-defined]
        out.header.member_id = 0  # type: ignore[attr-defined]
    return out


def _call(stub: rpc_pb2_grpc.KVStub, op: Op) -> tuple[str, Any]:
    try:
        return "ok", _normalize(op(stub))
    except grpc.RpcError as e:
        return "error", (e.code(), e.details())


def put(key: bytes, value: bytes = b"v", **kw: Any) -> Op:
    return lambda s: s.Put(pb.PutRequest(key=key, value=value, **kw), timeout=5)


def rng(key: bytes, **kw: Any) -> Op:
    return lambda s: s.Range(pb.RangeRequest(key=key, **kw), timeout=5)


def delete(key: bytes, **kw: Any) -> Op:
    return lambda s: s.DeleteRange(pb.DeleteRangeRequest(key=key, **kw), timeout=5)


def txn(**kw: Any) -> Op:
    return lambda s: s.Txn(pb.TxnRequest(**kw), timeout=5)


def compact(rev: int, physical: bool = False) -> Op:
    return lambda s: s.Compact(pb.CompactionRequest(revision=rev, physical=physical), timeout=5)


def cmp(key: bytes, target: str, result: str, **value: Any) -> pb.Compare:
    return pb.Compare(key=key, target=target, result=result, **value)


def op_put(key: bytes, value: bytes = b"v", **kw: Any) -> pb.RequestOp:
    return pb.RequestOp(request_put=pb.PutRequest(key=key, value=value, **kw))


def op_get(key: bytes, **kw: Any) -> pb.RequestOp:
    return pb.RequestOp(request_range=pb.RangeRequest(key=key, **kw))


def op_del(key: bytes, **kw: Any) -> pb.RequestOp:
    return pb.RequestOp(request_delete_range=pb.DeleteRangeRequest(key=key, **kw))


SO = pb.RangeRequest.SortOrder.Value
ST = pb.RangeRequest.SortTarget.Value

SCENARIO: list[tuple[str, Op]] = [
    ("empty store", rng(b"a")),
    ("put a", put(b"a", b"1")),
    ("put b", put(b"b", b"2")),
    ("put c with prev_kv (none)", put(b"c", b"3", prev_kv=True)),
    ("overwrite a with prev_kv", put(b"a", b"11", prev_kv=True)),
    ("get a", rng(b"a")),
    ("range all", rng(b"\0", range_end=b"\0")),
    ("range from key", rng(b"b", range_end=b"\0")),
    ("range prefix", rng(b"a", range_end=b"b")),
    ("limit 2", rng(b"a", range_end=b"z", limit=2)),
    ("count only", rng(b"a", range_end=b"z", count_only=True)),
    ("keys only", rng(b"a", range_end=b"z", keys_only=True)),
    ("sort by value descend", rng(b"a", range_end=b"z", sort_order=SO("DESCEND"), sort_target=ST("VALUE"))),
    ("sort by mod ascend", rng(b"a", range_end=b"z", sort_order=SO("ASCEND"), sort_target=ST("MOD"))),
    ("sort target without order", rng(b"a", range_end=b"z", sort_target=ST("CREATE"))),
    ("sort descend by key with limit", rng(b"a", range_end=b"z", sort_order=SO("DESCEND"), limit=1)),
    ("min mod rev filter", rng(b"a", range_end=b"z", min_mod_revision=4)),
    ("max create rev filter", rng(b"a", range_end=b"z", max_create_revision=2)),
    ("old revision", rng(b"a", revision=2)),
    ("future revision", rng(b"a", revision=1000)),
    ("serializable", rng(b"a", serializable=True)),
    ("empty key range", rng(b"")),
    ("empty key put", put(b"")),
    ("ignore_value with value", put(b"a", b"x", ignore_value=True)),
    ("ignore_value missing key", put(b"nokey", b"", ignore_value=True)),
    ("ignore_value existing key", put(b"a", b"", ignore_value=True)),
    ("ignore_lease on existing key", put(b"a", b"12", ignore_lease=True)),
    ("put with unknown lease", put(b"l", b"1", lease=12345)),
    ("delete missing", delete(b"zzz")),
    ("delete b with prev_kv", delete(b"b", prev_kv=True)),
    ("delete range", delete(b"a", range_end=b"c", prev_kv=True)),
    ("put again", put(b"a", b"new")),
    ("txn value compare success", txn(compare=[cmp(b"a", "VALUE", "EQUAL", value=b"new")],
                                      success=[op_put(b"t1", b"x"), op_get(b"a")],
                                      failure=[op_put(b"t2", b"y")])),
    ("txn version compare failure", txn(compare=[cmp(b"a", "VERSION", "GREATER", version=5)],
                                        success=[op_put(b"t1", b"x")],
                                        failure=[op_get(b"t1"), op_del(b"t1", prev_kv=True)])),
    ("txn create compare on missing key", txn(compare=[cmp(b"missing", "CREATE", "EQUAL",
                                                           create_revision=0)],
                                              success=[op_put(b"missing", b"now")])),
    ("txn mod compare LESS", txn(compare=[cmp(b"a", "MOD", "LESS", mod_revision=100)],
                                 success=[op_get(b"a", range_end=b"z")])),
    ("txn range compare", txn(compare=[cmp(b"a", "VERSION", "GREATER", version=0, range_end=b"z")],
                              success=[op_put(b"r", b"1")])),
    ("txn lease compare", txn(compare=[cmp(b"a", "LEASE", "EQUAL", lease=0)],
                              success=[op_get(b"a")])),
    ("nested txn", txn(success=[pb.RequestOp(request_txn=pb.TxnRequest(
        compare=[cmp(b"a", "VALUE", "NOT_EQUAL", value=b"zz")],
        success=[op_put(b"n1", b"1")]))])),
    ("txn duplicate put", txn(success=[op_put(b"d", b"1"), op_put(b"d", b"2")])),
    ("txn put inside delete range", txn(success=[op_del(b"a", range_end=b"c"), op_put(b"b", b"2")])),
    ("txn duplicate put across nested txn", txn(success=[op_put(b"d", b"1"), pb.RequestOp(
        request_txn=pb.TxnRequest(success=[op_put(b"d", b"2")]))])),
    ("txn same key in then/else", txn(success=[op_put(b"d", b"1")], failure=[op_put(b"d", b"2")])),
    ("txn too many ops", txn(success=[op_put(f"k{i}".encode()) for i in range(129)])),
    ("txn empty compare key", txn(compare=[cmp(b"", "VERSION", "EQUAL", version=0)])),
    ("txn read-only", txn(success=[op_get(b"a"), op_get(b"n1")])),
    ("txn put then get sees own write", txn(success=[op_put(b"own", b"1"), op_get(b"own")])),
    ("empty txn", txn()),
    ("compact future", compact(1000)),
    ("compact 3", compact(3)),
    ("range at compacted revision", rng(b"a", revision=2)),
    ("range at compact revision", rng(b"a", revision=3)),
    ("compact again lower", compact(2)),
    ("compact physical", compact(5, physical=True)),
    ("range after compaction", rng(b"\0", range_end=b"\0")),
    ("final state", rng(b"\0", range_end=b"\0", sort_order=SO("ASCEND"))),
]


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EtcdProcess, EtcdProcess]]:
    tmp: Path = tmp_path_factory.mktemp("diff")
    with running("reference", tmp) as ref, running("etcdpy", tmp) as ours:
        yield ref, ours


def test_kv_scenario_matches_reference(pair: tuple[EtcdProcess, EtcdProcess]) -> None:
    ref, ours = pair
    with grpc.insecure_channel(ref.endpoint) as rch, grpc.insecure_channel(ours.endpoint) as och:
        rs, os_ = rpc_pb2_grpc.KVStub(rch), rpc_pb2_grpc.KVStub(och)
        mismatches = []
        for name, op in SCENARIO:
            want, got = _call(rs, op), _call(os_, op)
            if want != got:
                mismatches.append(f"{name}:\n  reference: {want}\n  etcd-py:   {got}")
        assert not mismatches, "\n".join(mismatches)
