"""etcd's concurrency recipes (mutex and election) run inside the server, for the Lock and Election services.

They make the same requests, in the same order, as etcd's v3lock and
v3election servers make through their in-process client, so keys, revisions
and response headers match etcd's.
"""
