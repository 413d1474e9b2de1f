"""Joining: bootstrap the cluster once, then register this node in the cluster state.

On start every node waits for Raft to know a leader; if the state is not bootstrapped yet
(cluster_uuid ``_na_``) a voter submits ``BootstrapCluster`` with a fresh uuid (several voters
may race: the first commit wins, the rest are rejected duplicates and change nothing). Then the
node submits ``RegisterNode`` unless the state already holds an identical entry. Both retry with
back-off until they succeed or the node stops — an unknown outcome is simply retried with the
same command id, which raft/ deduplicates. Afterwards the node keeps watching: if the master
deregistered it (it missed its pings), it registers again (``stay_registered``) — unless it is
leaving.

Leaving (``leave_cluster``, a non-voter's graceful shutdown): the node stops re-registering,
submits ``DeregisterNode`` for itself, and waits (bounded) until the master has failed every copy
assigned to it — in-sync replicas elsewhere are promoted exactly as after a crash, but at once
instead of after missed pings — before its shards are closed. This is OpenSearch's "node left":
copies are not moved away first; drain a node with ``exclude._name`` to keep its redundancy.

This module must never allocate shards or decide node liveness (master.py).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import trio

from node.cluster.errors import ClusterError
from node.cluster.metadata import ClusterMetadata
from raft.commands import BootstrapCluster, DeregisterNode, RegisterNode
from raft.state import UNBOOTSTRAPPED_CLUSTER_UUID, NodeInfo

RETRY_INITIAL_SECONDS = 0.1
RETRY_MAX_SECONDS = 2.0
# how often a registered node checks that the master has not deregistered it
REREGISTER_CHECK_SECONDS = 1.0
# leaving: how long to try to commit the deregistration, then to wait for the master to fail
# this node's copies (beyond it the node stops anyway; the master's pings notice it is gone)
LEAVE_SUBMIT_TIMEOUT_SECONDS = 5.0
LEAVE_COPIES_TIMEOUT_SECONDS = 10.0


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
                       task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED,
                       leaving: trio.Event | None = None) -> None:
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
    await stay_registered(metadata, node_info, logger, leaving)


async def stay_registered(metadata: ClusterMetadata, node_info: NodeInfo, logger: logging.Logger,
                          leaving: trio.Event | None = None) -> None:
    """Until ``leaving`` is set: whenever the applied state no longer lists this node (the master
    deregistered it after it missed its pings — a pause or a healed partition), register it again."""
    while True:
        if leaving is None:
            await trio.sleep(REREGISTER_CHECK_SECONDS)
        else:
            with trio.move_on_after(REREGISTER_CHECK_SECONDS):
                await leaving.wait()
            if leaving.is_set():
                return
        state = metadata.state
        if state.cluster_uuid == UNBOOTSTRAPPED_CLUSTER_UUID or node_info.node_id in state.nodes:
            continue
        logger.info("this node is no longer in the cluster state: registering again",
                    extra={"fields": {"node_id": node_info.node_id}})
        await submit_until_committed(metadata, RegisterNode(node=node_info), logger, "registering this node again")



def copies_assigned_to(state: Any, node_id: str) -> int:
    return sum(1 for shards in state.routing_table.values() for shard in shards
               for shard_copy in shard.copies if shard_copy.node_id == node_id)


async def leave_cluster(metadata: ClusterMetadata, node_id: str, logger: logging.Logger,
                        submit_timeout_seconds: float = LEAVE_SUBMIT_TIMEOUT_SECONDS,
                        copies_timeout_seconds: float = LEAVE_COPIES_TIMEOUT_SECONDS) -> bool:
    """Deregister this node and wait until no shard copy is assigned to it. Returns True when both
    happened in time. The caller must have set the ``leaving`` event of ``join_cluster`` first,
    or the node would register itself again."""
    if node_id not in metadata.state.nodes:
        logger.info("leaving the cluster: this node is not registered")
        return copies_assigned_to(metadata.state, node_id) == 0
    command = DeregisterNode(node_id=node_id)
    committed = False
    with trio.move_on_after(submit_timeout_seconds + 1.0):
        while not committed:
            try:
                outcome = await metadata.submit(command, timeout_seconds=submit_timeout_seconds)
                # rejected = already unknown to the state (a repeat of our own command): gone either way
                committed = True
                logger.info("left the cluster: deregistered", extra={"fields": {
                    "node_id": node_id, "accepted": getattr(outcome, "accepted", False)}})
            except ClusterError as error:
                logger.info("leaving the cluster: retrying the deregistration",
                            extra={"fields": {"reason": error.reason}})
                await trio.sleep(RETRY_INITIAL_SECONDS)
    if not committed:
        logger.warning("leaving the cluster: the deregistration was not committed in time; the "
                       "master will notice by missed pings")
        return False
    with trio.move_on_after(copies_timeout_seconds):
        while copies_assigned_to(metadata.state, node_id):
            await metadata.wait_for_version(metadata.version + 1, copies_timeout_seconds + 1.0)
        return True
    logger.warning("leaving the cluster: copies still assigned to this node after the wait",
                   extra={"fields": {"copies": copies_assigned_to(metadata.state, node_id)}})
    return False
