"""What a leader tracks of each member: replication progress, flow control, votes, configuration."""

from etcdpy.raft.tracker.inflights import Inflights
from etcdpy.raft.tracker.progress import Progress, ProgressState
from etcdpy.raft.tracker.tracker import ProgressTracker, TrackerConfig

__all__ = ["Inflights", "Progress", "ProgressState", "ProgressTracker", "TrackerConfig"]
