"""Datadriven interaction scripts for the Raft core (etcd-io/raft testdata style)."""
