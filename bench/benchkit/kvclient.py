"""The few etcd v3 KV calls the harness itself makes: a readiness probe and workload setup puts."""

from __future__ import annotations

import time
from collections.abc import Callable

import grpc

from etcdpy.api.pb.etcdserverpb import rpc_pb2

_RANGE = "/etcdserverpb.KV/Range"
_PUT = "/etcdserverpb.KV/Put"
PROBE_TIMEOUT_SECS = 1.0
PROBE_INTERVAL_SECS = 0.2


class NotReady(RuntimeError):
    """The server did not answer a linearizable Range in time."""


def put(endpoint: str, key: bytes, value: bytes, timeout: float = 10.0) -> None:
    with grpc.insecure_channel(endpoint) as channel:
        call = channel.unary_unary(
            _PUT,
            request_serializer=rpc_pb2.PutRequest.SerializeToString,
            response_deserializer=rpc_pb2.PutResponse.FromString,
        )
        call(rpc_pb2.PutRequest(key=key, value=value), timeout=timeout)


def wait_ready(endpoint: str, deadline: float, alive: Callable[[], bool]) -> None:
    """Return once a linearizable Range succeeds (so a leader exists); NotReady if `deadline`
    (time.monotonic) passes first or `alive()` turns false."""
    with grpc.insecure_channel(endpoint) as channel:
        call = channel.unary_unary(
            _RANGE,
            request_serializer=rpc_pb2.RangeRequest.SerializeToString,
            response_deserializer=rpc_pb2.RangeResponse.FromString,
        )
        last_error = "no attempt made"
        while time.monotonic() < deadline:
            if not alive():
                raise NotReady("process exited")
            try:
                call(rpc_pb2.RangeRequest(key=b"\0"), timeout=PROBE_TIMEOUT_SECS)
                return
            except grpc.RpcError as e:
                last_error = f"{e.code()}: {e.details()}"
            time.sleep(PROBE_INTERVAL_SECS)
        raise NotReady(f"no successful Range before the deadline (last: {last_error})")
