"""A member without the client listener: EtcdServer with its gRPC services on the client port.

For lease tests while `etcd`'s client listener (gRPC relay + gateway) is being built.
Takes the `etcd` command's flags; stops cleanly on SIGTERM.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from urllib.parse import urlsplit

import grpc

from etcdpy.api.pb.etcdserverpb import rpc_pb2_grpc
from etcdpy.api.v3rpc.cluster import ClusterService
from etcdpy.api.v3rpc.kv import KVService
from etcdpy.api.v3rpc.lease import LeaseService
from etcdpy.api.v3rpc.maintenance import MaintenanceService
from etcdpy.cli.etcd import parse_args
from etcdpy.pkg import zaplog
from etcdpy.server.config import build_config
from etcdpy.server.server import EtcdServer


async def serve(argv: list[str]) -> None:
    values, _ = parse_args(argv)
    cfg = build_config(values)
    server = EtcdServer(cfg)
    await server.start()
    g = grpc.aio.server()
    rpc_pb2_grpc.add_KVServicer_to_server(KVService(server), g)
    rpc_pb2_grpc.add_LeaseServicer_to_server(LeaseService(server), g)
    rpc_pb2_grpc.add_ClusterServicer_to_server(ClusterService(server), g)
    rpc_pb2_grpc.add_MaintenanceServicer_to_server(MaintenanceService(server), g)
    url = urlsplit(cfg.listen_client_urls[0])
    g.add_insecure_port(f"{url.hostname}:{url.port}")
    await g.start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    await g.stop(grace=1.0)
    await server.stop()


if __name__ == "__main__":
    zaplog.configure(["default"], "info")
    asyncio.run(serve(sys.argv[1:]))
