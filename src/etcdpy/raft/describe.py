"""Canonical one-line (or one-block) text of Raft data, in the format of etcd-io/raft's Describe* helpers.

Logs, golden files and scenario tests print these, so the format is stable: e.g.
`1->2 MsgApp Term:1 Log:1/10 Commit:10 Entries:[1/11 EntryNormal "foo"]`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from etcdpy.pkg.goquote import quote
from etcdpy.raft.raftpb import (
    ConfChange,
    ConfChangeSingle,
    ConfChangeType,
    ConfChangeV2,
    ConfState,
    Entry,
    EntryType,
    HardState,
    Message,
    ReadState,
    Ready,
    Snapshot,
    SoftState,
    StateType,
)
from etcdpy.raft.tracker import Progress
from etcdpy.raft.wire import DecodeError

EntryFormatter = Callable[[bytes], str]
"""Renders an entry's data; the default is Go's %q quoting."""

_ENTRY_TYPE_NAMES = {
    EntryType.NORMAL: "EntryNormal",
    EntryType.CONF_CHANGE: "EntryConfChange",
    EntryType.CONF_CHANGE_V2: "EntryConfChangeV2",
}
_STATE_NAMES = {
    StateType.FOLLOWER: "StateFollower",
    StateType.CANDIDATE: "StateCandidate",
    StateType.LEADER: "StateLeader",
    StateType.PRE_CANDIDATE: "StatePreCandidate",
}
_CONF_CHANGE_LETTERS = {
    ConfChangeType.ADD_NODE: "v",
    ConfChangeType.ADD_LEARNER_NODE: "l",
    ConfChangeType.REMOVE_NODE: "r",
    ConfChangeType.UPDATE_NODE: "u",
}


def describe_conf_changes(changes: Iterable[ConfChangeSingle]) -> str:
    """etcd's compact form of conf changes: `v1 l2 r3 u4` (voter, learner, remove, update)."""
    return " ".join(f"{_CONF_CHANGE_LETTERS.get(cc.type, 'unknown')}{cc.node_id}" for cc in changes)


def describe_entry(e: Entry, fmt: EntryFormatter | None = None) -> str:
    if e.type == EntryType.NORMAL:
        formatted = (fmt or quote)(e.data)
    else:
        try:
            cc = (
                ConfChange.decode(e.data).as_v2()
                if e.type == EntryType.CONF_CHANGE
                else ConfChangeV2.decode(e.data)
            )
            formatted = describe_conf_changes(cc.changes)
        except (DecodeError, ValueError) as err:
            formatted = str(err)
    if formatted:
        formatted = " " + formatted
    return f"{e.term}/{e.index} {_ENTRY_TYPE_NAMES[e.type]}{formatted}"


def describe_entries(ents: Iterable[Entry], fmt: EntryFormatter | None = None) -> str:
    """One line per entry, each ending in a newline."""
    return "".join(describe_entry(e, fmt) + "\n" for e in ents)


def describe_hard_state(hs: HardState) -> str:
    vote = f" Vote:{hs.vote}" if hs.vote else ""
    return f"Term:{hs.term}{vote} Commit:{hs.commit}"


def describe_soft_state(ss: SoftState) -> str:
    return f"Lead:{ss.lead} State:{_STATE_NAMES[ss.raft_state]}"


def _go_list(ids: Iterable[int]) -> str:
    return "[" + " ".join(str(i) for i in ids) + "]"


def describe_conf_state(cs: ConfState) -> str:
    return (
        f"Voters:{_go_list(cs.voters)} VotersOutgoing:{_go_list(cs.voters_outgoing)} "
        f"Learners:{_go_list(cs.learners)} LearnersNext:{_go_list(cs.learners_next)} "
        f"AutoLeave:{'true' if cs.auto_leave else 'false'}"
    )


def describe_snapshot(s: Snapshot) -> str:
    m = s.metadata
    return f"Index:{m.index} Term:{m.term} ConfState:{describe_conf_state(m.conf_state)}"


def describe_message(m: Message, fmt: EntryFormatter | None = None) -> str:
    parts = [f"{m.frm:x}->{m.to:x} {m.type.name} Term:{m.term} Log:{m.log_term}/{m.index}"]
    if m.reject:
        parts.append(f" Rejected (Hint: {m.reject_hint})")
    if m.commit:
        parts.append(f" Commit:{m.commit}")
    if m.entries:
        parts.append(" Entries:[" + ", ".join(describe_entry(e, fmt) for e in m.entries) + "]")
    if m.snapshot is not None and not m.snapshot.is_empty():
        parts.append(f" Snapshot: {describe_snapshot(m.snapshot)}")
    return "".join(parts)


def _describe_read_states(states: Iterable[ReadState]) -> str:
    # Go's %v of []ReadState: [{index [byte byte ...]} ...]
    return "[" + " ".join(f"{{{rs.index} {_go_list(rs.request_ctx)}}}" for rs in states) + "]"


def describe_ready(rd: Ready, fmt: EntryFormatter | None = None) -> str:
    lines = []
    if rd.soft_state is not None:
        lines.append(describe_soft_state(rd.soft_state) + "\n")
    if rd.hard_state is not None and not rd.hard_state.is_empty():
        lines.append(f"HardState {describe_hard_state(rd.hard_state)}\n")
    if rd.read_states:
        lines.append(f"ReadStates {_describe_read_states(rd.read_states)}\n")
    if rd.entries:
        lines.append("Entries:\n" + describe_entries(rd.entries, fmt))
    if rd.snapshot is not None and not rd.snapshot.is_empty():
        lines.append(f"Snapshot {describe_snapshot(rd.snapshot)}\n")
    if rd.committed_entries:
        lines.append("CommittedEntries:\n" + describe_entries(rd.committed_entries, fmt))
    if rd.messages:
        lines.append("Messages:\n" + "".join(describe_message(m, fmt) + "\n" for m in rd.messages))
    if not lines:
        return "<empty Ready>"
    return f"Ready MustSync={'true' if rd.must_sync else 'false'}:\n" + "".join(lines)


def describe_progress(pr: Progress) -> str:
    return str(pr)


def describe_progress_map(progress: Mapping[int, Progress]) -> str:
    """One `id: progress` line per member, by ID."""
    return "".join(f"{member}: {progress[member]}\n" for member in sorted(progress))
