"""Bounded admission for user-facing writes and searches: excess is rejected with 429.

Owns ``AdmissionControl``: counts in-flight write requests (and their body bytes) and in-flight
searches, and raises ``RejectedExecutionError`` (429 rejected_execution_exception, the body
clients' retry logic expects) instead of queueing without bound. Limits are dynamic cluster
settings, read on every admission:

    quidditch.write.max_in_flight_requests    default 64
    quidditch.write.max_in_flight_bytes       default 268435456 (256 MiB of bulk bodies)
    quidditch.search.max_in_flight_requests   default 256

Replication and recovery traffic never goes through here (DESIGN §5). It must never block: a
request is admitted at once or rejected at once.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterator

from node.errors import RejectedExecutionError

DEFAULT_MAX_WRITE_REQUESTS = 64
DEFAULT_MAX_WRITE_BYTES = 256 * 1024 * 1024
DEFAULT_MAX_SEARCH_REQUESTS = 256


def _limit(state: Any, key: str, default: int) -> int:
    value = state.setting(key, None) if state is not None else None
    try:
        return int(value) if value is not None else default
    except (TypeError, ValueError):
        return default


class AdmissionControl:
    def __init__(self, metadata: Any) -> None:
        self.metadata = metadata
        self.write_requests = 0
        self.write_bytes = 0
        self.search_requests = 0
        self.rejected_writes = 0
        self.rejected_searches = 0

    @contextmanager
    def write(self, body_bytes: int) -> Iterator[None]:
        state = getattr(self.metadata, "state", None)
        max_requests = _limit(state, "quidditch.write.max_in_flight_requests", DEFAULT_MAX_WRITE_REQUESTS)
        max_bytes = _limit(state, "quidditch.write.max_in_flight_bytes", DEFAULT_MAX_WRITE_BYTES)
        if self.write_requests >= max_requests or (self.write_bytes and self.write_bytes + body_bytes > max_bytes):
            self.rejected_writes += 1
            raise RejectedExecutionError(
                f"rejected execution of coordinating operation [coordinating_and_primary_bytes="
                f"{self.write_bytes}, replica_bytes=0, all_bytes={self.write_bytes}, "
                f"coordinating_operation_bytes={body_bytes}, max_coordinating_and_primary_bytes={max_bytes}, "
                f"in_flight_write_requests={self.write_requests}, max_in_flight_write_requests={max_requests}]")
        self.write_requests += 1
        self.write_bytes += body_bytes
        try:
            yield
        finally:
            self.write_requests -= 1
            self.write_bytes -= body_bytes

    @contextmanager
    def search(self) -> Iterator[None]:
        state = getattr(self.metadata, "state", None)
        max_requests = _limit(state, "quidditch.search.max_in_flight_requests", DEFAULT_MAX_SEARCH_REQUESTS)
        if self.search_requests >= max_requests:
            self.rejected_searches += 1
            raise RejectedExecutionError(
                f"rejected execution of search request: {self.search_requests} searches in flight, the limit "
                f"(quidditch.search.max_in_flight_requests) is {max_requests}")
        self.search_requests += 1
        try:
            yield
        finally:
            self.search_requests -= 1
