"""etcd-py's own RPCs between its processes, outside etcd's API.

The client port runs in a child process (see `etcdpy.api.gateway.process`); the
few things it needs from the member beyond etcd's services travel as raw-bytes
gRPC methods on the member's private socket, named here for both sides.
"""

from __future__ import annotations

from typing import Final

# Request: empty. Response: the Prometheus text exposition of the member's metrics.
METRICS_METHOD: Final = "/etcdpy.internal.Metrics/Exposition"
