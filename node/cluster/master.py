"""The master's allocation loop: while this node leads Raft, allocate unassigned shard copies.

After every applied state (and once a second) the leader asks raft/'s pure
``allocation_decisions`` what to do and submits the answer as ONE ``Batch`` fenced with its Raft
term and the state version it decided on, so a stale or deposed master's decision is rejected
rather than applied on top of a newer state (DESIGN §4, §10).

Liveness comes from failure_detector.py (direct transport pings by the leader); without a
detector every registered node counts as live.

A node the detector declares dead is deregistered (``DeregisterNode``, in its own fenced Batch)
once no copy is assigned to it any more, so health stops counting it; the node registers itself
again when it sees it is missing (membership.stay_registered).

This module must never change the state except through that fenced Batch.
"""

from __future__ import annotations

import importlib
import logging
import uuid
from typing import Any

import trio

from node.cluster.errors import ClusterError
from node.cluster.metadata import ClusterMetadata
from raft.allocation import auto_expanded_replicas
from raft.commands import Batch, DeregisterNode, UpdateIndexSettings
from raft.deciders import FLOOD_STAGE_BLOCK, flood_stage_block_changes

TICK_SECONDS = 1.0


def load_allocation_decisions(logger: logging.Logger) -> Any:
    try:
        module = importlib.import_module("raft.allocation")
    except ModuleNotFoundError as error:
        if error.name != "raft.allocation":
            raise
        logger.warning("raft.allocation is missing: shards will not be allocated")
        return None
    return module.allocation_decisions


def new_allocation_id() -> str:
    return uuid.uuid4().hex[:22]


def flood_stage_commands(state: Any, disk_usage: Any) -> list[Any]:
    """The flood-stage block (``index.blocks.read_only_allow_delete``) on every index with a copy
    on a node at or above the flood-stage watermark, and its release once no copy of a blocked
    index is on a node above the high watermark (raft.deciders.flood_stage_block_changes)."""
    to_block, to_release = flood_stage_block_changes(state, disk_usage)
    commands = []
    if to_block:
        commands.append(UpdateIndexSettings(index_names=to_block, settings={FLOOD_STAGE_BLOCK: "true"}))
    if to_release:
        commands.append(UpdateIndexSettings(index_names=to_release, settings={FLOOD_STAGE_BLOCK: None}))
    return commands


def departed_node_commands(state: Any, dead_node_ids: Any) -> list[Any]:
    """DeregisterNode for every dead node still registered that no shard copy is assigned to."""
    assigned = {shard_copy.node_id for shards in state.routing_table.values() for shard in shards
                for shard_copy in shard.copies if shard_copy.node_id is not None}
    return [DeregisterNode(node_id=node_id) for node_id in sorted(dead_node_ids)
            if node_id in state.nodes and node_id not in assigned]


async def run_allocation_loop(metadata: ClusterMetadata, logger: logging.Logger,
                              failure_detector: Any = None) -> None:
    allocation_decisions = load_allocation_decisions(logger)
    if allocation_decisions is None:
        return
    changed = trio.Event()

    def on_change(previous: Any, new_state: Any) -> None:
        changed.set()

    metadata.on_state_applied(on_change)
    if failure_detector is not None:
        failure_detector.on_liveness_changed(lambda: changed.set())
    while True:
        with trio.move_on_after(TICK_SECONDS):
            await changed.wait()
        changed = trio.Event()
        status = metadata.status()
        if status.role != "leader" or not status.has_quorum:
            continue
        state = metadata.state
        if state.cluster_uuid == "_na_":
            continue
        try:
            # replicas an index's auto_expand_replicas wants go first and alone: the next round
            # allocates against the resized routing table
            commands = auto_expanded_replicas(state)
            if not commands and failure_detector is not None:
                disk_usage = failure_detector.disk_usage(state)
                commands = allocation_decisions(state, failure_detector.live_node_ids(state),
                                                new_allocation_id, failure_detector.reported_copies(state),
                                                failure_detector.nodes_awaiting_report(state), disk_usage)
                blocks = flood_stage_commands(state, disk_usage)
                if blocks:
                    logger.warning("disk flood stage: index write blocks change", extra={"fields": {
                        "commands": [{"indices": list(command.index_names),
                                      FLOOD_STAGE_BLOCK: command.settings[FLOOD_STAGE_BLOCK]} for command in blocks]}})
                    commands = [*commands, *blocks]
            elif not commands:
                commands = allocation_decisions(state, tuple(state.nodes), new_allocation_id)
        except Exception:  # noqa: BLE001 — a decision bug must not kill the node; retried next tick
            logger.error("allocation decisions failed", exc_info=True)
            continue
        if failure_detector is not None and not commands:
            # only once their copies are failed (an earlier batch): a dead node leaves the registry
            # so _cluster/health and _cat/nodes stop counting it; it registers again on return
            commands = departed_node_commands(state, failure_detector.dead_node_ids)
        if not commands:
            continue
        batch = Batch(commands=tuple(commands), expected_term=status.raft_term,
                      expected_state_version=state.version)
        try:
            outcome = await metadata.submit(batch)
        except ClusterError as error:
            logger.info("allocation batch not committed", extra={"fields": {"reason": error.reason}})
            continue
        if not getattr(outcome, "accepted", False):
            logger.info("allocation batch rejected", extra={"fields": {
                "error_type": getattr(outcome, "error_type", None), "reason": getattr(outcome, "reason", None)}})
        else:
            logger.info("allocated shard copies", extra={"fields": {
                "commands": len(commands), "state_version": outcome.state_version}})
