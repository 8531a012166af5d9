"""Applying membership changes to a tracker configuration (simple changes and joint consensus)."""

from etcdpy.raft.confchange.changer import Changer
from etcdpy.raft.confchange.restore import restore

__all__ = ["Changer", "restore"]
