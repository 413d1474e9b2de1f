"""Joining: bootstrap the cluster once, then register this node in the cluster state.

On start every node waits for Raft to know a leader; if the state is not bootstrapped yet
(cluster_uuid ``_na_``) a voter submits ``BootstrapCluster`` with a fresh uuid (several voters
may race: the first commit wins, the rest are rejected duplicates and change nothing). Then the
node submits ``RegisterNode`` unless the state already holds an identical entry. Both retry with
back-off until they succeed or the node stops — an unknown outcome is simply retried with the
same command id, which raft/ deduplicates. Afterwards the node keeps watching: if the master
deregistered it (it missed its pings), it registers again (``stay_registered``).

This module must never allocate shards or decide node liveness (master.py).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import trio

from node.cluster.errors import ClusterError
from node.cluster.metadata import ClusterMetadata
from raft.commands import BootstrapCluster, RegisterNode
from raft.state import UNBOOTSTRAPPED_CLUSTER_UUID, NodeInfo

RETRY_INITIAL_SECONDS = 0.1
RETRY_MAX_SECONDS = 2.0
# how often a registered node checks that the master has not deregistered it
REREGISTER_CHECK_SECONDS = 1.0


async def submit_until_committed(metadata: ClusterMetadata, command: Any, logger: logging.Logger,
                                 what: str) -> Any:
    delay = RETRY_INITIAL_SECONDS
    while True:
        try:
            return await metadata.submit(command)
        except ClusterError as error:
            logger.info(f"{what}: retrying", extra={"fields": {"reason": error.reason}})
        await trio.sleep(delay)
        delay = min(delay * 2, RETRY_MAX_SECONDS)


async def wait_for_leader(metadata: ClusterMetadata) -> None:
    delay = RETRY_INITIAL_SECONDS
    while True:
        status = metadata.status()
        if status.is_ready and status.leader_address:
            return
        await trio.sleep(delay)
        delay = min(delay * 2, RETRY_MAX_SECONDS / 4)


async def join_cluster(metadata: ClusterMetadata, node_info: NodeInfo, is_voter: bool,
                       logger: logging.Logger,
                       task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
    """Bootstrap if needed and register ``node_info``; started() once this node is in the state."""
    await wait_for_leader(metadata)
    if is_voter and metadata.state.cluster_uuid == UNBOOTSTRAPPED_CLUSTER_UUID:
        command = BootstrapCluster(cluster_uuid=uuid.uuid4().hex[:22])
        outcome = await submit_until_committed(metadata, command, logger, "bootstrapping the cluster")
        if getattr(outcome, "accepted", False):
            logger.info("cluster bootstrapped", extra={"fields": {"cluster_uuid": command.cluster_uuid}})
    registered = metadata.state.nodes.get(node_info.node_id)
    if registered != node_info:
        command = RegisterNode(node=node_info)
        outcome = await submit_until_committed(metadata, command, logger, "registering this node")
        if getattr(outcome, "accepted", False):
            logger.info("node registered in the cluster state", extra={"fields": {"node_id": node_info.node_id}})
        elif not getattr(outcome, "duplicate", False):
            logger.error("the cluster refused to register this node", extra={"fields": {
                "error_type": getattr(outcome, "error_type", None), "reason": getattr(outcome, "reason", None)}})
    task_status.started()
    await stay_registered(metadata, node_info, logger)


async def stay_registered(metadata: ClusterMetadata, node_info: NodeInfo, logger: logging.Logger) -> None:
    """Forever: whenever the applied state no longer lists this node (the master deregistered it
    after it missed its pings — a pause or a healed partition), register it again."""
    while True:
        await trio.sleep(REREGISTER_CHECK_SECONDS)
        state = metadata.state
        if state.cluster_uuid == UNBOOTSTRAPPED_CLUSTER_UUID or node_info.node_id in state.nodes:
            continue
        logger.info("this node is no longer in the cluster state: registering again",
                    extra={"fields": {"node_id": node_info.node_id}})
        await submit_until_committed(metadata, RegisterNode(node=node_info), logger, "registering this node again")

