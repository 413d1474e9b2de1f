"""Errors of the shard worker pool.

    WorkerError
    ├── WorkerUnavailableError   the worker died mid-call or is restarting and not back in time
    ├── UnknownWorkerMethodError the worker has no such method
    └── ShardNotHostedError      the worker does not hold that shard (not opened, or closed)

An ``index.errors.IndexEngineError`` raised by a shard method reaches the caller as the same
class; anything else the worker raises arrives as ``node.transport.errors.RemoteError``.
"""

from __future__ import annotations


class WorkerError(Exception):
    opensearch_type = "exception"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class WorkerUnavailableError(WorkerError):
    # what OpenSearch reports when a shard copy cannot be reached
    opensearch_type = "node_not_connected_exception"


class UnknownWorkerMethodError(WorkerError):
    opensearch_type = "illegal_argument_exception"


class ShardNotHostedError(WorkerError):
    opensearch_type = "shard_not_found_exception"
