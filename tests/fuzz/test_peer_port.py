"""Fuzzing the peer port of one etcd-py member: bytes that are not a handshake, HTTP requests, and,
after a valid handshake as a learner the member knows, frames that are truncated, oversize,
undecodable, addressed to someone else, or Raft messages of any type from a stale term.

The peer protocol trusts an accepted peer's current-term messages (as etcd's does), so no fuzzer
sends those: a stale term makes Raft drop every message type, which is what is checked here
(nothing changes) along with the transport's parsing. Every connection must be answered or
closed within the handshake timeout after the client's EOF.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import cast

import pytest
from google.protobuf.descriptor import Descriptor
from hypothesis import given, settings
from hypothesis import strategies as st

from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.api.pb.etcdserverpb import rpc_pb2_grpc
from etcdpy.api.pb.raftpb import raft_pb2
from etcdpy.server.transport.framing import HELLO_SIZE, MAGIC, VERDICT_SIZE, Hello, Kind, Status, Verdict
from tests.badinput._http import exchange
from tests.fuzz._protobuf import edits, messages, mutate
from tests.fuzz._settings import fuzz_settings
from tests.fuzz._target import Target, target
from tests.servers import free_port

MESSAGE = cast(Descriptor, raft_pb2.Message.DESCRIPTOR)
# The member's handshake timeout (5 s) and some slack: a connection still open after it is held.
TIMEOUT = 8.0
FUZZ = fuzz_settings(120, 30)


@dataclass(frozen=True)
class Peer:
    """The member and the identity of a learner it knows but that never runs (so holds no quorum)."""

    member: Target
    cluster_id: int
    member_id: int
    learner_id: int
    term: int

    @property
    def port(self) -> int:
        return self.member.proc.peer_port

    def hello(self, kind: int = Kind.STREAM) -> bytes:
        return Hello(1, kind, self.cluster_id, self.learner_id, self.member_id).encode()


@pytest.fixture(scope="module")
def peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Peer]:
    with target(tmp_path_factory.mktemp("fuzz-peer")) as member:
        cluster = rpc_pb2_grpc.ClusterStub(member.channel)
        added = cluster.MemberAdd(
            pb.MemberAddRequest(peerURLs=[f"http://127.0.0.1:{free_port()}"], isLearner=True), timeout=10
        )
        status = member.maintenance.Status(pb.StatusRequest(), timeout=10)
        assert status.raftTerm >= 2, "a stale term needs the member past term 1"
        yield Peer(member, added.header.cluster_id, added.header.member_id, added.member.ID, status.raftTerm)


@pytest.fixture(autouse=True)
def _intact_after_each_test(peer: Peer) -> Iterator[None]:
    yield
    peer.member.assert_intact()


def converse(port: int, data: bytes) -> bytes:
    """Send `data`, shut down writing, and read until the member closes; its answer."""
    with socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass  # closed on us mid-send: a refusal
        received = bytearray()
        try:
            while chunk := sock.recv(1 << 16):
                received += chunk
        except ConnectionResetError:
            pass
        except TimeoutError:
            raise AssertionError(
                f"the member held the connection open after the client's EOF: {data[:80]!r}"
            ) from None
    return bytes(received)


def frame(payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + payload


@FUZZ
@given(
    data=st.one_of(
        st.binary(max_size=64).map(lambda b: MAGIC[:1] + b),
        st.binary(max_size=HELLO_SIZE + 8).map(lambda b: MAGIC + b),
        st.tuples(st.integers(0, len(MAGIC)), st.binary(max_size=40)).map(lambda t: MAGIC[: t[0]] + t[1]),
        st.binary(max_size=120),
    )
)
def test_not_a_handshake(peer: Peer, data: bytes) -> None:
    """Broken magic, truncated or random hellos, or anything at all: refused, answered or closed."""
    answer = converse(peer.port, data)
    if data.startswith(MAGIC) and len(data) >= len(MAGIC) + HELLO_SIZE and answer:
        assert len(answer) == VERDICT_SIZE and Verdict.decode(answer).status != Status.OK, answer
    peer.member.assert_alive()


@FUZZ
@given(
    version=st.integers(0, 3),
    kind=st.integers(0, 4),
    cluster=st.sampled_from(["right", "wrong"]),
    sender=st.sampled_from(["learner", "member", "unknown"]),
    receiver=st.sampled_from(["member", "learner", "unknown"]),
    rest=st.binary(max_size=64),
)
def test_hellos(
    peer: Peer, version: int, kind: int, cluster: str, sender: str, receiver: str, rest: bytes
) -> None:
    """Every combination of hello fields gets the right verdict; refused connections are closed."""
    ids = {"learner": peer.learner_id, "member": peer.member_id, "unknown": 0x1234}
    cluster_id = peer.cluster_id if cluster == "right" else peer.cluster_id ^ 1
    hello = Hello(version, kind, cluster_id, ids[sender], ids[receiver])
    answer = converse(peer.port, hello.encode() + rest)
    verdict = Verdict.decode(answer[:VERDICT_SIZE])
    want = (
        Status.VERSION_MISMATCH
        if version != 1
        else Status.CLUSTER_ID_MISMATCH
        if cluster != "right"
        else Status.MEMBER_ID_MISMATCH
        if receiver != "member"
        else Status.UNKNOWN_PEER
        if sender != "learner"
        else Status.BAD_KIND
        if kind not in (Kind.STREAM, Kind.SNAPSHOT)
        else Status.OK
    )
    assert verdict.status == want, (hello, verdict)
    if want != Status.OK:
        assert len(answer) == VERDICT_SIZE, answer
    peer.member.assert_alive()


def stale_messages(peer: Peer) -> st.SearchStrategy[bytes]:
    """Raft messages of any type and content from the learner to the member, at a term below the member's."""

    def address(msg: raft_pb2.Message, term: int) -> bytes:
        setattr(msg, "from", peer.learner_id)
        msg.to = peer.member_id
        msg.term = term
        return msg.SerializeToString()

    return st.builds(address, messages(MESSAGE, depth=3), st.integers(1, peer.term - 1))


def misaddressed(peer: Peer) -> st.SearchStrategy[bytes]:
    def address(msg: raft_pb2.Message, frm: int, to: int) -> bytes:
        setattr(msg, "from", frm)
        msg.to = to
        return msg.SerializeToString()

    ids = st.sampled_from([0, peer.member_id, peer.learner_id, 77])
    pairs = st.tuples(ids, ids).filter(lambda p: p != (peer.learner_id, peer.member_id))
    return st.builds(lambda m, p: address(m, *p), messages(MESSAGE, depth=2), pairs)


def frames(peer: Peer) -> st.SearchStrategy[bytes]:
    undecodable = st.binary(max_size=60).map(lambda b: frame(b"\x00" + b))
    stale = stale_messages(peer).map(frame)
    mutated_stale = st.tuples(stale_messages(peer), edits).map(lambda t: frame(mutate(*t)))
    wrong = misaddressed(peer).map(frame)
    oversize = st.integers(16 << 20, (1 << 32) - 1).map(lambda n: struct.pack(">I", n) + b"\x08\x01")
    truncated = st.tuples(stale, st.integers(1, 64)).map(lambda t: t[0][: max(1, len(t[0]) - t[1])])
    return st.one_of(stale, stale, mutated_stale, undecodable, wrong, oversize, truncated)


@FUZZ
@given(data=st.data())
def test_stream_frames(peer: Peer, data: st.DataObject) -> None:
    """After an accepted hello: a run of frames, ending anywhere. The member reads until a frame breaks
    the protocol (and closes) or until the client's EOF (and closes); it never writes on a stream."""
    run = data.draw(st.lists(frames(peer), min_size=1, max_size=6), label="frames")
    answer = converse(peer.port, peer.hello() + b"".join(run))
    assert Verdict.decode(answer[:VERDICT_SIZE]).status == Status.OK
    assert len(answer) == VERDICT_SIZE, answer
    peer.member.assert_alive()


@settings(FUZZ, max_examples=60)
@given(data=st.data())
def test_snapshot_connections(peer: Peer, data: st.DataObject) -> None:
    """A snapshot connection with a stale MsgSnap or garbage, chunks, and a digest that cannot match:
    refused (SNAPSHOT_FAILED or closed) and nothing installed."""
    first = data.draw(stale_messages(peer).map(frame) | st.binary(max_size=40), label="first")
    chunks = data.draw(st.lists(st.binary(min_size=1, max_size=200).map(frame), max_size=3), label="chunks")
    tail = data.draw(
        st.sampled_from([b"", frame(b"") + b"\x00" * 32, frame(b"") + b"\x01" * 5]), label="tail"
    )
    answer = converse(peer.port, peer.hello(Kind.SNAPSHOT) + first + b"".join(chunks) + tail)
    assert Verdict.decode(answer[:VERDICT_SIZE]).status == Status.OK
    assert answer[VERDICT_SIZE:] in (b"", b"\x01"), answer
    peer.member.assert_alive()


@settings(FUZZ, max_examples=80)
@given(
    head=st.sampled_from(
        [
            b"GET /members HTTP/1.1\r\n",
            b"GET /version HTTP/1.1\r\n",
            b"POST /members HTTP/1.1\r\n",
            b"GET /raft/stream/message/1 HTTP/1.1\r\n",
            b"G",
            b"",
        ]
    ),
    junk=st.binary(max_size=100),
)
def test_http_on_peer_port(peer: Peer, head: bytes, junk: bytes) -> None:
    got = exchange(peer.port, head + junk, half_close=True, idle=TIMEOUT, limit=TIMEOUT + 2)
    assert got.closed, got
    assert all(r.status in (200, 400, 404, 405, 431) for r in got.responses), got
    peer.member.assert_alive()
