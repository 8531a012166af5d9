"""Computing configurations from membership changes: simple changes, learners, joint consensus, restore."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from etcdpy.raft.confchange import Changer, restore
from etcdpy.raft.errors import ConfigError
from etcdpy.raft.raftpb import ConfChangeSingle, ConfChangeType, ConfState
from etcdpy.raft.tracker import Progress, ProgressTracker, TrackerConfig

T = ConfChangeType
Result = tuple[TrackerConfig, dict[int, Progress]]


def cc(spec: str) -> list[ConfChangeSingle]:
    """etcd's compact notation: `v1 l2 r3 u4`."""
    kinds = {"v": T.ADD_NODE, "l": T.ADD_LEARNER_NODE, "r": T.REMOVE_NODE, "u": T.UPDATE_NODE}
    return [ConfChangeSingle(kinds[tok[0]], int(tok[1:])) for tok in spec.split()]


def changer(state: Result | None = None, last_index: int = 10) -> Changer:
    cfg, prs = state if state is not None else (TrackerConfig(), {})
    return Changer(cfg, prs, 8, last_index)


def text(state: Result) -> str:
    return str(state[0])


def test_simple_adds_and_removes_one_voter_at_a_time() -> None:
    s = changer().simple(cc("v1"))
    assert text(s) == "voters=(1)"
    s = changer(s).simple(cc("v2"))
    assert text(s) == "voters=(1 2)"
    assert s[1][2].next == 10 and s[1][2].match == 0 and s[1][2].recent_active
    with pytest.raises(ConfigError, match="more than one voter changed"):
        changer(s).simple(cc("v3 v4"))
    s = changer(s).simple(cc("r1"))
    assert text(s) == "voters=(2)" and set(s[1]) == {2}
    with pytest.raises(ConfigError, match="removed all voters"):
        changer(s).simple(cc("r2"))


def test_learners_and_promotion() -> None:
    s = changer().simple(cc("v1"))
    s = changer(s).simple(cc("l2"))
    assert text(s) == "voters=(1) learners=(2)" and s[1][2].is_learner
    s = changer(s).simple(cc("l2"))  # idempotent
    assert text(s) == "voters=(1) learners=(2)"
    s = changer(s).simple(cc("v2"))  # promotion keeps the Progress
    assert text(s) == "voters=(1 2)" and not s[1][2].is_learner
    s = changer(s).simple(cc("l2"))  # demotion
    assert text(s) == "voters=(1) learners=(2)" and s[1][2].is_learner
    s = changer(s).simple(cc("r2"))
    assert text(s) == "voters=(1)"
    s = changer(s).simple(cc("u1 v0"))  # updates and ID 0 change nothing
    assert text(s) == "voters=(1)"


def test_changes_work_on_copies() -> None:
    start = changer().simple(cc("v1 l2"))
    changer(start).simple(cc("v2"))
    assert start[1][2].is_learner and text(start) == "voters=(1) learners=(2)"


def test_joint_consensus_enter_and_leave() -> None:
    s = changer().simple(cc("v1"))
    s = changer(s).simple(cc("v2"))
    s = changer(s).simple(cc("v3"))
    joint = changer(s).enter_joint(True, cc("r1 v4 v5 l6"))
    assert text(joint) == "voters=(2 3 4 5)&&(1 2 3) learners=(6) autoleave"
    # 1 stays tracked while it votes in the outgoing half.
    assert set(joint[1]) == {1, 2, 3, 4, 5, 6}
    with pytest.raises(ConfigError, match="already joint"):
        changer(joint).enter_joint(False, cc("v7"))
    with pytest.raises(ConfigError, match="simple config change in joint"):
        changer(joint).simple(cc("v7"))
    left = changer(joint).leave_joint()
    assert text(left) == "voters=(2 3 4 5) learners=(6)"
    assert set(left[1]) == {2, 3, 4, 5, 6}
    with pytest.raises(ConfigError, match="non-joint"):
        changer(left).leave_joint()


def test_demoting_a_voter_while_joint_defers_it_to_learners_next() -> None:
    s = changer().simple(cc("v1"))
    s = changer(s).simple(cc("v2"))
    joint = changer(s).enter_joint(False, cc("l2 v3"))
    assert text(joint) == "voters=(1 3)&&(1 2) learners_next=(2)"
    assert not joint[1][2].is_learner
    left = changer(joint).leave_joint()
    assert text(left) == "voters=(1 3) learners=(2)" and left[1][2].is_learner


def test_enter_joint_requires_voters() -> None:
    with pytest.raises(ConfigError, match="zero-voter"):
        changer().enter_joint(False, cc("v1"))


def test_restore_simple_and_joint_conf_states() -> None:
    tracker = ProgressTracker(8)
    cs = ConfState(
        voters=(1, 2, 3), learners=(5,), voters_outgoing=(1, 2, 4, 6), learners_next=(4,), auto_leave=True
    )
    cfg, prs = restore(Changer(tracker.config, tracker.progress, 8, 10), cs)
    tracker.set_config(cfg, prs)
    assert tracker.conf_state() == cs
    cs2 = ConfState(voters=(1, 2), learners=(3,))
    cfg, prs = restore(Changer(TrackerConfig(), {}, 8, 0), cs2)
    tracker.set_config(cfg, prs)
    assert tracker.conf_state() == cs2


@given(
    voters=st.sets(st.integers(1, 12), min_size=1, max_size=6),
    learners=st.sets(st.integers(13, 20), max_size=3),
    outgoing=st.sets(st.integers(1, 12), max_size=6),
    auto_leave=st.booleans(),
)
def test_restore_round_trips(
    voters: set[int], learners: set[int], outgoing: set[int], auto_leave: bool
) -> None:
    learners_next = tuple(sorted(outgoing - voters))[:1] if outgoing else ()
    cs = ConfState(
        voters=tuple(sorted(voters)),
        learners=tuple(sorted(learners)),
        voters_outgoing=tuple(sorted(outgoing)),
        learners_next=learners_next,
        auto_leave=auto_leave and bool(outgoing),
    )
    tracker = ProgressTracker(8)
    cfg, prs = restore(Changer(tracker.config, tracker.progress, 8, 10), cs)
    tracker.set_config(cfg, prs)
    assert tracker.conf_state() == cs
