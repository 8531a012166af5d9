"""etcd-py's etcdctl."""

import os

# gRPC's own diagnostics (e.g. a failed TLS handshake) would interleave with what etcdctl
# prints on stderr, which is part of its interface.
os.environ.setdefault("GRPC_VERBOSITY", "NONE")
