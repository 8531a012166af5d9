"""Micro-benchmark of the storage hot paths (not collected by pytest).

Run: PYTHONPATH=src python -m tests.mvcc.bench_kvstore [N]
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.mvcc.kvstore import KVStore
from etcdpy.server import txn as apply
from etcdpy.storage.backend import Backend


def timed(label: str, n: int, body: Callable[[], object]) -> None:
    start = time.perf_counter()
    body()
    elapsed = time.perf_counter() - start
    print(f"{label:<52} {elapsed / n * 1e6:8.2f} us/op")


def main(n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        backend = Backend(str(Path(tmp) / "db"))
        kv = KVStore(backend)
        keys = [b"/registry/pods/default/pod-%08d" % i for i in range(n)]
        value = b"v" * 256
        index = iter(range(1, 10 * n))

        def put_each() -> None:
            for key in keys:
                with kv.write() as tw:
                    tw.put(key, value)
                    tw.end(next(index))

        def put_requests() -> None:
            for key in keys:
                with kv.write() as tw:
                    apply.put(tw, pb.PutRequest(key=key, value=value), lease_exists=bool)
                    tw.end(next(index))

        def put_batch() -> None:
            with kv.write() as tw:
                for key in keys:
                    tw.put(key, value)
                tw.end(next(index))

        def get_each() -> None:
            for key in keys:
                kv.range(key)

        def get_requests() -> None:
            for key in keys:
                apply.range(kv, pb.RangeRequest(key=key))

        def cas_txns() -> None:
            for key in keys:
                compare = pb.Compare(key=key, target=pb.Compare.VERSION, result=pb.Compare.GREATER, version=0)
                success = pb.RequestOp(request_put=pb.PutRequest(key=key, value=value))
                req = pb.TxnRequest(compare=[compare], success=[success])
                apply.txn(kv, req, lease_exists=bool, consistent_index=next(index))

        timed("put, new key (one revision + commit each)", n, put_each)
        timed("put, existing key (one revision + commit each)", n, put_each)
        timed("server.txn.put request (one revision + commit each)", n, put_requests)
        timed("put, many in one revision (incl. its commit)", n, put_batch)
        timed("range, single key", n, get_each)
        timed("server.txn.range request, single key", n, get_requests)
        timed("server.txn.txn compare+put (one revision each)", n, cas_txns)
        timed(f"range over all {n} keys", 1, lambda: kv.range(b"/registry/", b"/registry0"))
        timed(f"count over all {n} keys", 1, lambda: kv.range(b"/registry/", b"/registry0", count_only=True))
        timed("hash_kv", 1, kv.hash_kv)
        timed("compact at current revision", 1, lambda: kv.compact(kv.rev))
        timed("defrag", 1, backend.defrag)
        backend.close()
        start = time.perf_counter()
        reopened = Backend(str(Path(tmp) / "db"))
        KVStore(reopened)
        print(f"{'reopen (restore index)':<52} {(time.perf_counter() - start) * 1e3:8.1f} ms")
        reopened.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20_000)
