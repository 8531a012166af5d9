"""Recorded watch streams and etcd's watch guarantees, checked over them.

A `WatchRecorder` keeps one prefix watch (with prev_kv) open on a member from revision 1 and,
when its stream breaks (its member was killed), resumes on another member from the revision after
the last one it saw, as a client library does. Every response is kept. `check_watch` then asserts,
for one recorder, etcd's guarantees (etcd's robustness tests name them the same way):

- ordered: event revisions never go down;
- unique: no revision is delivered twice, not even across a resume;
- atomic: all events of one revision arrive in one response;
- reliable: no revision is skipped between the first and the last one delivered (every write of
  the test is under the watched prefix and changes something, so each revision has events);
- prev_kv: each event's prev_kv is the key's state before it, as the stream itself shows it;
- resumable: across resumes, all of the above hold over the concatenated stream.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import grpc

from etcdpy.api.pb.etcdserverpb import rpc_pb2 as pb
from etcdpy.api.pb.etcdserverpb import rpc_pb2_grpc
from etcdpy.api.pb.mvccpb.kv_pb2 import Event
from etcdpy.client import prefix_end
from tests.servers import EtcdProcess


@dataclass(frozen=True)
class SeenEvent:
    revision: int
    is_put: bool
    key: bytes
    value: bytes
    prev_value: bytes | None  # None: no prev_kv (the key did not exist)


# One WatchResponse's events.
Response = list[SeenEvent]


class WatchRecorder(threading.Thread):
    def __init__(self, members: Sequence[EtcdProcess], first: int, prefix: bytes) -> None:
        super().__init__(daemon=True)
        self._members = list(members)
        self._turn = first
        self._prefix = prefix
        self._done = threading.Event()
        self.responses: list[Response] = []
        self.resumes = 0
        self.canceled: list[str] = []

    @property
    def last_revision(self) -> int:
        return self.responses[-1][-1].revision if self.responses else 0

    def _requests(self, start: int) -> Iterator[pb.WatchRequest]:
        yield pb.WatchRequest(create_request=pb.WatchCreateRequest(
            key=self._prefix, range_end=prefix_end(self._prefix), start_revision=start, prev_kv=True))
        self._done.wait()

    def run(self) -> None:
        while not self._done.is_set():
            member = self._members[self._turn % len(self._members)]
            try:
                with grpc.insecure_channel(member.endpoint) as ch:
                    stream = rpc_pb2_grpc.WatchStub(ch).Watch(self._requests(self.last_revision + 1))
                    for resp in stream:
                        if resp.canceled:
                            self.canceled.append(resp.cancel_reason)
                            return
                        if resp.events:
                            self.responses.append([_seen(ev) for ev in resp.events])
            except grpc.RpcError:
                pass
            if not self._done.is_set():
                self._turn += 1
                self.resumes += 1
                self._done.wait(0.1)  # a dead member refuses at once: do not spin

    def stop(self) -> None:
        self._done.set()
        self.join(timeout=15)


def _seen(ev: Event) -> SeenEvent:
    prev = ev.prev_kv.value if ev.HasField("prev_kv") else None
    return SeenEvent(ev.kv.mod_revision, ev.type == Event.PUT, ev.kv.key, ev.kv.value, prev)


def check_watch(responses: Sequence[Response]) -> list[str]:
    """Violations of the guarantees in `responses`, a stream watched from revision 1."""
    problems: list[str] = []
    state: dict[bytes, bytes] = {}
    seen_revisions: set[int] = set()
    last = 0
    for i, resp in enumerate(responses):
        revisions = [ev.revision for ev in resp]
        if revisions != sorted(revisions):
            problems.append(f"response {i}: revisions out of order {revisions}")
        for rev in sorted(set(revisions)):
            if rev in seen_revisions:
                problems.append(f"response {i}: revision {rev} delivered again (not unique or not atomic)")
            elif rev < last:
                problems.append(f"response {i}: revision {rev} after {last} (not ordered)")
            elif rev > last + 1 and last:
                problems.append(f"response {i}: revisions {last + 1}..{rev - 1} never delivered "
                                "(not reliable)")
            seen_revisions.add(rev)
            last = max(last, rev)
        for ev in resp:
            before = state.get(ev.key)
            if ev.prev_value != before:
                problems.append(f"response {i}: {ev} has prev_kv {ev.prev_value!r}, the key held {before!r}")
            if ev.is_put:
                state[ev.key] = ev.value
            else:
                state.pop(ev.key, None)
    if responses and responses[0][0].revision != 2:
        first = responses[0][0].revision
        problems.append(f"the stream starts at revision {first}, not at the first write (2)")
    return problems
