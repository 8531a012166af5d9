"""etcdctl's commands, one module per group."""
