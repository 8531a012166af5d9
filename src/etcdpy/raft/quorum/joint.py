"""Joint quorums: two majority configurations that must both agree (joint consensus, Raft thesis §4.3)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from etcdpy.raft.quorum.majority import AckedIndexer, VoteResult, committed_index, describe, vote_result


@dataclass(frozen=True, slots=True)
class JointConfig:
    """`outgoing` is empty unless the configuration is joint; an empty half agrees with everything."""

    incoming: frozenset[int] = frozenset()
    outgoing: frozenset[int] = frozenset()

    def ids(self) -> frozenset[int]:
        return self.incoming | self.outgoing

    def is_joint(self) -> bool:
        return bool(self.outgoing)

    def committed_index(self, acked: AckedIndexer) -> int:
        if not self.outgoing:
            return committed_index(self.incoming, acked)
        return min(committed_index(self.incoming, acked), committed_index(self.outgoing, acked))

    def vote_result(self, votes: Mapping[int, bool]) -> VoteResult:
        r1 = vote_result(self.incoming, votes)
        r2 = vote_result(self.outgoing, votes)
        if r1 == r2:
            return r1
        if VoteResult.LOST in (r1, r2):
            return VoteResult.LOST
        return VoteResult.PENDING

    def __str__(self) -> str:
        if self.outgoing:
            return describe(self.incoming) + "&&" + describe(self.outgoing)
        return describe(self.incoming)
