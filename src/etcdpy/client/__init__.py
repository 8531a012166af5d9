"""etcd v3 client: `Client` (blocking) and `AsyncClient` (asyncio), on grpcio.

Calls return the etcd protobuf responses (`etcdpy.api.pb.etcdserverpb.rpc_pb2`) and
raise `etcdpy.api.errors.EtcdError` (membership changes also `URLError`, for a peer URL
etcd's client would not send); transactions are built with `etcdpy.client.txn`.
"""

from etcdpy.api.errors import EtcdError
from etcdpy.client import txn
from etcdpy.client._requests import SortOrder, SortTarget, prefix_end
from etcdpy.client._status import TransportError
from etcdpy.client._urls import URLError
from etcdpy.client.aio import AsyncClient
from etcdpy.client.sync import Client

__all__ = [
    "AsyncClient",
    "Client",
    "EtcdError",
    "SortOrder",
    "SortTarget",
    "TransportError",
    "URLError",
    "prefix_end",
    "txn",
]
