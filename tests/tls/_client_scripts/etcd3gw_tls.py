"""etcd3gw 2.7 (the JSON gateway) over https: put/get/delete, a watch and a lease.

usage: python etcd3gw_tls.py HOST PORT CA [CERT KEY]; prints "ok" and exits 0 when all pass.
"""

import sys
import uuid

import etcd3gw  # type: ignore[import-not-found]

host, port, ca, *pair = sys.argv[1:]
cert, key = pair or (None, None)
c = etcd3gw.client(host=host, port=int(port), protocol="https", ca_cert=ca, cert_cert=cert, cert_key=key,
                   timeout=10)  # fmt: skip
prefix = f"/tls/etcd3gw/{uuid.uuid4().hex}/"

assert c.put(prefix + "a", "1") is True
assert c.get(prefix + "a") == [b"1"]
rev = int(c.get(prefix + "a", metadata=True)[0][1]["mod_revision"])
events, cancel = c.watch(prefix + "a", start_revision=rev)
c.put(prefix + "a", "2")
assert [next(events)["kv"]["value"] for _ in range(2)] == [b"1", b"2"]
cancel()
assert c.delete(prefix + "a") is True
assert c.get(prefix + "a") == []

lease = c.lease(30)
c.put(prefix + "leased", "v", lease=lease)
assert 0 < lease.ttl() <= 30
assert lease.revoke() is True
assert c.get(prefix + "leased") == []
print("ok")
