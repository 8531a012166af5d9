"""etcd v3 client: `Client` (blocking) and `AsyncClient` (asyncio), on grpcio.

Calls return the etcd protobuf responses (`etcdpy.api.pb.etcdserverpb.rpc_pb2`) and
raise `etcdpy.api.errors.EtcdError`; transactions are built with `etcdpy.client.txn`.
"""

from etcdpy.api.errors import EtcdError
from etcdpy.client import txn
from etcdpy.client._requests import SortOrder, SortTarget, prefix_end
from etcdpy.client._status import TransportError
from etcdpy.client.aio import AsyncClient
from etcdpy.client.sync import Client

__all__ = [
    "AsyncClient",
    "Client",
    "EtcdError",
    "SortOrder",
    "SortTarget",
    "TransportError",
    "prefix_end",
    "txn",
]
