"""Helpers for the Raft unit tests: test members and a synchronous in-memory network between them.

Members are bare `Raft` objects (no Ready loop): their logs stay in the unstable tail, and their outgoing
messages are read straight from `Raft.msgs`, as etcd's own raft tests do.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from typing import Any

from etcdpy.raft.config import Config
from etcdpy.raft.raft import Raft
from etcdpy.raft.raftpb import ConfState, Entry, HardState, Message, MessageType, StateType
from etcdpy.raft.storage import MemoryStorage
from etcdpy.raft.util import NO_LIMIT

NOP_STEPPER = None
"""A member slot that swallows every message sent to it."""


def storage_with(voters: Sequence[int] = (), learners: Sequence[int] = ()) -> MemoryStorage:
    return MemoryStorage(ConfState(voters=tuple(voters), learners=tuple(learners)))


def new_raft(
    member: int,
    voters: Sequence[int] = (1,),
    election: int = 10,
    heartbeat: int = 1,
    storage: MemoryStorage | None = None,
    seed: int = 0,
    **options: Any,
) -> Raft:
    """A member on `storage` (default: a fresh log whose configuration is `voters`)."""
    cfg = Config(
        id=member,
        storage=storage if storage is not None else storage_with(voters),
        rand=random.Random(seed * 1000 + member),
        election_tick=election,
        heartbeat_tick=heartbeat,
        max_size_per_msg=NO_LIMIT,
        max_inflight_msgs=256,
    )
    for name, value in options.items():
        setattr(cfg, name, value)
    return Raft(cfg)


def storage_with_log(
    voters: Sequence[int], terms: Sequence[int], hard_state: HardState | None = None
) -> MemoryStorage:
    """A storage whose log has entries 1..n of the given terms."""
    s = storage_with(voters)
    s.append([Entry(term, i + 1) for i, term in enumerate(terms)])
    if hard_state is not None:
        s.set_hard_state(hard_state)
    return s


def read_messages(r: Raft) -> list[Message]:
    msgs, r.msgs = r.msgs, []
    return msgs


def msg(t: MessageType, frm: int, to: int, **fields: object) -> Message:
    return Message(t, to, frm, **fields)  # type: ignore[arg-type]


def hup(member: int) -> Message:
    return Message(MessageType.MsgHup, member, member)


def prop(member: int, data: bytes = b"somedata") -> Message:
    return Message(MessageType.MsgProp, member, member, entries=(Entry(0, 0, data=data),))


class Network:
    """Delivers messages synchronously until none are left. A member ID mapped to None is a black hole."""

    def __init__(
        self,
        peers: Sequence[Raft | None],
        *,
        pre_vote: bool = False,
        check_quorum: bool = False,
        election: int = 10,
        heartbeat: int = 1,
        seed: int = 0,
    ) -> None:
        ids = list(range(1, len(peers) + 1))
        self.peers: dict[int, Raft | None] = {}
        for member, p in zip(ids, peers, strict=True):
            if p is None:
                self.peers[member] = new_raft(
                    member,
                    ids,
                    election=election,
                    heartbeat=heartbeat,
                    seed=seed,
                    pre_vote=pre_vote,
                    check_quorum=check_quorum,
                )
            else:
                self.peers[member] = p
        self.dropped: dict[tuple[int, int], float] = {}
        self.ignored: set[MessageType] = set()
        self.rand = random.Random(seed)

    @classmethod
    def with_black_holes(cls, peers: Sequence[Raft | None], holes: Iterable[int], **kw: object) -> Network:
        net = cls(peers, **kw)  # type: ignore[arg-type]
        for member in holes:
            net.peers[member] = NOP_STEPPER
        return net

    def raft(self, member: int) -> Raft:
        r = self.peers[member]
        assert r is not None
        return r

    def send(self, *msgs: Message) -> None:
        queue = list(msgs)
        while queue:
            m = queue.pop(0)
            p = self.peers.get(m.to)
            if p is None:
                continue
            p.step(m)
            queue.extend(self._filter(read_messages(p)))

    def _filter(self, msgs: list[Message]) -> list[Message]:
        out = []
        for m in msgs:
            if m.type in self.ignored:
                continue
            if m.type == MessageType.MsgHup:
                raise AssertionError("unexpected MsgHup")
            if self.rand.random() < self.dropped.get((m.frm, m.to), 0.0):
                continue
            out.append(m)
        return out

    def drop(self, frm: int, to: int, perc: float) -> None:
        self.dropped[(frm, to)] = perc

    def cut(self, one: int, other: int) -> None:
        self.drop(one, other, 2.0)
        self.drop(other, one, 2.0)

    def isolate(self, member: int) -> None:
        for other in self.peers:
            if other != member:
                self.cut(member, other)

    def ignore(self, t: MessageType) -> None:
        self.ignored.add(t)

    def recover(self) -> None:
        self.dropped = {}
        self.ignored = set()


def leaders(net: Network) -> list[int]:
    return [m for m, r in net.peers.items() if r is not None and r.state == StateType.LEADER]


def log_terms(r: Raft) -> list[tuple[int, int]]:
    return [(e.index, e.term) for e in r.log.all_entries()]
