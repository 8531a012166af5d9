"""python-etcd3 0.12 over TLS: put/get/delete, a watch and a lease.

usage: python etcd3_tls.py HOST PORT CA [CERT KEY]; prints "ok" and exits 0 when all pass.
"""

import os
import sys
import uuid

# etcd3 0.12's generated code needs the pure-Python protobuf runtime with protobuf >= 4.
os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")

import etcd3  # type: ignore[import-not-found]

host, port, ca, *pair = sys.argv[1:]
cert, key = pair or (None, None)
c = etcd3.client(host=host, port=int(port), ca_cert=ca, cert_cert=cert, cert_key=key, timeout=10)
prefix = f"/tls/etcd3/{uuid.uuid4().hex}/"

rev = c.put(prefix + "a", "1").header.revision
assert c.get(prefix + "a")[0] == b"1"
events, cancel = c.watch(prefix + "a", start_revision=rev)
c.put(prefix + "a", "2")
assert [next(events).value for _ in range(2)] == [b"1", b"2"]
cancel()
assert c.delete(prefix + "a") is True
assert c.get(prefix + "a") == (None, None)

lease = c.lease(30)
c.put(prefix + "leased", "v", lease=lease)
assert 0 < lease.remaining_ttl <= 30
lease.revoke()
assert c.get(prefix + "leased") == (None, None)
c.close()
print("ok")
