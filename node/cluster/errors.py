"""Errors of the cluster bridge.

    ClusterError
    ├── ClusterUnavailableError      the command was definitely not committed (no leader, closed)
    ├── CommandOutcomeUnknownError   the deadline passed: it may or may not have been committed;
    │                                resubmit the SAME command_id to learn the outcome
    ├── ClusterStateTimeoutError     the awaited state version was not applied here in time
    └── PrimaryMovedError            a write reached a node that no longer holds the shard's primary;
                                     nothing was applied, so the coordinator may send it again
"""

from __future__ import annotations


class ClusterError(Exception):
    opensearch_type = "exception"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ClusterUnavailableError(ClusterError):
    # what OpenSearch reports when no master is known
    opensearch_type = "cluster_manager_not_discovered_exception"


class CommandOutcomeUnknownError(ClusterError):
    opensearch_type = "process_cluster_event_timeout_exception"


class ClusterStateTimeoutError(ClusterError):
    opensearch_type = "timeout_exception"


class PrimaryMovedError(ClusterError):
    # what OpenSearch answers once its reroute retries run out (the write is retried until then)
    opensearch_type = "unavailable_shards_exception"
