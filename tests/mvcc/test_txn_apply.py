"""etcdpy.server.txn: etcd's request semantics on a KVStore (cross-checked in test_reference.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from etcdpy.api import errors
from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.api.pb.mvccpb.kv_pb2 import KeyValue
from etcdpy.mvcc.kvstore import KVStore
from etcdpy.server import txn as apply
from etcdpy.storage.backend import Backend

RR = pb.RangeRequest
Cmp = pb.Compare
LEASE = 42


@pytest.fixture
def kv(tmp_path: Path) -> Iterator[KVStore]:
    backend = Backend(str(tmp_path / "db"))
    try:
        yield KVStore(backend)
    finally:
        backend.close()


def lease_exists(lease: int) -> bool:
    return lease == LEASE


def put(kv: KVStore, key: bytes, value: bytes = b"v", **kw: object) -> pb.PutResponse:
    with kv.write() as tw:
        resp = apply.put(tw, pb.PutRequest(key=key, value=value, **kw), lease_exists=lease_exists)  # type: ignore[arg-type]
        tw.end()
    return resp


def txn(kv: KVStore, **kw: object) -> pb.TxnResponse:
    return apply.txn(kv, pb.TxnRequest(**kw), lease_exists=lease_exists)  # type: ignore[arg-type]


def op_put(key: bytes, value: bytes = b"v", **kw: object) -> pb.RequestOp:
    return pb.RequestOp(request_put=pb.PutRequest(key=key, value=value, **kw))  # type: ignore[arg-type]


def op_range(key: bytes, **kw: object) -> pb.RequestOp:
    return pb.RequestOp(request_range=RR(key=key, **kw))  # type: ignore[arg-type]


def op_delete(key: bytes, **kw: object) -> pb.RequestOp:
    return pb.RequestOp(request_delete_range=pb.DeleteRangeRequest(key=key, **kw))  # type: ignore[arg-type]


def keys(resp: pb.RangeResponse) -> list[bytes]:
    return [item.key for item in resp.kvs]


@pytest.fixture
def filled(kv: KVStore) -> KVStore:
    """c=1@2, a=3@3, b=2@4, a=1@5: versions a=2, b=1, c=1."""
    put(kv, b"c", b"1")
    put(kv, b"a", b"3")
    put(kv, b"b", b"2")
    put(kv, b"a", b"1")
    return kv


def test_range_limit_more_count(filled: KVStore) -> None:
    resp = apply.range(filled, RR(key=b"a", range_end=b"z", limit=2))
    assert (keys(resp), resp.more, resp.count, resp.header.revision) == ([b"a", b"b"], True, 3, 5)
    resp = apply.range(filled, RR(key=b"a", range_end=b"z", limit=3))
    assert (len(resp.kvs), resp.more) == (3, False)
    resp = apply.range(filled, RR(key=b"a", range_end=b"z", count_only=True, limit=1))
    assert (len(resp.kvs), resp.more, resp.count) == (0, False, 3)
    resp = apply.range(filled, RR(key=b"a", range_end=b"z", keys_only=True))
    assert [item.value for item in resp.kvs] == [b"", b"", b""]
    assert apply.range(filled, RR(key=b"a")).kvs[0].value == b"1"  # keys_only did not touch the store


def test_range_filters_do_not_change_count(filled: KVStore) -> None:
    resp = apply.range(filled, RR(key=b"a", range_end=b"z", min_mod_revision=4, limit=1))
    assert (keys(resp), resp.more, resp.count) == ([b"a"], True, 3)
    resp = apply.range(filled, RR(key=b"a", range_end=b"z", max_mod_revision=3))
    assert keys(resp) == [b"c"]
    resp = apply.range(filled, RR(key=b"a", range_end=b"z", min_create_revision=3, max_create_revision=3))
    assert keys(resp) == [b"a"]


def test_range_sorting(filled: KVStore) -> None:
    def order(**kw: object) -> list[bytes]:
        return keys(apply.range(filled, RR(key=b"a", range_end=b"z", **kw)))  # type: ignore[arg-type]

    assert order(sort_order=RR.DESCEND) == [b"c", b"b", b"a"]
    assert order(sort_target=RR.VALUE) == [b"a", b"c", b"b"]  # a target alone sorts ascending
    assert order(sort_target=RR.MOD, sort_order=RR.DESCEND) == [b"a", b"b", b"c"]
    assert order(sort_target=RR.CREATE) == [b"c", b"a", b"b"]
    assert order(sort_target=RR.VERSION, sort_order=RR.DESCEND) == [b"a", b"b", b"c"]
    assert order(sort_target=RR.VERSION, sort_order=RR.DESCEND, limit=1) == [b"a"]


def test_range_at_revision(filled: KVStore) -> None:
    resp = apply.range(filled, RR(key=b"a", range_end=b"z", revision=3))
    assert keys(resp) == [b"a", b"c"]
    assert resp.kvs[0].value == b"3"
    assert resp.header.revision == 5
    with pytest.raises(errors.EtcdError) as e:
        apply.range(filled, RR(key=b"a", revision=6))
    assert e.value == errors.FUTURE_REV


def test_put_options(kv: KVStore) -> None:
    resp = put(kv, b"a", b"1", prev_kv=True)
    assert not resp.HasField("prev_kv")
    assert resp.header.revision == 2
    put(kv, b"a", b"2", lease=LEASE)
    resp = put(kv, b"a", b"", ignore_value=True, prev_kv=True)
    assert resp.prev_kv.value == b"2"
    [now] = apply.range(kv, RR(key=b"a")).kvs
    assert (now.value, now.lease) == (b"2", 0)
    put(kv, b"a", b"3", lease=LEASE)
    put(kv, b"a", b"4", ignore_lease=True)
    [now] = apply.range(kv, RR(key=b"a")).kvs
    assert (now.value, now.lease, now.version) == (b"4", LEASE, 5)
    cases: list[tuple[dict[str, object], errors.EtcdError]] = [
        ({"lease": 7}, errors.LEASE_NOT_FOUND),
        ({"ignore_value": True}, errors.KEY_NOT_FOUND),
        ({"ignore_lease": True}, errors.KEY_NOT_FOUND),
        ({"ignore_value": True, "lease": 7}, errors.LEASE_NOT_FOUND),
    ]
    for kw, error in cases:
        with pytest.raises(errors.EtcdError) as e:
            put(kv, b"missing", b"", **kw)
        assert e.value == error
    assert kv.rev == 6


def test_delete_range(filled: KVStore) -> None:
    with filled.write() as tw:
        resp = apply.delete_range(tw, pb.DeleteRangeRequest(key=b"nothing"))
        assert (resp.deleted, resp.header.revision) == (0, 5)
        resp = apply.delete_range(tw, pb.DeleteRangeRequest(key=b"b", range_end=b"\0", prev_kv=True))
        assert (resp.deleted, resp.header.revision) == (2, 6)
        assert [item.key for item in resp.prev_kvs] == [b"b", b"c"]
        tw.end()
    assert keys(apply.range(filled, RR(key=b"\0", range_end=b"\0"))) == [b"a"]


def test_compare_semantics(filled: KVStore) -> None:
    def holds(**kw: object) -> bool:
        return txn(filled, compare=[Cmp(**kw)]).succeeded  # type: ignore[arg-type]

    assert holds(key=b"a", target=Cmp.VERSION, result=Cmp.EQUAL, version=2)
    assert holds(key=b"a", target=Cmp.MOD, result=Cmp.GREATER, mod_revision=4)
    assert holds(key=b"a", target=Cmp.CREATE, result=Cmp.LESS, create_revision=4)
    assert holds(key=b"a", target=Cmp.VALUE, result=Cmp.NOT_EQUAL, value=b"2")
    assert holds(key=b"a", target=Cmp.LEASE, result=Cmp.EQUAL, lease=0)
    # A missing key compares as an empty KeyValue, except on its value.
    assert holds(key=b"zz", target=Cmp.VERSION, result=Cmp.EQUAL, version=0)
    assert holds(key=b"zz", target=Cmp.CREATE, result=Cmp.LESS, create_revision=1)
    assert not holds(key=b"zz", target=Cmp.VALUE, result=Cmp.EQUAL, value=b"")
    assert not holds(key=b"zz", target=Cmp.VALUE, result=Cmp.NOT_EQUAL, value=b"x")
    # Over a range, the compare must hold for every key.
    assert holds(key=b"a", range_end=b"z", target=Cmp.MOD, result=Cmp.GREATER, mod_revision=1)
    assert not holds(key=b"a", range_end=b"z", target=Cmp.VERSION, result=Cmp.EQUAL, version=1)
    assert holds(key=b"b", range_end=b"\0", target=Cmp.VERSION, result=Cmp.EQUAL, version=1)
    assert holds(key=b"x", range_end=b"z", target=Cmp.VERSION, result=Cmp.EQUAL, version=0)
    # The operand is the union member matching the target; another member reads as zero.
    assert not holds(key=b"a", target=Cmp.VERSION, result=Cmp.EQUAL, mod_revision=2)
    assert holds(key=b"a", target=Cmp.VERSION, result=Cmp.GREATER, mod_revision=2)


def test_txn_branches_nested_and_one_revision(filled: KVStore) -> None:
    is_one = Cmp(key=b"a", target=Cmp.VALUE, result=Cmp.EQUAL, value=b"1")
    inner = pb.TxnRequest(compare=[is_one], success=[op_put(b"n1"), op_range(b"n0", range_end=b"n9")])
    resp = txn(
        filled,
        compare=[is_one],
        success=[op_put(b"a", b"changed"), op_put(b"n0"), pb.RequestOp(request_txn=inner), op_range(b"a")],
        failure=[op_range(b"a")],
    )
    assert resp.succeeded
    assert resp.header.revision == 6
    put_resp, _, nested, read = resp.responses
    assert put_resp.response_put.header.revision == 6
    # The nested compare saw the state before the txn (a was still "1").
    assert nested.response_txn.succeeded
    assert nested.response_txn.HasField("header")
    assert nested.response_txn.header.revision == 0
    assert keys(nested.response_txn.responses[1].response_range) == [b"n0", b"n1"]
    assert read.response_range.kvs[0].value == b"changed"
    assert {item.mod_revision for item in apply.range(filled, RR(key=b"\0", range_end=b"\0")).kvs} == {
        2,
        4,
        6,
    }
    resp = txn(filled, compare=[is_one], success=[op_put(b"x")], failure=[op_range(b"a"), op_delete(b"q")])
    assert not resp.succeeded
    assert (resp.header.revision, filled.rev) == (6, 6)


def test_failing_txn_writes_nothing(filled: KVStore) -> None:
    for ops, error in [
        ([op_put(b"new"), op_put(b"gone", ignore_value=True)], errors.KEY_NOT_FOUND),
        ([op_put(b"new"), op_put(b"x", lease=7)], errors.LEASE_NOT_FOUND),
        ([op_put(b"new"), op_range(b"a", revision=99)], errors.FUTURE_REV),
        ([op_range(b"a", revision=99), op_put(b"x", lease=7)], errors.LEASE_NOT_FOUND),
    ]:
        with pytest.raises(errors.EtcdError) as e:
            txn(filled, success=ops)
        assert e.value == error
    assert filled.rev == 5
    assert apply.range(filled, RR(key=b"new")).count == 0


def test_txn_range_revision_prechecks(filled: KVStore) -> None:
    filled.compact(3)
    with pytest.raises(errors.EtcdError) as e:
        txn(filled, success=[op_range(b"a", revision=2)])
    assert e.value == errors.COMPACTED
    with pytest.raises(errors.EtcdError) as e:  # etcd compares negative revisions with the compaction too
        txn(filled, success=[op_range(b"a", revision=-1)])
    assert e.value == errors.COMPACTED
    assert txn(filled, success=[op_range(b"a", revision=3)]).responses[0].response_range.kvs[0].value == b"3"


def test_txn_saves_consistent_index(filled: KVStore) -> None:
    apply.txn(filled, pb.TxnRequest(), lease_exists=lease_exists, consistent_index=77)
    assert filled.consistent_index == 77
    assert filled.rev == 5


def test_compact(filled: KVStore) -> None:
    resp = apply.compact(filled, pb.CompactionRequest(revision=4, physical=True), consistent_index=9)
    assert resp.header.revision == 5
    assert (filled.compact_rev, filled.consistent_index) == (4, 9)
    with pytest.raises(errors.EtcdError) as e:
        apply.compact(filled, pb.CompactionRequest(revision=4))
    assert e.value == errors.COMPACTED


def test_put_prev_kv_is_a_copy(kv: KVStore) -> None:
    put(kv, b"a", b"1")
    resp = put(kv, b"a", b"2", prev_kv=True)
    resp.prev_kv.value = b"mutated"
    assert resp.prev_kv != KeyValue()
    assert apply.range(kv, RR(key=b"a", revision=2)).kvs[0].value == b"1"
