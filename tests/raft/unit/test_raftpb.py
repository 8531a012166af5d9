"""raftpb encodings (etcd's bytes) and the canonical text of entries, messages and Readies."""

from __future__ import annotations

import pytest

from etcdpy.pkg.goquote import quote as go_quote
from etcdpy.raft.describe import (
    describe_conf_state,
    describe_entry,
    describe_hard_state,
    describe_message,
    describe_ready,
)
from etcdpy.raft.raftpb import (
    ConfChange,
    ConfChangeSingle,
    ConfChangeTransition,
    ConfChangeType,
    ConfChangeV2,
    ConfState,
    Entry,
    EntryType,
    HardState,
    Message,
    MessageType,
    ReadState,
    Ready,
    Snapshot,
    SnapshotMeta,
    SoftState,
    StateType,
)
from etcdpy.raft.util import entry_size
from etcdpy.raft.wire import DecodeError


def test_conf_change_encoding_is_etcds() -> None:
    # etcd: ConfChange{ID: 5, Type: ConfChangeAddNode, NodeID: 300, Context: "ab"}.Marshal()
    cc = ConfChange(ConfChangeType.ADD_NODE, 300, b"ab", id=5)
    assert cc.encode() == bytes([0x08, 0x05, 0x10, 0x00, 0x18, 0xAC, 0x02, 0x22, 0x02, 0x61, 0x62])
    assert ConfChange.decode(cc.encode()) == cc
    # Type and NodeID are always encoded; Context only when present.
    assert ConfChange(ConfChangeType.REMOVE_NODE, 2).encode() == bytes([0x08, 0x00, 0x10, 0x01, 0x18, 0x02])


def test_conf_change_v2_round_trip() -> None:
    cc = ConfChangeV2(
        ConfChangeTransition.JOINT_EXPLICIT,
        (
            ConfChangeSingle(ConfChangeType.ADD_NODE, 4),
            ConfChangeSingle(ConfChangeType.ADD_LEARNER_NODE, 1 << 62),
        ),
        b"ctx",
    )
    assert ConfChangeV2.decode(cc.encode()) == cc
    assert ConfChangeV2().encode() == b"\x08\x00"
    assert ConfChangeV2.decode(b"").leave_joint()


def test_conf_change_v2_joint_semantics() -> None:
    one = (ConfChangeSingle(ConfChangeType.ADD_NODE, 4),)
    two = (*one, ConfChangeSingle(ConfChangeType.REMOVE_NODE, 1))
    assert ConfChangeV2(changes=one).enter_joint() is None
    assert ConfChangeV2(changes=two).enter_joint() is True
    assert ConfChangeV2(ConfChangeTransition.JOINT_IMPLICIT, one).enter_joint() is True
    assert ConfChangeV2(ConfChangeTransition.JOINT_EXPLICIT, one).enter_joint() is False
    assert ConfChange(ConfChangeType.ADD_NODE, 4, b"c").as_v2() == ConfChangeV2(changes=one, context=b"c")


def test_decode_rejects_truncated_data() -> None:
    with pytest.raises(DecodeError):
        ConfChange.decode(b"\x08")
    with pytest.raises(DecodeError):
        ConfChange.decode(b"\x22\x05ab")


def test_entry_size_is_etcds_encoded_size() -> None:
    assert entry_size(Entry(1, 1)) == 6
    assert entry_size(Entry(1, 1, data=b"foo")) == 11
    # type 1+1, term 1+2, index 1+3, data 1 + 2 (length) + 200
    assert entry_size(Entry(300, 1 << 20, data=b"x" * 200)) == 212


def test_go_quote() -> None:
    assert go_quote(b"foo") == '"foo"'
    assert go_quote(b'a"b\\c\n\t') == '"a\\"b\\\\c\\n\\t"'
    assert go_quote(b"\x00\x7f\xff") == '"\\x00\\u007f\\xff"'
    assert go_quote("héllo".encode()) == '"héllo"'
    assert go_quote("\u0085".encode()) == '"\\u0085"'


def test_describe_entry() -> None:
    assert describe_entry(Entry(1, 11, data=b"foo")) == '1/11 EntryNormal "foo"'
    assert describe_entry(Entry(2, 3)) == '2/3 EntryNormal ""'
    cc = ConfChange(ConfChangeType.ADD_LEARNER_NODE, 4).encode()
    assert describe_entry(Entry(2, 4, EntryType.CONF_CHANGE, cc)) == "2/4 EntryConfChange l4"
    v2 = ConfChangeV2(
        changes=(
            ConfChangeSingle(ConfChangeType.ADD_NODE, 2),
            ConfChangeSingle(ConfChangeType.REMOVE_NODE, 3),
        )
    )
    assert describe_entry(Entry(2, 5, EntryType.CONF_CHANGE_V2, v2.encode())) == "2/5 EntryConfChangeV2 v2 r3"
    assert describe_entry(Entry(1, 1, data=b"ab"), lambda d: d.decode().upper()) == "1/1 EntryNormal AB"


def test_describe_message() -> None:
    m = Message(MessageType.MsgApp, 2, 1, 1, 1, 10, (Entry(1, 11, data=b"foo"),), 10)
    assert describe_message(m) == '1->2 MsgApp Term:1 Log:1/10 Commit:10 Entries:[1/11 EntryNormal "foo"]'
    rej = Message(MessageType.MsgAppResp, 1, 18, 3, 2, 7, reject=True, reject_hint=5)
    assert describe_message(rej) == "12->1 MsgAppResp Term:3 Log:2/7 Rejected (Hint: 5)"
    snap = Message(
        MessageType.MsgSnap, 3, 1, 2, snapshot=Snapshot(metadata=SnapshotMeta(9, 2, ConfState(voters=(1, 3))))
    )
    assert describe_message(snap) == (
        "1->3 MsgSnap Term:2 Log:0/0 Snapshot: Index:9 Term:2 ConfState:Voters:[1 3] VotersOutgoing:[] "
        "Learners:[] LearnersNext:[] AutoLeave:false"
    )


def test_describe_states() -> None:
    assert describe_hard_state(HardState(3, 0, 5)) == "Term:3 Commit:5"
    assert describe_hard_state(HardState(3, 2, 5)) == "Term:3 Vote:2 Commit:5"
    assert describe_conf_state(ConfState((1, 2), (3,), (1,), (), True)) == (
        "Voters:[1 2] VotersOutgoing:[1] Learners:[3] LearnersNext:[] AutoLeave:true"
    )


def test_describe_ready() -> None:
    assert describe_ready(Ready(None, (), (), False)) == "<empty Ready>"
    rd = Ready(
        HardState(2, 1, 3),
        (Entry(2, 4, data=b"x"),),
        (Entry(2, 3),),
        True,
        (Message(MessageType.MsgHeartbeat, 2, 1, 2, commit=3),),
        soft_state=SoftState(1, StateType.LEADER),
        read_states=(ReadState(3, b"ab"),),
    )
    assert describe_ready(rd) == (
        "Ready MustSync=true:\n"
        "Lead:1 State:StateLeader\n"
        "HardState Term:2 Vote:1 Commit:3\n"
        "ReadStates [{3 [97 98]}]\n"
        "Entries:\n"
        '2/4 EntryNormal "x"\n'
        "CommittedEntries:\n"
        '2/3 EntryNormal ""\n'
        "Messages:\n"
        "1->2 MsgHeartbeat Term:2 Log:0/0 Commit:3\n"
    )
