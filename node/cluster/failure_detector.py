"""The master's failure detector: direct transport pings, never Raft log entries (DESIGN §4).

While this node leads, it pings every other registered node's transport address once per
``interval``; a node that misses ``failures_before_dead`` pings in a row is reported dead to
the allocation loop (which fails its copies and promotes in-sync replicas through a fenced
Batch). One answered ping makes it live again. A node that is not the leader reports everyone
live: only the master's view matters, and a new master starts by trusting the state it inherits.

Every node answers ``cluster.ping`` (registered by ``register_ping_handler``).
This module must never change the cluster state itself.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

import trio

from node.cluster.held_copies import reported_copies_from_wire
from node.cluster.metadata import ClusterMetadata

PING_METHOD = "cluster.ping"
DEFAULT_INTERVAL_SECONDS = 1.0
DEFAULT_PING_TIMEOUT_SECONDS = 2.0
DEFAULT_FAILURES_BEFORE_DEAD = 3


def register_ping_handler(handlers: Any, node_id: str, metadata: ClusterMetadata,
                          held_copies: Any = None) -> None:
    """Answer the master's pings with our id, applied version and the copies we hold on disk."""
    async def answer_ping(payload: dict, body: bytes) -> tuple[dict, bytes]:
        answer = {"node_id": node_id, "state_version": metadata.version}
        if held_copies is not None:
            answer["held_copies"] = held_copies.to_wire(metadata.state)
        return answer, b""

    handlers.register(PING_METHOD, answer_ping)


class FailureDetector:
    def __init__(self, metadata: ClusterMetadata, peers: Any, self_node_id: str,
                 logger: logging.Logger, held_copies: Any = None,
                 interval_seconds: float = DEFAULT_INTERVAL_SECONDS,
                 ping_timeout_seconds: float = DEFAULT_PING_TIMEOUT_SECONDS,
                 failures_before_dead: int = DEFAULT_FAILURES_BEFORE_DEAD) -> None:
        self.metadata = metadata
        self.peers = peers
        self.self_node_id = self_node_id
        self.logger = logger
        self.interval_seconds = interval_seconds
        self.ping_timeout_seconds = ping_timeout_seconds
        self.failures_before_dead = failures_before_dead
        self.consecutive_failures: dict[str, int] = {}
        self.dead_node_ids: set[str] = set()
        self.held_copies = held_copies              # this node's own record
        self.reported_by_node: dict[str, list] = {}  # node id → ReportedCopy list from its pings
        self.liveness_listeners: list[Callable[[], None]] = []

    def on_liveness_changed(self, listener: Callable[[], None]) -> None:
        """``listener()`` whenever a node is declared dead or answers again."""
        self.liveness_listeners.append(listener)

    def notify(self) -> None:
        for listener in list(self.liveness_listeners):
            listener()

    def live_node_ids(self, state: Any) -> tuple[str, ...]:
        return tuple(node_id for node_id in state.nodes if node_id not in self.dead_node_ids)

    def reported_copies(self, state: Any) -> dict[str, list]:
        """What each live node last said it holds on disk (for restoring lost primaries)."""
        reported = {node_id: copies for node_id, copies in self.reported_by_node.items()
                    if node_id not in self.dead_node_ids}
        if self.held_copies is not None:
            reported[self.self_node_id] = self.held_copies.reported_copies(state)
        return reported

    async def run(self) -> None:
        while True:
            status = self.metadata.status()
            if status.role == "leader":
                await self.ping_everyone()
            elif self.consecutive_failures or self.dead_node_ids:
                self.consecutive_failures.clear()
                self.dead_node_ids.clear()
            await trio.sleep(self.interval_seconds)

    async def ping_everyone(self) -> None:
        nodes = {node_id: info for node_id, info in self.metadata.state.nodes.items()
                 if node_id != self.self_node_id}
        for gone in set(self.consecutive_failures) - set(nodes):
            self.consecutive_failures.pop(gone, None)
            self.dead_node_ids.discard(gone)
            self.reported_by_node.pop(gone, None)
        async with trio.open_nursery() as nursery:
            for node_id, info in nodes.items():
                nursery.start_soon(self.ping_one, node_id, info.transport_address)

    async def ping_one(self, node_id: str, transport_address: str) -> None:
        answered = False
        with trio.move_on_after(self.ping_timeout_seconds):
            try:
                payload, _ = await self.peers.request(transport_address, PING_METHOD, {},
                                                      timeout_seconds=self.ping_timeout_seconds,
                                                      channel="ping")
                answered = payload.get("node_id") == node_id
                if answered:
                    self.reported_by_node[node_id] = reported_copies_from_wire(payload.get("held_copies"))
            except Exception:  # noqa: BLE001 — any failure to answer is a missed ping
                answered = False
        if answered:
            self.consecutive_failures[node_id] = 0
            if node_id in self.dead_node_ids:
                self.dead_node_ids.discard(node_id)
                self.logger.info("node answers pings again", extra={"fields": {"node_id": node_id}})
                self.notify()
            return
        failures = self.consecutive_failures.get(node_id, 0) + 1
        self.consecutive_failures[node_id] = failures
        if failures >= self.failures_before_dead and node_id not in self.dead_node_ids:
            self.dead_node_ids.add(node_id)
            self.logger.warning("node stopped answering pings: treating it as dead", extra={
                "fields": {"node_id": node_id, "missed_pings": failures, "address": transport_address}})
            self.notify()
