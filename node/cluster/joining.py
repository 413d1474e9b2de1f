"""Joining through a member's transport port: how a node started with ``--join`` learns the voters.

Every node answers ``cluster.join_info`` on its authenticated transport with the cluster name,
the cluster uuid and the voters' Raft addresses (the list its own Raft adapter was built with:
``--seed-hosts`` on a voter, the answer it got itself on a node that joined this way). A joining
node calls ``discover_voters`` BEFORE its Raft adapter exists (the adapter is built on the main
thread, DESIGN §8, so discovery runs in a short ``trio.run`` of its own), then starts Raft as a
read-only non-voter with those addresses and registers like any other node (membership.py).

Frames are HMAC-authenticated with the cluster secret, so a node with the wrong secret never gets
an answer: the member drops the connection at the first frame, which the joiner reports as
"cannot reach" naming the secret as one possible cause.

This module must never change the cluster state nor construct the Raft adapter.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import trio

from node.cluster.errors import ClusterError
from node.transport.server import PeerConnections

JOIN_INFO_METHOD = "cluster.join_info"
JOIN_REQUEST_TIMEOUT_SECONDS = 5.0
DISCOVERY_RETRY_INITIAL_SECONDS = 0.2
DISCOVERY_RETRY_MAX_SECONDS = 2.0
# A joiner started before its members keeps trying for this long, then exits non-zero (a
# supervisor restarts it); forever would hide a wrong address or secret behind a silent hang.
DEFAULT_DISCOVERY_TIMEOUT_SECONDS = 120.0


class JoinDiscoveryError(ClusterError):
    """No member answered ``cluster.join_info``, or the one that did belongs to another cluster."""

    opensearch_type = "discovery_exception"


@dataclass(frozen=True, slots=True)
class JoinInfo:
    """What a member told a joining node."""

    member_address: str                 # the transport address that answered
    cluster_name: str
    cluster_uuid: str
    voter_raft_addresses: tuple[str, ...]


def register_join_info_handler(handlers: Any, cluster_name: str, metadata: Any) -> None:
    """Answer ``cluster.join_info`` with what a joiner needs to start its Raft adapter."""

    async def answer_join_info(payload: dict, body: bytes) -> tuple[dict, bytes]:
        adapter_config = getattr(metadata.adapter, "config", None)
        voters = list(getattr(adapter_config, "voter_addresses", ()) or ())
        return {"cluster_name": cluster_name, "cluster_uuid": metadata.state.cluster_uuid,
                "voter_raft_addresses": voters}, b""

    handlers.register(JOIN_INFO_METHOD, answer_join_info)


def join_info_from_answer(member_address: str, payload: dict, expected_cluster_name: str) -> JoinInfo:
    """Validate a member's answer; raises JoinDiscoveryError naming the field when it is unusable."""
    cluster_name = payload.get("cluster_name")
    if cluster_name != expected_cluster_name:
        raise JoinDiscoveryError(
            f"member {member_address} belongs to cluster [{cluster_name}], expected "
            f"[{expected_cluster_name}] (--cluster-name)")
    voters = payload.get("voter_raft_addresses")
    if not isinstance(voters, list) or not voters or not all(isinstance(v, str) and v for v in voters):
        raise JoinDiscoveryError(
            f"member {member_address} answered voter_raft_addresses {voters!r}, expected a "
            f"non-empty list of host:port")
    return JoinInfo(member_address=member_address, cluster_name=str(cluster_name),
                    cluster_uuid=str(payload.get("cluster_uuid") or ""),
                    voter_raft_addresses=tuple(voters))


async def ask_member(peers: Any, member_address: str, cluster_name: str) -> JoinInfo:
    payload, _ = await peers.request(member_address, JOIN_INFO_METHOD, {"cluster_name": cluster_name},
                                     timeout_seconds=JOIN_REQUEST_TIMEOUT_SECONDS)
    return join_info_from_answer(member_address, payload, cluster_name)


async def discover_voters(member_addresses: tuple[str, ...], secret: bytes, cluster_name: str,
                          logger: logging.Logger,
                          timeout_seconds: float = DEFAULT_DISCOVERY_TIMEOUT_SECONDS) -> JoinInfo:
    """Ask each member in turn (round robin, with back-off) until one answers. A member of another
    cluster is a configuration error and fails at once; an unreachable one is retried until
    ``timeout_seconds`` pass, then JoinDiscoveryError lists the last error per address."""
    if not member_addresses:
        raise JoinDiscoveryError("--join: expected at least one member transport address, got none")
    last_errors: dict[str, str] = {}
    found: list[JoinInfo] = []
    refused: list[JoinDiscoveryError] = []
    async with trio.open_nursery() as nursery:
        # the nursery only hosts the connections' reader tasks: results and errors are carried
        # out of it by hand, so the caller sees a JoinDiscoveryError, not an exception group
        peers = PeerConnections(secret, nursery, logger)
        with trio.move_on_after(timeout_seconds):
            await ask_until_answered(peers, member_addresses, cluster_name, logger, last_errors,
                                     found, refused)
        await peers.aclose()
        nursery.cancel_scope.cancel()
    if refused:
        raise refused[0]
    if found:
        return found[0]
    details = "; ".join(f"{address}: {reason}" for address, reason in last_errors.items())
    raise JoinDiscoveryError(
        f"--join: no member answered within {timeout_seconds:g}s ({details}); check the "
        f"addresses are members' transport ports and --cluster-secret-file is the cluster's secret")


async def ask_until_answered(peers: Any, member_addresses: tuple[str, ...], cluster_name: str,
                             logger: logging.Logger, last_errors: dict[str, str],
                             found: list[JoinInfo], refused: list[JoinDiscoveryError]) -> None:
    delay = DISCOVERY_RETRY_INITIAL_SECONDS
    while True:
        for member_address in member_addresses:
            try:
                info = await ask_member(peers, member_address, cluster_name)
            except JoinDiscoveryError as error:
                refused.append(error)
                return
            except Exception as error:  # noqa: BLE001 — unreachable: try the next one
                last_errors[member_address] = str(error) or type(error).__name__
                continue
            logger.info("learned the voters from a member", extra={"fields": {
                "member": member_address, "voters": list(info.voter_raft_addresses),
                "cluster_uuid": info.cluster_uuid}})
            found.append(info)
            return
        logger.info("no member answered the join request yet: retrying", extra={
            "fields": {"errors": dict(last_errors)}})
        await trio.sleep(delay)
        delay = min(delay * 2, DISCOVERY_RETRY_MAX_SECONDS)
