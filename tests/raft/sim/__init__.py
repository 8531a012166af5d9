"""Randomized whole-cluster simulation of the Raft core with safety invariants checked at every step."""
