"""Prometheus metrics with etcd's names, served on /metrics.

Gauges and counters are read from the server when scraped (`ServerCollector`),
so the request path pays nothing for them; only the WAL fsync and backend
commit durations are observed as they happen, once per batch.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from etcdpy.version import SERVER_VERSION

if TYPE_CHECKING:
    from etcdpy.server.server import EtcdServer

_DISK_BUCKETS = tuple(0.001 * 2**i for i in range(14))  # 1 ms .. 8 s, as etcd's


class ServerMetrics:
    """The registry of one member, and the histograms its hot paths observe."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        ProcessCollector(registry=self.registry)
        self.wal_fsync = Histogram(
            "etcd_disk_wal_fsync_duration_seconds", "The latency distributions of fsync called by WAL.",
            buckets=_DISK_BUCKETS, registry=self.registry)

    def attach(self, server: EtcdServer) -> None:
        self.registry.register(ServerCollector(server))

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class ServerCollector(Collector):
    def __init__(self, server: EtcdServer) -> None:
        self._server = server

    def collect(self) -> Iterator[Metric]:
        s = self._server
        yield _gauge("etcd_server_has_leader", "Whether or not a leader exists. 1 is existence, 0 is not.",
                     1 if s.node.leader else 0)
        yield _gauge("etcd_server_is_leader", "Whether or not this member is a leader. 1 if is, 0 otherwise.",
                     1 if s.node.leader == s.member.id else 0)
        yield _gauge("etcd_server_is_learner", "Whether or not this member is a learner.", 0)
        c = CounterMetricFamily("etcd_server_leader_changes_seen", "The number of leader changes seen.")
        c.add_metric([], s.leader_changes)
        yield c
        yield _gauge("etcd_server_proposals_committed_total", "The total number of consensus proposals "
                     "committed.", s.node.committed)
        yield _gauge("etcd_server_proposals_applied_total", "The total number of consensus proposals "
                     "applied.", s.applied_index)
        yield _gauge("etcd_server_proposals_pending", "The current number of pending proposals to commit.",
                     s.pending_proposals)
        c = CounterMetricFamily("etcd_server_proposals_failed", "The total number of failed proposals seen.")
        c.add_metric([], s.failed_proposals)
        yield c
        yield _gauge("etcd_mvcc_db_total_size_in_bytes",
                     "Total size of the underlying database physically allocated in bytes.", s.backend.size)
        yield _gauge("etcd_mvcc_db_total_size_in_use_in_bytes",
                     "Total size of the underlying database logically in use in bytes.",
                     s.backend.size_in_use)
        yield _gauge("etcd_debugging_mvcc_current_revision", "The current revision of store.", s.kv.rev)
        yield _gauge("etcd_debugging_mvcc_compact_revision",
                     "The revision of the last compaction in store.", s.kv.compact_rev)
        yield _gauge("etcd_server_quota_backend_bytes", "Current backend storage quota size in bytes.",
                     s.cfg.quota_backend_bytes)
        v = GaugeMetricFamily("etcd_server_version", "Which version is running. 1 for 'server_version' "
                              "label with current version.", labels=["server_version"])
        v.add_metric([SERVER_VERSION], 1)
        yield v
        cv = GaugeMetricFamily("etcd_cluster_version", "Which version is running. 1 for 'cluster_version' "
                               "label with current cluster version", labels=["cluster_version"])
        if s.cluster_version:
            cv.add_metric([".".join(s.cluster_version.split(".")[:2])], 1)
        yield cv


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)
