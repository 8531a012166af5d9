"""Differential tests: the same KV requests against etcd-py's store and reference etcd 3.5.1.

Responses (header revision included; cluster/member/term left out), errors
(code and message) and HashKV results must be identical.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from google.protobuf.message import Message

from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.mvcc.kvstore import KVStore
from etcdpy.storage.backend import Backend

from ._kvapi import LocalKV, RemoteKV, Result
from ._refetcd import reference_etcd

pytestmark = pytest.mark.reference

LEASES = (0x1111, 0x2222)

Cmp = pb.Compare
RR = pb.RangeRequest


class Pair:
    def __init__(self, local: LocalKV, remote: RemoteKV) -> None:
        self.local = local
        self.remote = remote
        self.steps = 0

    def check(self, method: str, req: Message) -> Result:
        self.steps += 1
        want = self.remote.call(method, req)
        got = self.local.call(method, req)
        assert got == want, f"step {self.steps}: {method} {req}\nreference: {want}\netcd-py: {got}"
        return got

    def hash(self, rev: int = 0) -> None:
        self.check("HashKV", pb.HashKVRequest(revision=rev))


@pytest.fixture
def pair(tmp_path: Path) -> Iterator[Pair]:
    with reference_etcd() as channel:
        remote = RemoteKV(channel)
        for lease in LEASES:
            remote.grant(lease)
        backend = Backend(str(tmp_path / "db"))
        try:
            yield Pair(LocalKV(KVStore(backend), set(LEASES)), remote)
        finally:
            backend.close()


def put(key: bytes, value: bytes = b"v", **kw: object) -> pb.RequestOp:
    return pb.RequestOp(request_put=pb.PutRequest(key=key, value=value, **kw))  # type: ignore[arg-type]


def rng(key: bytes, **kw: object) -> pb.RequestOp:
    return pb.RequestOp(request_range=pb.RangeRequest(key=key, **kw))  # type: ignore[arg-type]


def dele(key: bytes, **kw: object) -> pb.RequestOp:
    return pb.RequestOp(request_delete_range=pb.DeleteRangeRequest(key=key, **kw))  # type: ignore[arg-type]


def sub(txn: pb.TxnRequest) -> pb.RequestOp:
    return pb.RequestOp(request_txn=txn)


RANGES = [(b"k", b"l"), (b"k2", b""), (b"k2", b"\0"), (b"\0", b"\0"), (b"z", b"a"), (b"k9", b"")]


def test_range_options(pair: Pair) -> None:
    c = pair.check
    c("Range", RR(key=b"a"))
    for i, key in enumerate([b"k3", b"k1", b"k4", b"k2", b"k5", b"j", b"l"]):
        c("Put", pb.PutRequest(key=key, value=b"val%d" % ((i * 7) % 5), lease=LEASES[i % 2] if i % 3 else 0))
    c("Put", pb.PutRequest(key=b"k2", value=b"again"))
    c("Txn", pb.TxnRequest(success=[put(b"k6", b"x"), put(b"k7", b"y"), put(b"k3", b"z")]))
    for extra in [
        {},
        {"limit": 2},
        {"limit": 7},
        {"limit": 8},
        {"limit": -1},
        {"count_only": True},
        {"count_only": True, "limit": 2},
        {"keys_only": True},
        {"keys_only": True, "limit": 1},
        {"revision": 5},
        {"revision": 5, "limit": 2},
        {"revision": -3},
        {"revision": 11},
        {"revision": 12},
        {"min_mod_revision": 6},
        {"max_mod_revision": 6},
        {"min_create_revision": 4, "max_create_revision": 9},
        {"min_mod_revision": 3, "limit": 2},
        {"max_create_revision": 3, "count_only": True},
        {"sort_order": RR.DESCEND},
        {"sort_order": RR.ASCEND},
        {"sort_order": RR.DESCEND, "limit": 3},
        {"sort_target": RR.VALUE},
        {"sort_target": RR.VERSION, "sort_order": RR.DESCEND},
        {"sort_target": RR.CREATE, "sort_order": RR.DESCEND, "limit": 2},
        {"sort_target": RR.MOD},
        {"sort_target": RR.MOD, "sort_order": RR.DESCEND},
        {"sort_target": RR.VALUE, "sort_order": RR.DESCEND, "keys_only": True},
    ]:
        for key, end in [
            (b"k", b"l"),
            (b"k2", b""),
            (b"k2", b"\0"),
            (b"\0", b"\0"),
            (b"z", b"a"),
            (b"k9", b""),
        ]:
            c("Range", RR(key=key, range_end=end, **extra))  # type: ignore[arg-type]
    c("Range", RR(key=b""))
    c("Range", RR(key=b"", range_end=b"\0"))
    pair.hash()


def test_put_and_delete_options(pair: Pair) -> None:
    c = pair.check
    c("Put", pb.PutRequest(key=b"a", value=b"1", prev_kv=True))
    c("Put", pb.PutRequest(key=b"a", value=b"2", prev_kv=True, lease=LEASES[0]))
    c("Put", pb.PutRequest(key=b"a", ignore_value=True, prev_kv=True))
    c("Put", pb.PutRequest(key=b"a", value=b"3", ignore_lease=True, prev_kv=True))
    c("Put", pb.PutRequest(key=b"a", ignore_value=True, ignore_lease=True))
    c("Range", RR(key=b"a"))
    c("Put", pb.PutRequest(key=b"b", ignore_value=True))
    c("Put", pb.PutRequest(key=b"b", ignore_lease=True))
    c("Put", pb.PutRequest(key=b"b", value=b"x", ignore_value=True))
    c("Put", pb.PutRequest(key=b"b", lease=5, ignore_lease=True))
    c("Put", pb.PutRequest(key=b"b", lease=999))
    c("Put", pb.PutRequest(key=b"a", lease=999, ignore_value=True))
    c("Put", pb.PutRequest(key=b"", value=b"x"))
    c("Put", pb.PutRequest(key=b"b", value=b""))
    c("Range", RR(key=b"b"))
    for key in (b"c", b"d", b"e", b"f"):
        c("Put", pb.PutRequest(key=key, value=key))
    c("DeleteRange", pb.DeleteRangeRequest(key=b"zz", prev_kv=True))
    c("DeleteRange", pb.DeleteRangeRequest(key=b"c", prev_kv=True))
    c("DeleteRange", pb.DeleteRangeRequest(key=b"c", range_end=b"e"))
    c("DeleteRange", pb.DeleteRangeRequest(key=b"a", range_end=b"\0", prev_kv=True))
    c("DeleteRange", pb.DeleteRangeRequest(key=b""))
    c("Range", RR(key=b"\0", range_end=b"\0"))
    c("Put", pb.PutRequest(key=b"a", value=b"reborn", prev_kv=True))
    c("Range", RR(key=b"a", revision=3))
    pair.hash()


COMPARED = [(b"a", b""), (b"b", b""), (b"missing", b""), (b"a", b"c"), (b"\0", b"\0"), (b"x", b"z")]


def test_txn_compares(pair: Pair) -> None:
    c = pair.check
    c("Put", pb.PutRequest(key=b"a", value=b"m", lease=LEASES[1]))
    c("Put", pb.PutRequest(key=b"b", value=b"n"))
    c("Put", pb.PutRequest(key=b"a", value=b"m2", lease=LEASES[1]))
    targets: dict[Any, list[tuple[str, object]]] = {
        Cmp.VERSION: [("version", v) for v in (0, 1, 2, 3)],
        Cmp.CREATE: [("create_revision", v) for v in (0, 2, 3, 9)],
        Cmp.MOD: [("mod_revision", v) for v in (0, 3, 4, 9)],
        Cmp.VALUE: [("value", v) for v in (b"", b"m", b"m2", b"n", b"zz")],
        Cmp.LEASE: [("lease", v) for v in (0, LEASES[1], LEASES[0])],
    }
    results = (Cmp.EQUAL, Cmp.NOT_EQUAL, Cmp.GREATER, Cmp.LESS)
    for target, operands in targets.items():
        for field, operand in operands:
            for result in results:
                for key, end in COMPARED:
                    operand_kw: Any = {field: operand}
                    compare = Cmp(result=result, target=target, key=key, range_end=end, **operand_kw)
                    c("Txn", pb.TxnRequest(compare=[compare], success=[rng(b"a")], failure=[rng(b"b")]))
    mismatched = Cmp(result=Cmp.EQUAL, target=Cmp.VERSION, key=b"a", mod_revision=4)
    c("Txn", pb.TxnRequest(compare=[mismatched]))
    c("Txn", pb.TxnRequest(compare=[Cmp(result=Cmp.EQUAL, target=Cmp.VALUE, key=b"a", version=1)]))
    c("Txn", pb.TxnRequest())
    pair.hash()


def test_txn_semantics(pair: Pair) -> None:
    c = pair.check
    c("Put", pb.PutRequest(key=b"a", value=b"1"))
    is_one = Cmp(result=Cmp.EQUAL, target=Cmp.VALUE, key=b"a", value=b"1")
    c(
        "Txn",
        pb.TxnRequest(
            compare=[is_one], success=[put(b"a", b"2", prev_kv=True), rng(b"a")], failure=[rng(b"a")]
        ),
    )
    c("Txn", pb.TxnRequest(compare=[is_one], success=[put(b"a", b"3")], failure=[rng(b"a"), dele(b"zz")]))
    nested = pb.TxnRequest(
        compare=[Cmp(result=Cmp.EQUAL, target=Cmp.VALUE, key=b"a", value=b"2")],
        success=[put(b"n1"), rng(b"n0", range_end=b"n9")],
        failure=[put(b"n2")],
    )
    c("Txn", pb.TxnRequest(success=[put(b"n0"), sub(nested), rng(b"n", range_end=b"o"), dele(b"q")]))
    c("Txn", pb.TxnRequest(success=[dele(b"n", range_end=b"o", prev_kv=True), rng(b"n", range_end=b"o")]))
    c("Txn", pb.TxnRequest(success=[dele(b"a"), put(b"b"), rng(b"a", revision=2)]))
    c("Txn", pb.TxnRequest(success=[rng(b"a", revision=100)]))
    c("Txn", pb.TxnRequest(success=[rng(b"a", revision=-1)]))
    c("Txn", pb.TxnRequest(success=[put(b"x", lease=12345)]))
    c("Txn", pb.TxnRequest(success=[put(b"x", ignore_value=True)]))
    c(
        "Txn",
        pb.TxnRequest(success=[put(b"b", ignore_value=True, lease=LEASES[0]), put(b"y", lease=LEASES[1])]),
    )
    c("Txn", pb.TxnRequest(success=[rng(b"a", revision=100), put(b"x", lease=12345)]))
    c("Txn", pb.TxnRequest(failure=[put(b"x", lease=12345)]))
    c("Txn", pb.TxnRequest(success=[rng(b"a", sort_order=RR.DESCEND, sort_target=RR.MOD)]))
    c("Compact", pb.CompactionRequest(revision=4, physical=True))
    c("Txn", pb.TxnRequest(success=[rng(b"a", revision=3)]))
    c("Txn", pb.TxnRequest(success=[rng(b"a", revision=4)]))
    c("Txn", pb.TxnRequest(success=[rng(b"a", revision=-1)]))
    c("Range", RR(key=b"a", revision=-1))
    pair.hash()


def test_txn_validation(pair: Pair) -> None:
    c = pair.check
    c("Put", pb.PutRequest(key=b"a", value=b"1"))
    cases = [
        pb.TxnRequest(success=[put(b"a"), put(b"a")]),
        pb.TxnRequest(success=[put(b"a")], failure=[put(b"a")]),
        pb.TxnRequest(success=[put(b"b"), dele(b"a", range_end=b"c")]),
        pb.TxnRequest(success=[put(b"b"), dele(b"b")]),
        pb.TxnRequest(success=[put(b"b"), dele(b"a", range_end=b"\0")]),
        pb.TxnRequest(success=[put(b"b"), dele(b"c", range_end=b"a")]),
        pb.TxnRequest(success=[put(b"b"), dele(b"a", range_end=b"b")]),
        pb.TxnRequest(success=[dele(b"a", range_end=b"c"), dele(b"b")]),
        pb.TxnRequest(success=[put(b"b"), sub(pb.TxnRequest(success=[put(b"b")]))]),
        pb.TxnRequest(success=[sub(pb.TxnRequest(success=[put(b"b")], failure=[put(b"b")]))]),
        pb.TxnRequest(
            success=[sub(pb.TxnRequest(success=[put(b"b")])), sub(pb.TxnRequest(failure=[put(b"b")]))]
        ),
        pb.TxnRequest(success=[dele(b"a", range_end=b"c"), sub(pb.TxnRequest(failure=[put(b"b")]))]),
        pb.TxnRequest(success=[sub(pb.TxnRequest(success=[dele(b"b")])), put(b"b")]),
        pb.TxnRequest(
            success=[sub(pb.TxnRequest(success=[dele(b"b")])), sub(pb.TxnRequest(success=[put(b"b")]))]
        ),
        pb.TxnRequest(success=[pb.RequestOp()]),
        pb.TxnRequest(success=[put(b"")]),
        pb.TxnRequest(success=[rng(b"")]),
        pb.TxnRequest(success=[dele(b"")]),
        pb.TxnRequest(compare=[Cmp(key=b"")]),
        pb.TxnRequest(success=[put(b"a", b"x", ignore_value=True)]),
        pb.TxnRequest(success=[put(b"a", lease=5, ignore_lease=True)]),
        pb.TxnRequest(success=[put(b"k%d" % i) for i in range(128)]),
        pb.TxnRequest(success=[put(b"k%d" % i) for i in range(129)]),
        pb.TxnRequest(compare=[Cmp(key=b"a")] * 129),
        pb.TxnRequest(success=[sub(pb.TxnRequest(success=[put(b"q%d" % i) for i in range(120)]))] * 8),
        pb.TxnRequest(success=[sub(pb.TxnRequest(success=[rng(b"q%d" % i) for i in range(121)]))] * 8),
    ]
    for req in cases:
        c("Txn", req)
    pair.hash()


def test_compaction_and_hash(pair: Pair) -> None:
    c = pair.check
    pair.hash()
    c("Compact", pb.CompactionRequest(revision=0))
    c("Compact", pb.CompactionRequest(revision=0))
    c("Compact", pb.CompactionRequest(revision=-2))
    c("Compact", pb.CompactionRequest(revision=5))
    for i in range(12):
        c("Put", pb.PutRequest(key=b"k%d" % (i % 4), value=b"v%d" % i))
        if i % 5 == 4:
            c("DeleteRange", pb.DeleteRangeRequest(key=b"k", range_end=b"k2"))
    for rev in (0, 3, 8, 14, 17, 18):
        pair.hash(rev)
    c("Compact", pb.CompactionRequest(revision=8, physical=True))
    for rev in (0, 7, 8, 9, 14):
        pair.hash(rev)
    c("Range", RR(key=b"k", range_end=b"l", revision=7))
    c("Range", RR(key=b"k", range_end=b"l", revision=8))
    c("Compact", pb.CompactionRequest(revision=8))
    c("Compact", pb.CompactionRequest(revision=17, physical=True))
    pair.hash()
    c("Range", RR(key=b"\0", range_end=b"\0", revision=17))


def test_random_ops(pair: Pair) -> None:
    rand = random.Random(20240501)
    keys = [b"a", b"b", b"b1", b"c", b"d"]

    def key() -> bytes:
        return rand.choice(keys)

    def end() -> bytes:
        return rand.choice([b"", b"", b"\0", b"c", b"e"])

    def compare() -> pb.Compare:
        target = rand.choice([Cmp.VERSION, Cmp.CREATE, Cmp.MOD, Cmp.VALUE, Cmp.LEASE])
        field = {Cmp.VERSION: "version", Cmp.CREATE: "create_revision", Cmp.MOD: "mod_revision"}.get(target)
        operand: dict[str, object] = {field: rand.randint(0, 12)} if field else {}
        if target == Cmp.VALUE:
            operand = {"value": rand.choice([b"", b"1", b"2"])}
        if target == Cmp.LEASE:
            operand = {"lease": rand.choice([0, *LEASES])}
        result = rand.choice([Cmp.EQUAL, Cmp.NOT_EQUAL, Cmp.GREATER, Cmp.LESS])
        return Cmp(result=result, target=target, key=key(), range_end=end(), **operand)  # type: ignore[arg-type]

    def write_op() -> pb.RequestOp:
        if rand.random() < 0.7:
            return put(
                key(), rand.choice([b"1", b"2", b"3"]), lease=rand.choice([0, 0, *LEASES]), prev_kv=True
            )
        return dele(key(), range_end=end(), prev_kv=rand.random() < 0.5)

    for _ in range(250):
        roll = rand.random()
        if roll < 0.35:
            op = write_op()
            if op.HasField("request_put"):
                pair.check("Put", op.request_put)
            else:
                pair.check("DeleteRange", op.request_delete_range)
        elif roll < 0.65:
            branch_ops = [write_op() for _ in range(rand.randint(0, 3))] + [rng(key(), range_end=end())]
            txn = pb.TxnRequest(compare=[compare() for _ in range(rand.randint(0, 2))], success=branch_ops)
            txn.failure.extend([rng(key(), range_end=b"\0", revision=rand.randint(-1, 5))])
            pair.check("Txn", txn)
        elif roll < 0.95:
            req = RR(key=key(), range_end=end(), limit=rand.randint(0, 3), revision=rand.randint(-1, 60))
            req.sort_order = rand.choice([RR.NONE, RR.NONE, RR.ASCEND, RR.DESCEND])
            req.sort_target = rand.choice([RR.KEY, RR.KEY, RR.MOD, RR.CREATE, RR.VALUE, RR.VERSION])
            req.count_only = rand.random() < 0.1
            req.keys_only = rand.random() < 0.1
            pair.check("Range", req)
        else:
            pair.check("Compact", pb.CompactionRequest(revision=rand.randint(0, 40), physical=True))
    pair.hash()


def test_sort_ties_follow_go(pair: Pair) -> None:
    """Many equal sort keys: etcd's unstable Go sort decides their order, at every size class."""
    rand = random.Random(7)
    keys = [b"s%03d" % i for i in range(180)]
    rand.shuffle(keys)
    for chunk in range(0, len(keys), 60):
        ops = [put(k, rand.choice([b"x", b"y", b"z", b"xx"])) for k in keys[chunk : chunk + 60]]
        pair.check("Txn", pb.TxnRequest(success=ops))
    for k in keys[:70]:
        pair.check("Put", pb.PutRequest(key=k, value=rand.choice([b"x", b"y"])))
    for end in (b"s007", b"s013", b"s030", b"s045", b"s100", b"t"):
        for target in (RR.VALUE, RR.VERSION, RR.CREATE, RR.MOD):
            for order in (RR.ASCEND, RR.DESCEND):
                pair.check(
                    "Range", RR(key=b"s", range_end=end, sort_target=target, sort_order=order, keys_only=True)
                )
