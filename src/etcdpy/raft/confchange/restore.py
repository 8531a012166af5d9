"""Rebuilding a tracker configuration from a ConfState (at start-up or when installing a snapshot)."""

from __future__ import annotations

from etcdpy.raft.confchange.changer import Changer, Result
from etcdpy.raft.raftpb import ConfChangeSingle, ConfChangeType, ConfState


def restore(changer: Changer, cs: ConfState) -> Result:
    """The configuration `cs` describes, reached from `changer`'s (normally empty) configuration by a
    sequence of valid changes: for a joint `cs`, the outgoing voters are added one at a time, then the
    joint state is entered with the incoming voters and the learners."""
    outgoing = [ConfChangeSingle(ConfChangeType.ADD_NODE, m) for m in cs.voters_outgoing]
    incoming = [
        *(ConfChangeSingle(ConfChangeType.REMOVE_NODE, m) for m in cs.voters_outgoing),
        *(ConfChangeSingle(ConfChangeType.ADD_NODE, m) for m in cs.voters),
        *(ConfChangeSingle(ConfChangeType.ADD_LEARNER_NODE, m) for m in cs.learners),
        *(ConfChangeSingle(ConfChangeType.ADD_LEARNER_NODE, m) for m in cs.learners_next),
    ]
    config, progress = changer.config, changer.progress
    steps = outgoing if outgoing else incoming
    for cc in steps:
        config, progress = Changer(config, progress, changer.max_inflight, changer.last_index).simple([cc])
    if outgoing:
        joint = Changer(config, progress, changer.max_inflight, changer.last_index)
        config, progress = joint.enter_joint(cs.auto_leave, incoming)
    return config, progress
