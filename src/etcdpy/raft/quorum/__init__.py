"""Quorum math: the commit index and the vote result of a majority or a joint configuration."""

from etcdpy.raft.quorum.joint import JointConfig
from etcdpy.raft.quorum.majority import AckedIndexer, VoteResult, committed_index, describe, vote_result

__all__ = ["AckedIndexer", "JointConfig", "VoteResult", "committed_index", "describe", "vote_result"]
