"""The simulation's fixed parameters, in ticks and simulated time units."""

from __future__ import annotations

TICK = 10
"""Simulated time units per node tick; message latencies are a few units (see network.py)."""
ELECTION_TICK = 10
HEARTBEAT_TICK = 1
BOOT_INDEX = 2
"""The bootstrap snapshot's index (term 1): the initial members share it, later members receive it."""
LIVENESS_TICKS = 300
"""How long after a calm phase begins some leader must have committed a new proposal."""
CHAOS_TICKS = (20, 80)
SETTLE_TICKS = (3, 15)
"""How long a calm phase goes on after its liveness probe committed."""
KEEP_ENTRIES = (0, 5)
"""How many applied entries a compaction keeps behind its snapshot."""
WEATHER_TICKS = (5, 60)
"""How long the network keeps one state (healthy, partitioned, cut one way) in a chaos phase."""
DOWNTIME_TICKS = (1, 60)
"""How long a crashed node stays down in a chaos phase."""
