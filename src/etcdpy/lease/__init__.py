"""Leases: TTL-bound grants that keys attach to, revoked with all their keys when they expire.

Grant, revoke and checkpoint are replicated (applied from the log, so every
member holds the same leases); expiry, keep-alive renewal and TTL reads are
the leader's alone, against its local clock.
"""
