"""Prometheus metrics of one node, on its own registry, served at ``GET /_prometheus/metrics``.

Every name starts with ``quidditch_``. node/http records request counts and latencies by
endpoint (the route rule such as ``/{index}/_doc/{id}``, never the raw path, so label
cardinality stays bounded) and status. The API layer records engine work through the helpers
below, and publishes per-shard gauges pulled from ``Shard.statistics()`` with ``set_shard_gauges``.

This module owns metric names and labels; it must never compute what it reports.
"""

from __future__ import annotations

from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS_SECONDS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                           10.0, 30.0)


class NodeMetrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        registry = self.registry
        # the front process's CPU, RSS and open files, as quidditch_process_*
        ProcessCollector(namespace="quidditch", registry=registry)
        self.http_requests = Counter(
            "quidditch_http_requests", "HTTP requests served, by endpoint, method and status.",
            ["endpoint", "method", "status"], registry=registry)
        self.http_request_duration = Histogram(
            "quidditch_http_request_duration_seconds", "HTTP request latency, by endpoint and method.",
            ["endpoint", "method"], buckets=LATENCY_BUCKETS_SECONDS, registry=registry)
        self.http_requests_in_flight = Gauge(
            "quidditch_http_requests_in_flight", "HTTP requests being served now.", registry=registry)
        self.indexing_operations = Counter(
            "quidditch_indexing_operations", "Document operations applied on primaries, by index, "
            "operation (index, create, update, delete) and result.",
            ["index", "operation", "result"], registry=registry)
        self.search_requests = Counter(
            "quidditch_search_requests", "Search requests coordinated by this node, by outcome.",
            ["outcome"], registry=registry)
        self.search_duration = Histogram(
            "quidditch_search_duration_seconds", "Coordinated search latency.",
            buckets=LATENCY_BUCKETS_SECONDS, registry=registry)
        self.shard_operations = Counter(
            "quidditch_shard_operations", "Refreshes, flushes and merges, by kind (refresh, flush, "
            "merge, force_merge).", ["kind"], registry=registry)
        self.documents = Gauge(
            "quidditch_shard_documents", "Live documents per shard copy held by this node.",
            ["index", "shard", "primary"], registry=registry)
        self.store_size = Gauge(
            "quidditch_shard_store_size_bytes", "On-disk size per shard copy held by this node.",
            ["index", "shard", "primary"], registry=registry)
        self.segments = Gauge(
            "quidditch_shard_segments", "Segments per shard copy held by this node.",
            ["index", "shard", "primary"], registry=registry)
        self.workers_ready = Gauge(
            "quidditch_workers_ready", "Shard worker processes up and serving.", registry=registry)
        self.worker_restarts = Counter(
            "quidditch_worker_restarts", "Shard worker processes restarted after a crash.",
            registry=registry)
        self.cluster_state_version = Gauge(
            "quidditch_cluster_state_version", "Version of the latest cluster state applied here.",
            registry=registry)
        self.raft_term = Gauge("quidditch_raft_term", "Current Raft term seen by this node.",
                               registry=registry)
        self.raft_is_leader = Gauge("quidditch_raft_is_leader", "1 when this node is the master.",
                                    registry=registry)
        self.cluster_commands = Counter(
            "quidditch_cluster_commands", "Cluster-state commands submitted, by result "
            "(accepted, rejected, not_committed, unknown).", ["result"], registry=registry)

        # the cluster part (node/cluster, node/coordination/replication): Raft progress, shard
        # copy states, failovers, replication failures and recovery volume
        self.raft_commit_index = Gauge("quidditch_raft_commit_index",
                                       "Raft commit index of this node's log.", registry=registry)
        self.shard_copies = Gauge("quidditch_shard_copies", "Shard copies in the cluster state, by state "
                                  "(STARTED, INITIALIZING, RELOCATING, UNASSIGNED).", ["state"], registry=registry)
        self.failovers = Counter("quidditch_failovers", "Primary term increases seen in applied cluster states "
                                 "(a primary chosen again: promotion or restore).", registry=registry)
        self.replica_write_failures = Counter(
            "quidditch_replica_write_failures", "Forwarded writes a replica copy did not confirm "
            "(the copy was then removed from the in-sync set or the write failed).", registry=registry)
        self.replication_lag_operations = Gauge(
            "quidditch_replication_lag_operations", "On a primary held here: its local checkpoint minus the global "
            "checkpoint after the last replicated write.", ["index", "shard"], registry=registry)
        self.recovery_operations = Counter("quidditch_recovery_operations",
                                           "Operations applied to copies recovering on this node.", registry=registry)
        self.recovery_bytes = Counter("quidditch_recovery_bytes",
                                      "File bytes received by copies recovering on this node.", registry=registry)
        self.replica_catch_up_operations = Counter(
            "quidditch_replica_catch_up_operations", "Operations a primary held here resent to started replicas "
            "that lacked them (after it reopened, or after a write of unknown outcome; ADR 0225).",
            registry=registry)

    # helpers for the API layer -------------------------------------------------------------

    def set_cluster_shape(self, state: Any, previous: Any = None) -> None:
        """Copy-state gauges from ``state``; counts a failover per shard whose primary term rose."""
        counts = {"STARTED": 0, "INITIALIZING": 0, "RELOCATING": 0, "UNASSIGNED": 0}
        for shards in state.routing_table.values():
            for shard in shards:
                for shard_copy in shard.copies:
                    counts[shard_copy.state] = counts.get(shard_copy.state, 0) + 1
                if previous is None:
                    continue
                before = previous.routing_table.get(shard.index_name, ())
                # term 0 → 1 is the first primary of a new shard, not a failover
                if shard.shard_number < len(before) and 0 < before[shard.shard_number].primary_term < shard.primary_term:
                    self.failovers.inc()
        for copy_state, count in counts.items():
            self.shard_copies.labels(copy_state).set(count)

    def record_indexing(self, index_name: str, operation: str, result: str, count: int = 1) -> None:
        self.indexing_operations.labels(index_name, operation, result).inc(count)

    def record_search(self, outcome: str, duration_seconds: float) -> None:
        self.search_requests.labels(outcome).inc()
        self.search_duration.observe(duration_seconds)

    def record_shard_operation(self, kind: str, count: int = 1) -> None:
        self.shard_operations.labels(kind).inc(count)

    def set_shard_gauges(self, index_name: str, shard_number: int, primary: bool, documents: int,
                         store_size_bytes: int, segments: int) -> None:
        labels = (index_name, str(shard_number), "true" if primary else "false")
        self.documents.labels(*labels).set(documents)
        self.store_size.labels(*labels).set(store_size_bytes)
        self.segments.labels(*labels).set(segments)

    def forget_shard(self, index_name: str, shard_number: int, primary: bool) -> None:
        labels = (index_name, str(shard_number), "true" if primary else "false")
        for gauge in (self.documents, self.store_size, self.segments):
            try:
                gauge.remove(*labels)
            except KeyError:
                pass

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
