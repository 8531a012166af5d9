"""etcd-py: etcd, the distributed reliable key-value store, in Python."""
