"""Linearizability of client histories against etcd, key by key.

Each key is a register holding (value, mod_revision). Operations touch one key each, so the
history is linearizable iff every key's sub-history is (linearizability is local). A key's
sub-history is searched as Wing & Gong do, with Lowe's memoization (as Porcupine): walk the
calls and returns in time order, linearize any call that the model accepts from the current
state, backtrack when a return is reached whose call is not linearized yet, and never revisit
a (set of linearized operations, state) pair.

An operation whose outcome is unknown (timed out, connection lost) is "maybe applied": its
return time is infinity and the model accepts any output for it, so it may take effect at any
point after its invocation, or never (placed after everything else, it changes nothing seen).

Across keys, etcd's revisions must follow real time: `check_revision_order`.

Written values must be unique per key; that is what lets the search identify writers.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

INF = math.inf


@dataclass(frozen=True, slots=True)
class Put:
    value: str


@dataclass(frozen=True, slots=True)
class Get:
    pass


@dataclass(frozen=True, slots=True)
class Cas:
    """Txn: if the key's value is `expect` (None: the key does not exist) put `value`, else get it."""

    expect: str | None
    value: str


@dataclass(frozen=True, slots=True)
class Written:
    """A put, or a CAS that succeeded: the key's new mod_revision."""

    revision: int


@dataclass(frozen=True, slots=True)
class Read:
    """A get, or the failure branch of a CAS: what the key held (None, 0 when absent)."""

    value: str | None
    mod_revision: int


Input = Put | Get | Cas
Output = Written | Read


@dataclass(frozen=True, slots=True)
class Op:
    """One client request. `output` None and `ret` INF: outcome unknown (maybe applied).
    `revision`: the response header's store revision, None when unknown."""

    client: int
    key: str
    input: Input
    invoke: float
    ret: float
    output: Output | None
    revision: int | None = None
    endpoint: str = ""  # the member that served (or failed) the request

    @property
    def unknown(self) -> bool:
        return self.output is None

    def describe(self) -> str:
        match self.input:
            case Put(value):
                what = f"put {self.key}={value}"
            case Get():
                what = f"get {self.key}"
            case Cas(expect, value):
                what = f"cas {self.key}: {expect} -> {value}"
        match self.output:
            case None:
                result = "? (unknown)"
            case Written(revision):
                result = f"ok, mod_revision {revision}"
            case Read(seen, mod_revision):
                result = f"read {seen} @ mod_revision {mod_revision}"
        at = f" via {self.endpoint}" if self.endpoint else ""
        return f"c{self.client} {what} -> {result} [{self.invoke:.4f}, {self.ret:.4f}]{at}"


# The register: (value, mod_revision); mod_revision None when set by an op of unknown outcome.
State = tuple[str | None, int | None]
INITIAL: State = (None, 0)


def _read_matches(state: State, out: Read) -> bool:
    value, revision = state
    return out.value == value and (revision is None or revision == out.mod_revision)


def _write(state: State, value: str, out: Written) -> State | None:
    """Per key, mod_revisions strictly increase with every write."""
    revision = state[1]
    if revision is not None and out.revision <= revision:
        return None
    return (value, out.revision)


def step(state: State, op: Op) -> State | None:
    """The register after `op`, or None if `op` cannot have produced its output from `state`."""
    out = op.output
    match op.input:
        case Put(value):
            if out is None:
                return (value, None)
            return _write(state, value, out) if isinstance(out, Written) else None
        case Get():
            if out is None:
                return state
            if isinstance(out, Read) and _read_matches(state, out):
                return (out.value, out.mod_revision)
            return None
        case Cas(expect, value):
            holds = state[0] == expect
            if out is None:
                return (value, None) if holds else state
            if isinstance(out, Written):
                return _write(state, value, out) if holds else None
            if not holds and _read_matches(state, out):
                return (out.value, out.mod_revision)
            return None
    raise TypeError(op.input)


@dataclass(frozen=True, slots=True)
class Violation:
    """A key whose history has no linearization; `linearized` is the longest partial
    linearization found, `stuck` the operations that could not be placed after it."""

    key: str
    linearized: tuple[Op, ...]
    stuck: tuple[Op, ...]

    def describe(self, tail: int = 12) -> str:
        lines = [f"key {self.key}: no linearization; longest prefix has {len(self.linearized)} ops, ending:"]
        lines += [f"  {op.describe()}" for op in self.linearized[-tail:]]
        lines.append("then none of these fits (earliest returns first):")
        lines += [f"  {op.describe()}" for op in self.stuck[:tail]]
        return "\n".join(lines)


def written_value(op: Op) -> str | None:
    """The value `op` writes if it is a put or a compare-and-set."""
    match op.input:
        case Put(value) | Cas(_, value):
            return value
    return None


def _observed_value(op: Op) -> str | None:
    """The value `op` saw as the key's current one, if it saw one."""
    match op.input, op.output:
        case _, Read(value, _):
            return value
        case Cas(expect, _), Written():
            return expect
    return None


def reduce_unknowns(ops: Sequence[Op]) -> list[Op]:
    """An equivalent history with fewer unknown-outcome operations to place (all of one key).

    - an unknown get is dropped: it changes nothing;
    - an unknown write whose value nobody observed is dropped: not applying it is always
      allowed, and with unique values applying it could only contradict observations;
    - an unknown write whose value was observed took effect before every observer's
      linearization point, so before the earliest observer's return: that becomes its return
      (never before its invocation: an observer that returned earlier is then caught by the search).
    """
    values = [v for op in ops if (v := written_value(op)) is not None]
    if len(values) != len(set(values)):
        raise ValueError("written values must be unique per key")
    first_seen: dict[str, float] = {}
    for op in ops:
        seen = _observed_value(op)
        if seen is not None:
            first_seen[seen] = min(first_seen.get(seen, INF), op.ret)
    reduced = []
    for op in ops:
        if op.unknown:
            value = written_value(op)
            if value is None or value not in first_seen:
                continue
            op = dataclasses.replace(op, ret=max(op.invoke, first_seen[value]))
        reduced.append(op)
    return reduced


class _Entry:
    """A call or return event in the doubly linked, time-ordered event list."""

    __slots__ = ("is_call", "match", "next", "op", "prev")

    def __init__(self, op: int, is_call: bool) -> None:
        self.op = op
        self.is_call = is_call
        self.match: _Entry | None = None  # a call's return entry
        self.prev: _Entry | None = None
        self.next: _Entry | None = None


def _event_list(ops: Sequence[Op]) -> _Entry:
    """The head sentinel of the list of calls and returns sorted by time; a call sorts before a
    return at the same instant (the operations then count as concurrent)."""
    events = []
    for i, op in enumerate(ops):
        call, ret = _Entry(i, True), _Entry(i, False)
        call.match = ret
        events += [(op.invoke, 0, call), (op.ret, 1, ret)]
    events.sort(key=lambda e: (e[0], e[1]))
    head = _Entry(-1, False)
    prev = head
    for _, _, entry in events:
        prev.next, entry.prev = entry, prev
        prev = entry
    return head


def _lift(call: _Entry) -> None:
    """Unlink a call and its return (the return always comes later in the list)."""
    for e in (call, call.match):
        assert e is not None and e.prev is not None
        e.prev.next = e.next
        if e.next is not None:
            e.next.prev = e.prev


def _unlift(call: _Entry) -> None:
    for e in (call.match, call):
        assert e is not None and e.prev is not None
        e.prev.next = e
        if e.next is not None:
            e.next.prev = e


def check_key(ops: Sequence[Op], initial: State = INITIAL) -> Violation | None:
    """None if the history of one key is linearizable, else the evidence."""
    if not ops:
        return None
    head = _event_list(ops)
    state, linearized = initial, 0
    seen: set[tuple[int, State]] = set()
    stack: list[tuple[_Entry, State]] = []
    best: list[int] = []
    entry = head.next
    while head.next is not None:
        assert entry is not None  # the last entry is a return, which ends each scan
        if entry.is_call:
            after = step(state, ops[entry.op])
            if after is not None:
                bits = linearized | (1 << entry.op)
                if (bits, after) not in seen:
                    seen.add((bits, after))
                    stack.append((entry, state))
                    state, linearized = after, bits
                    _lift(entry)
                    entry = head.next
                    continue
            entry = entry.next
            continue
        # A return: its operation had to be linearized by now. Undo the latest choice.
        if len(stack) > len(best):
            best = [e.op for e, _ in stack]
        if not stack:
            return _violation(ops, best)
        entry, state = stack.pop()
        linearized &= ~(1 << entry.op)
        _unlift(entry)
        entry = entry.next
    return None


def _violation(ops: Sequence[Op], best: list[int]) -> Violation:
    placed = set(best)
    stuck = sorted((op for i, op in enumerate(ops) if i not in placed), key=lambda op: op.ret)
    return Violation(ops[0].key, tuple(ops[i] for i in best), tuple(stuck))


def check_history(ops: Iterable[Op], initial: State = INITIAL) -> list[Violation]:
    """The keys (with evidence) whose sub-history is not linearizable; empty if all are."""
    by_key: dict[str, list[Op]] = {}
    for op in ops:
        by_key.setdefault(op.key, []).append(op)
    found = []
    for key in sorted(by_key):
        violation = check_key(reduce_unknowns(by_key[key]), initial)
        if violation is not None:
            found.append(violation)
    return found


def check_revision_order(ops: Iterable[Op]) -> list[tuple[Op, Op]]:
    """Pairs (a, b) where a returned before b was invoked yet b's response carries an older
    store revision than a's (or the same one while b wrote: a write makes a new revision)."""
    known = [op for op in ops if op.revision is not None and not op.unknown]
    by_return = sorted(known, key=lambda op: op.ret)
    latest: Op | None = None  # the completed op with the highest revision so far
    bad = []
    i = 0
    for b in sorted(known, key=lambda op: op.invoke):
        while i < len(by_return) and by_return[i].ret < b.invoke:
            a = by_return[i]
            if latest is None or (a.revision or 0) > (latest.revision or 0):
                latest = a
            i += 1
        if latest is None:
            continue
        assert b.revision is not None and latest.revision is not None
        if b.revision < latest.revision or (b.revision == latest.revision and isinstance(b.output, Written)):
            bad.append((latest, b))
    return bad
