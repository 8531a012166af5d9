"""The event trace of a run: what happened at each step, formatted only when someone reads it.

Recording stores the event's parts (messages are immutable), so tracing costs little on the hot path;
the recent window is always kept for failure reports, the full trace only when asked for.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator

from etcdpy.raft.describe import describe_message
from etcdpy.raft.raftpb import Message, Ready

Event = tuple[int, int, str, tuple[object, ...]]

RECENT = 80


def _part(a: object) -> str:
    if isinstance(a, Message):
        return describe_message(a)
    if isinstance(a, Ready):
        return _summary(a)
    if isinstance(a, bytes):
        return a.decode()
    return str(a)


def _summary(rd: Ready) -> str:
    parts = []
    if rd.soft_state is not None:
        parts.append(f"{rd.soft_state.raft_state.name} lead={rd.soft_state.lead}")
    if rd.hard_state is not None:
        hs = rd.hard_state
        parts.append(f"hs={hs.term}/{hs.vote}/{hs.commit}")
    if rd.snapshot is not None:
        parts.append(f"snap={rd.snapshot.metadata.term}/{rd.snapshot.metadata.index}")
    if rd.entries:
        parts.append(f"ents={rd.entries[0].index}..{rd.entries[-1].index}")
    if rd.committed_entries:
        parts.append(f"apply={rd.committed_entries[0].index}..{rd.committed_entries[-1].index}")
    if rd.messages:
        parts.append(f"msgs={len(rd.messages)}")
    if rd.read_states:
        parts.append(f"reads={len(rd.read_states)}")
    return " ".join(parts)


def format_event(ev: Event) -> str:
    step, time, kind, args = ev
    text = " ".join(_part(a) for a in args)
    return f"{step:>6} t={time:<6} {kind} {text}".rstrip()


class Trace:
    def __init__(self, full: bool) -> None:
        self.recent: deque[Event] = deque(maxlen=RECENT)
        self.full: list[Event] | None = [] if full else None

    def add(self, ev: Event) -> None:
        self.recent.append(ev)
        if self.full is not None:
            self.full.append(ev)

    def lines(self, events: list[Event] | deque[Event]) -> Iterator[str]:
        return (format_event(ev) for ev in events)
