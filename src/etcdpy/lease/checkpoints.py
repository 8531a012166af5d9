"""The leader's lease checkpoints (--experimental-enable-lease-checkpoint): every interval, the
remaining TTL of each lease goes through the log, so that a new leader continues a lease's time
instead of granting it a full TTL again."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from etcdpy.api import errors
from etcdpy.api.pb.etcdserverpb import rpc_pb2
from etcdpy.lease.lessor import Lessor
from etcdpy.pkg import zaplog

log = zaplog.get("lessor")

# Checkpoints per proposal, as etcd batches them.
MAX_BATCH = 1000

Propose = Callable[[rpc_pb2.LeaseCheckpointRequest], Awaitable[object]]


async def run_checkpoints(lessor: Lessor, propose: Propose, interval: float) -> None:
    """Until cancelled: every `interval` seconds, while this lessor is the primary, propose the
    remaining TTLs it has to checkpoint."""
    while True:
        await asyncio.sleep(interval)
        if not lessor.primary:
            continue
        due = lessor.due_checkpoints()
        for start in range(0, len(due), MAX_BATCH):
            try:
                await propose(rpc_pb2.LeaseCheckpointRequest(checkpoints=due[start : start + MAX_BATCH]))
            except errors.EtcdError as e:
                log.warning("failed to checkpoint leases", error=e.message)
                break
