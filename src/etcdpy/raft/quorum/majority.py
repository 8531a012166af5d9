"""Majority quorums: a set of voters decides when more than half of them agree."""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Set

from etcdpy.raft.util import NO_LIMIT

AckedIndexer = Callable[[int], "int | None"]
"""The highest log index a voter has acknowledged, or None when nothing is known of that voter."""


class VoteResult(enum.IntEnum):
    PENDING = 1
    LOST = 2
    WON = 3


def committed_index(voters: Set[int], acked: AckedIndexer) -> int:
    """The largest index acknowledged by a majority of `voters` (a voter with no known index counts as 0).

    An empty configuration commits everything (NO_LIMIT), so that it never holds back a joint quorum.
    """
    n = len(voters)
    if n == 0:
        return NO_LIMIT
    indexes = sorted([acked(v) or 0 for v in voters])
    return indexes[n - (n // 2 + 1)]


def vote_result(voters: Set[int], votes: Mapping[int, bool]) -> VoteResult:
    """WON once a majority granted, LOST once a majority can no longer grant, PENDING otherwise.

    An empty configuration wins every vote.
    """
    if not voters:
        return VoteResult.WON
    yes = no = 0
    for v in voters:
        granted = votes.get(v)
        if granted is True:
            yes += 1
        elif granted is False:
            no += 1
    quorum = len(voters) // 2 + 1
    if yes >= quorum:
        return VoteResult.WON
    if len(voters) - no >= quorum:
        return VoteResult.PENDING
    return VoteResult.LOST


def describe(voters: Set[int]) -> str:
    """etcd's text for a majority configuration: the sorted IDs in parentheses, e.g. `(1 2 3)`."""
    return "(" + " ".join(str(v) for v in sorted(voters)) + ")"
