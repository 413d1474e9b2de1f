"""``GET|POST /_cluster/allocation/explain``: why a shard copy is where it is, or why it is unassigned.

Owns the OpenSearch response shapes: for an assigned copy its ``current_state`` and
``current_node`` (the balancer's rebalancing is not explained: ``can_rebalance_cluster`` says what
``cluster.routing.rebalance`` allows); for an unassigned copy its ``unassigned_info`` (reason,
``failed_allocation_attempts``), ``can_allocate`` and one decision per node, from
``raft.allocation.explain_unassigned_copy`` — the allocator's own rules. An empty body explains
the first unassigned copy (400 when there is none, as OpenSearch answers).

Liveness and disk are the master's figures (its failure detector's), fetched from it whichever
node is asked (``master_allocation_inputs``); an assigned copy that the allocator would move off
(``raft.allocation.remain_rejections``: filters, the high watermark, total_shards_per_node,
awareness) is ``can_remain_on_current_node: no``.
Without a reachable master the explanation leaves those two deciders out.

This module must never change the state.
"""

from __future__ import annotations

import datetime
from typing import Any

from raft.allocation import explain_unassigned_copy, remain_rejections
from raft.deciders import DiskUsage

from node.api import params, read_json_body, respond
from node.cluster.failure_detector import master_allocation_inputs
from node.coordination.health import master_node_id
from node.errors import IllegalArgumentError, RequestParsingError

_BODY_KEYS = ("index", "shard", "primary", "current_node")


def _node_view(state: Any, node_id: str) -> dict[str, Any]:
    node = state.nodes.get(node_id)
    if node is None:
        return {"id": node_id}
    return {"id": node_id, "name": node.name, "transport_address": node.transport_address,
            "attributes": dict(node.attributes)}


def _first_unassigned(state: Any) -> tuple[str, int, bool]:
    for index_name in sorted(state.routing_table):
        for shard in state.routing_table[index_name]:
            for shard_copy in shard.copies:
                if not shard_copy.assigned:
                    return index_name, shard.shard_number, shard_copy.primary
    raise IllegalArgumentError("unable to find any unassigned shards to explain "
                               "[ClusterAllocationExplainRequest[useAnyUnassignedShard=true,"
                               "includeYesDecisions?=false]")


def _wanted_copy(state: Any, body: Any) -> tuple[str, int, bool, str | None]:
    if not body:
        return (*_first_unassigned(state), None)
    if not isinstance(body, dict):
        raise RequestParsingError("request body must be an object")
    unknown = sorted(set(body) - set(_BODY_KEYS))
    if unknown:
        raise RequestParsingError(f"[cluster/allocation/explain] unknown field [{unknown[0]}]")
    missing = [key for key in ("index", "shard", "primary") if body.get(key) is None]
    if missing:
        raise IllegalArgumentError(f"No shard was specified in the explain API request; specify index, shard and "
                                   f"primary (missing {', '.join(missing)}), or send an empty body to explain the "
                                   f"first unassigned shard")
    shard_number = body["shard"]
    if isinstance(shard_number, str) and shard_number.isdigit():
        shard_number = int(shard_number)
    if not isinstance(shard_number, int) or isinstance(shard_number, bool) or not isinstance(body["primary"], bool):
        raise RequestParsingError("[shard] must be a number and [primary] a boolean")
    return str(body["index"]), shard_number, body["primary"], body.get("current_node")


def _disk_info(state: Any, disk_usage: dict[str, DiskUsage] | None) -> dict[str, Any]:
    """``cluster_info`` of ``include_disk_info``: each node's one data path as both its least and
    most available (the path itself is not reported by the nodes, so it is left out)."""
    nodes: dict[str, Any] = {}
    for node_id, node in sorted(state.nodes.items()):
        entry: dict[str, Any] = {"node_name": node.name}
        usage = (disk_usage or {}).get(node_id)
        if usage is not None:
            figures = {"total_bytes": usage.total_bytes, "used_bytes": usage.total_bytes - usage.available_bytes,
                       "free_bytes": usage.available_bytes, "free_disk_percent": round(usage.free_percent, 1),
                       "used_disk_percent": round(usage.used_percent, 1)}
            entry["least_available"] = dict(figures)
            entry["most_available"] = dict(figures)
        nodes[node_id] = entry
    return {"nodes": nodes, "shard_sizes": {}, "shard_paths": {}}


def register(app: Any, services: Any) -> None:
    @app.route("/_cluster/allocation/explain", methods=["GET", "POST"])
    async def allocation_explain() -> Any:
        query = params()
        state = services.state
        index_name, shard_number, primary, current_node = _wanted_copy(state, await read_json_body(required=False))
        if index_name not in state.indices:
            raise IllegalArgumentError(f"unable to find any shards to explain [{index_name}][{shard_number}]: "
                                       f"no such index")
        shards = state.routing_table.get(index_name, ())
        if not 0 <= shard_number < len(shards):
            raise IllegalArgumentError(f"unable to find any shards to explain [{index_name}][{shard_number}]")
        shard = shards[shard_number]
        candidates = [copy for copy in shard.copies if copy.primary == primary]
        if current_node is not None:
            candidates = [copy for copy in candidates if copy.node_id is not None and
                          current_node in (copy.node_id, getattr(state.nodes.get(copy.node_id), "name", None))]
            if not candidates:
                raise IllegalArgumentError(f"unable to find a shard assigned to node [{current_node}]")
        # an assigned copy first (OpenSearch explains the one the request names, else any)
        chosen = next((copy for copy in candidates if copy.assigned), candidates[0] if candidates else None)
        if chosen is None:
            raise IllegalArgumentError(f"unable to find any shards to explain [{index_name}][{shard_number}] "
                                       f"[primary={str(primary).lower()}]")
        context = services.context
        master = master_node_id(state, context.metadata.status())
        inputs = await master_allocation_inputs(
            context.transport_handlers, context.peers,
            getattr(state.nodes.get(master), "transport_address", None) if master else None,
            is_self=master == context.node_id)
        body: dict[str, Any] = {"index": index_name, "shard": shard_number, "primary": primary,
                                "current_state": chosen.state.lower()}
        if chosen.assigned:
            body["current_node"] = {**_node_view(state, chosen.node_id), "weight_ranking": 1}
            rebalance = str(state.setting("cluster.routing.rebalance.enable", "all")).lower()
            remain = [{"decider": decider, "decision": "NO", "explanation": explanation}
                      for decider, explanation in remain_rejections(state, shard, chosen, inputs.disk_usage)]
            body["can_remain_on_current_node"] = "no" if remain else "yes"
            if remain:
                body["can_remain_decisions"] = remain
            body["can_rebalance_cluster"] = "no" if rebalance == "none" else "yes"
            body["can_rebalance_to_other_node"] = "no"
            body["rebalance_explanation"] = ("cannot rebalance as no target node exists that can both allocate this "
                                             "shard and improve the cluster balance")
        else:
            live = tuple(node_id for node_id in state.nodes if node_id not in inputs.dead_node_ids)
            can_allocate, explanation, decisions = explain_unassigned_copy(state, index_name, shard_number, primary,
                                                                           live, inputs.disk_usage)
            unassigned_info: dict[str, Any] = {"reason": chosen.unassigned_reason or "INDEX_CREATED"}
            if chosen.unassigned_reason in (None, "INDEX_CREATED"):
                created = state.indices[index_name].creation_date
                unassigned_info["at"] = datetime.datetime.fromtimestamp(
                    created / 1000, tz=datetime.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            if chosen.failed_allocations:
                unassigned_info["failed_allocation_attempts"] = chosen.failed_allocations
            unassigned_info["last_allocation_status"] = "no_valid_shard_copy" if can_allocate == "no_valid_shard_copy" \
                else "no_attempt" if can_allocate == "yes" else "no"
            body["unassigned_info"] = unassigned_info
            body["can_allocate"] = can_allocate
            body["allocate_explanation"] = explanation
            include_yes = query.get("include_yes_decisions") in ("true", "")
            body["node_allocation_decisions"] = [{
                "node_id": decision.node_id,
                "node_name": getattr(state.nodes.get(decision.node_id), "name", decision.node_id),
                "transport_address": getattr(state.nodes.get(decision.node_id), "transport_address", None),
                "node_attributes": dict(getattr(state.nodes.get(decision.node_id), "attributes", {}) or {}),
                "node_decision": decision.decision,
                "weight_ranking": rank,
                **({"deciders": [{"decider": name, "decision": verdict, "explanation": text}
                                 for name, verdict, text in decision.deciders
                                 if include_yes or verdict != "YES"]} if decision.deciders else {}),
            } for rank, decision in enumerate(decisions, start=1)]
        if query.get("include_disk_info") in ("true", ""):
            body["cluster_info"] = _disk_info(state, inputs.disk_usage)
        return respond(body)
