"""Fuzzing every gRPC method of one etcd-py member: well-typed random requests, mutations of them
(truncated, bit-flipped, spliced) and random bytes, on unary and streaming calls alike.

Every answer must come within the client's timeout as a gRPC status a client can act on, or a
response that decodes; a handler's unexpected exception (grpcio's UNKNOWN "Unexpected ...") is a
bug. Methods that would legitimately take the member out of its state (compaction, membership,
alarms, leadership, downgrade, enabling auth) only get bytes that cannot decode, which must be
refused without effect.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import grpc
import pytest
from google.protobuf.descriptor import MethodDescriptor
from google.protobuf.message import DecodeError, Message
from hypothesis import given, settings
from hypothesis import strategies as st

from etcdpy.api.pb.etcdserverpb import rpc_pb2
from etcdpy.api.pb.v3electionpb import v3election_pb2
from etcdpy.api.pb.v3lockpb import v3lock_pb2
from tests.fuzz._protobuf import edits, messages, mutate
from tests.fuzz._settings import fuzz_settings
from tests.fuzz._target import Target, target

METHODS: dict[str, MethodDescriptor] = {
    f"/{service.full_name}/{method.name}": method
    for module in (rpc_pb2, v3lock_pb2, v3election_pb2)
    for service in module.DESCRIPTOR.services_by_name.values()
    for method in service.methods
}
# Methods whose success may legitimately stop the member serving, or drop the history checked.
STATEFUL = frozenset(
    {
        "/etcdserverpb.KV/Compact",
        "/etcdserverpb.Maintenance/Alarm",
        "/etcdserverpb.Maintenance/MoveLeader",
        "/etcdserverpb.Maintenance/Downgrade",
        "/etcdserverpb.Cluster/MemberAdd",
        "/etcdserverpb.Cluster/MemberRemove",
        "/etcdserverpb.Cluster/MemberUpdate",
        "/etcdserverpb.Cluster/MemberPromote",
        "/etcdserverpb.Auth/AuthEnable",
    }
)
FREE = sorted(set(METHODS) - STATEFUL)
UNARY = [m for m in FREE if not (METHODS[m].client_streaming or METHODS[m].server_streaming)]
STREAMING = [m for m in FREE if METHODS[m].client_streaming or METHODS[m].server_streaming]
# Methods that may wait for others by design (a held lock, an election, events): their deadline is no hang.
WAITING = frozenset(
    {
        "/v3lockpb.Lock/Lock",
        "/v3electionpb.Election/Campaign",
        "/v3electionpb.Election/Observe",
        "/etcdserverpb.Watch/Watch",
        "/etcdserverpb.Lease/LeaseKeepAlive",
    }
)
UNARY_TIMEOUT = 5.0
WAIT_TIMEOUT = 1.0
STREAM_TIMEOUT = 0.5
# Codes that say the member is gone or stuck.
BROKEN = frozenset(
    {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED, grpc.StatusCode.CANCELLED}
)

FUZZ = fuzz_settings(400, 15)
STREAM_FUZZ = settings(FUZZ, max_examples=60)


@pytest.fixture(scope="module")
def member(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    with target(tmp_path_factory.mktemp("fuzz-grpc")) as t:
        yield t


@pytest.fixture(autouse=True)
def _intact_after_each_test(member: Target) -> Iterator[None]:
    yield
    member.assert_intact()


def request_bytes(method: str) -> st.SearchStrategy[bytes]:
    """Encoded requests of `method`: well-typed, mutated, or any bytes at all."""
    typed = messages(METHODS[method].input_type).map(lambda m: m.SerializeToString())
    mutated = st.tuples(typed, edits).map(lambda t: mutate(*t))
    return st.one_of(typed, mutated, st.binary(max_size=200))


def check_status(method: str, error: grpc.RpcError, waited: bool) -> None:
    code, details = error.code(), error.details() or ""
    if code == grpc.StatusCode.DEADLINE_EXCEEDED and waited:
        return
    assert code not in BROKEN, f"{method}: {code.name} {details}"
    # grpcio's report of a handler's exception; DecodeError is the known undecodable-request case.
    crashed = code == grpc.StatusCode.UNKNOWN and "Unexpected" in details and "DecodeError" not in details
    assert not crashed, f"{method}: {details}"


def decode(method: str, data: bytes) -> Message:
    try:
        return METHODS_OUTPUT[method].FromString(data)
    except DecodeError as e:
        raise AssertionError(f"{method}: a response that does not decode: {data!r}") from e


def _output(method: MethodDescriptor) -> type[Message]:
    from google.protobuf import message_factory

    return message_factory.GetMessageClass(method.output_type)


METHODS_OUTPUT = {name: _output(m) for name, m in METHODS.items()}


def call_unary(member: Target, method: str, payload: bytes) -> None:
    stub = member.channel.unary_unary(method, request_serializer=None, response_deserializer=None)
    waited = method in WAITING
    try:
        data = stub(payload, timeout=WAIT_TIMEOUT if waited else UNARY_TIMEOUT)
    except grpc.RpcError as e:
        check_status(method, e, waited)
        return
    decode(method, data)


def call_stream(member: Target, method: str, payloads: list[bytes]) -> None:
    """Send `payloads` (one for a server-streaming method), read answers for STREAM_TIMEOUT, cancel."""
    desc = METHODS[method]
    if desc.client_streaming:
        stop = threading.Event()

        def requests() -> Iterator[bytes]:
            yield from payloads
            stop.wait(STREAM_TIMEOUT * 4)

        bidi = member.channel.stream_stream(method, request_serializer=None, response_deserializer=None)
        responses = bidi(requests(), timeout=STREAM_TIMEOUT)
    else:
        stop = threading.Event()
        server = member.channel.unary_stream(method, request_serializer=None, response_deserializer=None)
        responses = server(payloads[0], timeout=STREAM_TIMEOUT)
    try:
        for data in responses:
            decode(method, data)
    except grpc.RpcError as e:
        check_status(method, e, waited=True)
    finally:
        stop.set()
        responses.cancel()  # type: ignore[no-untyped-call]


@FUZZ
@given(data=st.data())
def test_unary_methods(member: Target, data: st.DataObject) -> None:
    method = data.draw(st.sampled_from(UNARY), label="method")
    call_unary(member, method, data.draw(request_bytes(method), label="payload"))
    member.assert_alive()


@STREAM_FUZZ
@given(data=st.data())
def test_streaming_methods(member: Target, data: st.DataObject) -> None:
    method = data.draw(st.sampled_from(STREAMING), label="method")
    count = 1 if not METHODS[method].client_streaming else data.draw(st.integers(1, 4), label="count")
    payloads = [data.draw(request_bytes(method), label="payload") for _ in range(count)]
    call_stream(member, method, payloads)
    member.assert_alive()


# A zero tag (field number 0) is invalid in every protobuf message: the whole request cannot decode.
undecodable = st.binary(max_size=64).map(lambda b: b"\x00" + b)


@settings(FUZZ, max_examples=100)
@given(method=st.sampled_from(sorted(STATEFUL)), payload=undecodable)
def test_stateful_methods_refuse_undecodable_requests(member: Target, method: str, payload: bytes) -> None:
    stub = member.channel.unary_unary(method, request_serializer=None, response_deserializer=None)
    with pytest.raises(grpc.RpcError) as refused:
        stub(payload, timeout=UNARY_TIMEOUT)
    check_status(method, refused.value, waited=False)
    member.assert_alive()


@settings(FUZZ, max_examples=200)
@given(
    method=st.sampled_from(sorted(METHODS))
    | st.from_regex(r"/[a-zA-Z0-9._]{0,24}/[a-zA-Z]{0,16}", fullmatch=True),
    payload=undecodable | st.binary(max_size=64),
)
def test_unknown_and_mistyped_paths(member: Target, method: str, payload: bytes) -> None:
    """Any path with bytes no method could decode (or random): answered, never crashing."""
    desc = METHODS.get(method)
    if desc is None:
        call_unary(member, method, payload)
    elif method in STATEFUL:
        call_unary(member, method, b"\x00" + payload)
    elif desc.client_streaming or desc.server_streaming:
        call_stream(member, method, [payload])
    else:
        call_unary(member, method, payload)
    member.assert_alive()
