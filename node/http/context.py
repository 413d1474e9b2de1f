"""``NodeContext``: the one object the API layer receives (docs/contracts.md §8).

It only groups the node's services; it must never grow behaviour of its own.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import trio

    from node.cluster.metadata import ClusterMetadata
    from node.config import NodeConfig
    from node.metrics import NodeMetrics
    from node.transport.server import PeerConnections, TransportHandlers
    from node.workers.pool import ShardWorkers


@dataclass(frozen=True, slots=True)
class NodeContext:
    config: NodeConfig
    node_id: str                 # stable across restarts: persisted in <data>/node_id
    node_name: str
    cluster_name: str
    started_at_millis: int
    metadata: ClusterMetadata    # latest applied cluster state, submit(), wait_for_version()
    workers: ShardWorkers        # call()/broadcast() to the shard worker processes
    metrics: NodeMetrics
    logger: logging.Logger
    background: trio.Nursery     # the node's nursery, for long-lived API-layer tasks
    transport_handlers: TransportHandlers   # register(method, async (payload, body) -> (payload, body))
    peers: PeerConnections       # await peers.request("host:port", method, payload, body)
