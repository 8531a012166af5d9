"""The peer wire encoding of raftpb.Message: etcd's raftpb field numbers, lossless round trips."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from etcdpy.api.pb.raftpb import raft_pb2 as pb
from etcdpy.raft import raftpb
from etcdpy.server.transport.codec import decode_message, encode_message

_u64 = st.integers(min_value=0, max_value=2**64 - 1)
_ids = st.lists(_u64, max_size=3).map(tuple)
_entries = st.lists(
    st.builds(raftpb.Entry, _u64, _u64, st.sampled_from(raftpb.EntryType), st.binary(max_size=64)), max_size=5
).map(tuple)
_conf = st.builds(raftpb.ConfState, _ids, _ids, _ids, _ids, st.booleans())
_snapshots = st.none() | st.builds(
    raftpb.Snapshot, st.binary(max_size=32), st.builds(raftpb.SnapshotMeta, _u64, _u64, _conf)
)
_messages = st.builds(
    raftpb.Message,
    type=st.sampled_from(raftpb.MessageType),
    to=_u64,
    frm=_u64,
    term=_u64,
    log_term=_u64,
    index=_u64,
    entries=_entries,
    commit=_u64,
    snapshot=_snapshots,
    reject=st.booleans(),
    reject_hint=_u64,
    context=st.binary(max_size=16),
)


@given(_messages)
def test_every_message_survives_the_round_trip(msg: raftpb.Message) -> None:
    data = encode_message(msg)
    assert decode_message(data) == msg
    assert decode_message(memoryview(b"xx" + data)[2:]) == msg


def test_fields_carry_etcds_raftpb_numbers() -> None:
    entry = raftpb.Entry(term=7, index=9, type=raftpb.EntryType.CONF_CHANGE, data=b"cc")
    msg = raftpb.Message(
        raftpb.MessageType.MsgApp,
        to=2,
        frm=1,
        term=7,
        log_term=6,
        index=8,
        entries=(entry,),
        commit=5,
        reject=True,
        reject_hint=4,
        context=b"ctx",
    )
    fields = {f.number: v for f, v in pb.Message.FromString(encode_message(msg)).ListFields()}
    assert fields[1] == 3 and fields[2] == 2 and fields[3] == 1 and fields[4] == 7 and fields[5] == 6
    assert (
        fields[6] == 8 and fields[8] == 5 and fields[10] is True and fields[11] == 4 and fields[12] == b"ctx"
    )
    [e] = fields[7]
    assert (e.Term, e.Index, e.Type, e.Data) == (7, 9, pb.EntryConfChange, b"cc")
    # A normal entry leaves Type unset (its default) and still decodes as NORMAL.
    plain = raftpb.Message(raftpb.MessageType.MsgApp, 2, 1, entries=(raftpb.Entry(1, 1, data=b"d"),))
    assert not pb.Message.FromString(encode_message(plain)).entries[0].HasField("Type")
    assert decode_message(encode_message(plain)) == plain
