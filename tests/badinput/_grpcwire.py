"""Raw gRPC calls: any bytes to any method path, answers made comparable between servers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import grpc
from google.protobuf import message_factory
from google.protobuf.message import DecodeError, Message

from etcdpy.api.pb.etcdserverpb import rpc_pb2
from etcdpy.api.pb.v3electionpb import v3election_pb2
from etcdpy.api.pb.v3lockpb import v3lock_pb2

_MODULES = (rpc_pb2, v3lock_pb2, v3election_pb2)

# An outcome: ("ok", response with member-specific fields cleared) or ("error", code name, details).
Outcome = tuple[Any, ...]


def response_type(method: str) -> type[Message] | None:
    """The response message of "/package.Service/Method", if etcd declares that method."""
    service_name, _, method_name = method.lstrip("/").partition("/")
    for module in _MODULES:
        for service in module.DESCRIPTOR.services_by_name.values():
            if service.full_name == service_name and method_name in service.methods_by_name:
                return message_factory.GetMessageClass(service.methods_by_name[method_name].output_type)
    return None


def normalize(msg: Message) -> Message:
    """A copy without the IDs that differ between two members (cluster, member)."""
    out = type(msg)()
    out.CopyFrom(msg)
    header = getattr(out, "header", None)
    if header is not None and hasattr(header, "member_id"):
        header.cluster_id = 0
        header.member_id = 0
    return out


def call(
    channel: grpc.Channel,
    method: str,
    payload: bytes,
    timeout: float = 10.0,
    metadata: tuple[tuple[str, str], ...] = (),
) -> Outcome:
    """Send `payload` as the request message of `method`, unparsed; the answer as an Outcome."""
    stub = channel.unary_unary(method, request_serializer=None, response_deserializer=None)
    try:
        data = stub(payload, timeout=timeout, metadata=metadata)
    except grpc.RpcError as e:
        return ("error", e.code().name, e.details())
    cls = response_type(method)
    if cls is None:
        return ("ok", data)
    try:
        return ("ok", normalize(cls.FromString(data)))
    except DecodeError:
        return ("ok-undecodable", data)


def watch(channel: grpc.Channel, requests: list[bytes], replies: int, timeout: float = 5.0) -> list[Any]:
    """Send `requests` (raw) on one Watch stream, kept open; the first `replies` responses,
    normalized, or what came before the stream failed followed by its ("error", code, details)."""
    done = threading.Event()

    def send() -> Iterator[bytes]:
        yield from requests
        done.wait(timeout)

    stream = channel.stream_stream(
        "/etcdserverpb.Watch/Watch", request_serializer=None, response_deserializer=None
    )
    calls = stream(send(), timeout=timeout)
    got: list[Any] = []
    try:
        for data in calls:
            got.append(normalize(rpc_pb2.WatchResponse.FromString(data)))
            if len(got) == replies:
                break
    except grpc.RpcError as e:
        got.append(("error", e.code().name, e.details()))
    finally:
        done.set()
        calls.cancel()  # type: ignore[no-untyped-call]
    return got
