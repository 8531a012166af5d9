"""Quorum math: majority and joint commit indexes and vote results, against brute-force oracles."""

from __future__ import annotations

from itertools import combinations

from hypothesis import given
from hypothesis import strategies as st

from etcdpy.raft.quorum import JointConfig, VoteResult, committed_index, vote_result
from etcdpy.raft.util import NO_LIMIT

voter_sets = st.frozensets(st.integers(1, 9), max_size=7)


def _oracle_committed(voters: frozenset[int], acked: dict[int, int]) -> int:
    """The largest index that some majority of voters has all acknowledged (missing counts as 0)."""
    if not voters:
        return NO_LIMIT
    need = len(voters) // 2 + 1
    best = 0
    for quorum in combinations(sorted(voters), need):
        best = max(best, min(acked.get(v, 0) for v in quorum))
    return best


def _oracle_vote(voters: frozenset[int], votes: dict[int, bool]) -> VoteResult:
    if not voters:
        return VoteResult.WON
    need = len(voters) // 2 + 1
    yes = sum(1 for v in voters if votes.get(v) is True)
    undecided = sum(1 for v in voters if v not in votes)
    if yes >= need:
        return VoteResult.WON
    if yes + undecided >= need:
        return VoteResult.PENDING
    return VoteResult.LOST


@given(voters=voter_sets, acked=st.dictionaries(st.integers(1, 9), st.integers(0, 20)))
def test_majority_committed_index_matches_oracle(voters: frozenset[int], acked: dict[int, int]) -> None:
    assert committed_index(voters, acked.get) == _oracle_committed(voters, acked)


@given(voters=voter_sets, votes=st.dictionaries(st.integers(1, 9), st.booleans()))
def test_majority_vote_result_matches_oracle(voters: frozenset[int], votes: dict[int, bool]) -> None:
    assert vote_result(voters, votes) == _oracle_vote(voters, votes)


@given(
    incoming=voter_sets.filter(bool),
    outgoing=voter_sets,
    acked=st.dictionaries(st.integers(1, 9), st.integers(0, 20)),
)
def test_joint_committed_index_needs_both_majorities(
    incoming: frozenset[int], outgoing: frozenset[int], acked: dict[int, int]
) -> None:
    joint = JointConfig(incoming, outgoing)
    expected = min(_oracle_committed(incoming, acked), _oracle_committed(outgoing, acked))
    assert joint.committed_index(acked.get) == expected


@given(
    incoming=voter_sets.filter(bool),
    outgoing=voter_sets,
    votes=st.dictionaries(st.integers(1, 9), st.booleans()),
)
def test_joint_vote_result(
    incoming: frozenset[int], outgoing: frozenset[int], votes: dict[int, bool]
) -> None:
    r1, r2 = _oracle_vote(incoming, votes), _oracle_vote(outgoing, votes)
    if VoteResult.LOST in (r1, r2):
        expected = VoteResult.LOST
    elif r1 == r2 == VoteResult.WON:
        expected = VoteResult.WON
    else:
        expected = VoteResult.PENDING
    assert JointConfig(incoming, outgoing).vote_result(votes) == expected


def test_committed_index_examples() -> None:
    assert committed_index(frozenset({1, 2, 3}), {1: 5, 2: 3, 3: 1}.get) == 3
    assert committed_index(frozenset({1, 2, 3}), {1: 5}.get) == 0
    assert committed_index(frozenset({1, 2, 3, 4}), {1: 9, 2: 8, 3: 7, 4: 1}.get) == 7
    assert committed_index(frozenset({1}), {1: 4}.get) == 4


def test_vote_result_examples() -> None:
    voters = frozenset({1, 2, 3})
    assert vote_result(voters, {1: True}) == VoteResult.PENDING
    assert vote_result(voters, {1: True, 2: True}) == VoteResult.WON
    assert vote_result(voters, {1: True, 2: False, 3: False}) == VoteResult.LOST
    assert vote_result(voters, {2: False, 3: False}) == VoteResult.LOST
    # Votes from non-voters do not count.
    assert vote_result(voters, {4: True, 5: True, 1: True}) == VoteResult.PENDING


def test_joint_config_text() -> None:
    assert str(JointConfig(frozenset({3, 1, 2}))) == "(1 2 3)"
    assert str(JointConfig(frozenset({1, 2}), frozenset({2, 3}))) == "(1 2)&&(2 3)"
