"""``POST /_cluster/reroute``: the operator's explicit allocation commands (OpenSearch's shapes).

Owns parsing the five commands — ``move``, ``cancel``, ``allocate_replica``,
``allocate_stale_primary`` and ``allocate_empty_primary`` — into raft commands, checking each
against the state the earlier ones leave (``raft.apply`` on a scratch copy: a command the state
machine would refuse is a NO decision), and committing them as one ``Batch``; ``retry_failed``
clears every count of failed allocations first (``index.allocation.max_retries``); ``dry_run``
answers the state the commands would make without committing; ``explain`` answers one
explanation per command and turns a refused command into a NO decision instead of a 400.

Forcing a primary is the only way a shard that lost every in-sync copy becomes writable again
(DESIGN §10): both primary commands require ``accept_data_loss: true``; a stale primary must be a
node that reports holding data of that shard (asked over the transport, as the master's pings
do). The state records the term at which data loss was accepted, so every copy discards what it
wrote before it (node/coordination/shards.py).

This module must never change the state except through ``services.submit``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from raft import commands as c
from raft.apply import apply

from node.api import params, read_json_body, respond
from node.api.cluster import cluster_state_body
from node.cluster.master import new_allocation_id
from node.errors import ApiError, IllegalArgumentError, RequestParsingError

# what the response's state holds unless ``metric`` says otherwise: every part but the metadata
# (OpenSearch's RestClusterRerouteAction default)
DEFAULT_RESPONSE_METRICS = frozenset({"version", "master_node", "cluster_manager_node", "blocks", "nodes",
                                      "routing_table", "routing_nodes"})
HELD_COPIES_TIMEOUT_SECONDS = 5.0

_COMMAND_PARAMETERS: dict[str, tuple[str, ...]] = {
    "move": ("index", "shard", "from_node", "to_node"),
    "cancel": ("index", "shard", "node", "allow_primary"),
    "allocate_replica": ("index", "shard", "node"),
    "allocate_stale_primary": ("index", "shard", "node", "accept_data_loss"),
    "allocate_empty_primary": ("index", "shard", "node", "accept_data_loss"),
}
_DECIDERS = {
    "move": "move_allocation_command",
    "cancel": "cancel_allocation_command",
    "allocate_replica": "allocate_replica_allocation_command",
    "allocate_stale_primary": "allocate_stale_primary_allocation_command",
    "allocate_empty_primary": "allocate_empty_primary_allocation_command",
}


class RerouteRefusal(Exception):
    """One command cannot be carried out on the state it meets: a NO decision, or a 400."""


@dataclass(frozen=True)
class RerouteCommand:
    name: str
    parameters: dict[str, Any]


def parse_reroute_commands(body: Any) -> list[RerouteCommand]:
    """The body's ``commands`` (each ``{name: {parameters}}``); unknown names, unknown or missing
    parameters are 400 parse errors as OpenSearch reports them."""
    if body is None:
        return []
    if not isinstance(body, dict):
        raise RequestParsingError("request body must be an object")
    unknown = sorted(set(body) - {"commands", "dry_run"})
    if unknown:
        raise RequestParsingError(f"[cluster_reroute] unknown field [{unknown[0]}]")
    raw_commands = body.get("commands") or []
    if not isinstance(raw_commands, list):
        raise RequestParsingError("[cluster_reroute] [commands] must be an array")
    parsed = []
    for raw in raw_commands:
        if not isinstance(raw, dict) or len(raw) != 1:
            raise RequestParsingError("each reroute command must be an object with one command name")
        name, parameters = next(iter(raw.items()))
        if name not in _COMMAND_PARAMETERS:
            raise RequestParsingError(f"unknown allocation command [{name}]")
        if not isinstance(parameters, dict):
            raise RequestParsingError(f"[{name}] must be an object")
        allowed = _COMMAND_PARAMETERS[name]
        extra = sorted(set(parameters) - set(allowed))
        if extra:
            raise RequestParsingError(f"[{name}] command does not support field [{extra[0]}]")
        normalized: dict[str, Any] = {}
        for key in allowed:
            if key in ("allow_primary", "accept_data_loss"):
                value = parameters.get(key, False)
                if not isinstance(value, bool):
                    raise RequestParsingError(f"[{name}] [{key}] must be a boolean, got [{value}]")
                normalized[key] = value
            elif key == "shard":
                value = parameters.get(key)
                if isinstance(value, str) and value.lstrip("-").isdigit():
                    value = int(value)
                if not isinstance(value, int) or isinstance(value, bool):
                    raise RequestParsingError(f"[{name}] command missing the shard parameter"
                                              if value is None else f"[{name}] [shard] must be a number")
                normalized[key] = value
            else:
                value = parameters.get(key)
                if not isinstance(value, str) or not value:
                    raise RequestParsingError(f"[{name}] command missing the {key} parameter")
                normalized[key] = value
        parsed.append(RerouteCommand(name, normalized))
    return parsed


def resolve_node_id(state: Any, node: str) -> str:
    """A node named by id or by name (OpenSearch resolves both)."""
    if node in state.nodes:
        return node
    for node_id, info in state.nodes.items():
        if info.name == node:
            return node_id
    raise RerouteRefusal(f"failed to resolve [{node}], no matching nodes")


def _shard(state: Any, command: RerouteCommand) -> Any:
    index_name, shard_number = command.parameters["index"], command.parameters["shard"]
    if index_name not in state.indices:
        raise RerouteRefusal(f"[{command.name}] no such index [{index_name}]")
    shards = state.routing_table.get(index_name, ())
    if not 0 <= shard_number < len(shards):
        raise RerouteRefusal(f"[{command.name}] failed to find [{index_name}][{shard_number}]: no such shard")
    return shards[shard_number]


def to_raft_command(state: Any, command: RerouteCommand, new_allocation_id: Callable[[], str],
                    nodes_holding_data: Callable[[str, int], frozenset[str]]) -> c.Command:
    """The raft command that carries out ``command`` on ``state``; RerouteRefusal says why not."""
    parameters = command.parameters
    shard = _shard(state, command)
    label = f"[{parameters['index']}][{parameters['shard']}]"
    if command.name == "move":
        from_node = resolve_node_id(state, parameters["from_node"])
        to_node = resolve_node_id(state, parameters["to_node"])
        moving = next((copy for copy in shard.copies if copy.node_id == from_node and copy.assigned), None)
        if moving is None:
            raise RerouteRefusal(f"[move_allocation] can't move {label}, failed to find it on node [{from_node}]")
        if moving.state != "STARTED":
            raise RerouteRefusal(f"[move_allocation] can't move {label}, shard is not started (state = {moving.state})")
        return c.RelocateCopy(index_name=shard.index_name, shard_number=shard.shard_number,
                              allocation_id=moving.allocation_id, target_node_id=to_node,
                              target_allocation_id=new_allocation_id())
    if command.name == "cancel":
        node_id = resolve_node_id(state, parameters["node"])
        cancelled = next((copy for copy in shard.copies if copy.node_id == node_id and copy.assigned), None)
        if cancelled is None:
            raise RerouteRefusal(f"[cancel_allocation] can't cancel {parameters['shard']}, failed to find it on "
                                 f"node [{node_id}]")
        if cancelled.primary and not parameters["allow_primary"]:
            raise RerouteRefusal(f"[cancel_allocation] can't cancel {parameters['shard']} on node [{node_id}], shard "
                                 f"is primary and {cancelled.state.lower()}")
        if cancelled.state == "RELOCATING":
            raise RerouteRefusal(f"[cancel_allocation] can't cancel {parameters['shard']} on node [{node_id}]: it is "
                                 f"the source of a relocation; cancel its target copy instead")
        return c.FailCopy(index_name=shard.index_name, shard_number=shard.shard_number,
                          allocation_id=cancelled.allocation_id, reason="REROUTE_CANCELLED")
    node_id = resolve_node_id(state, parameters["node"])
    if command.name == "allocate_replica":
        if not any(not copy.primary and not copy.assigned for copy in shard.copies):
            raise RerouteRefusal(f"[allocate_replica] all copies of {label} are already assigned. Use the move "
                                 f"allocation command instead")
        return c.AllocateCopy(index_name=shard.index_name, shard_number=shard.shard_number, node_id=node_id,
                              allocation_id=new_allocation_id(), primary=False)
    if shard.primary() is not None:
        raise RerouteRefusal(f"[{command.name}] primary {label} is already assigned")
    if not parameters["accept_data_loss"]:
        kind = "stale" if command.name == "allocate_stale_primary" else "empty"
        raise RerouteRefusal(f"[{command.name}] allocating an {kind} primary for {label} can result in data "
                             f"loss. Please confirm by setting the accept_data_loss parameter to true")
    if command.name == "allocate_stale_primary" and node_id not in nodes_holding_data(shard.index_name,
                                                                                      shard.shard_number):
        raise RerouteRefusal(f"[allocate_stale_primary] no data for shard {label} found on node [{node_id}]")
    return c.AllocateCopy(index_name=shard.index_name, shard_number=shard.shard_number, node_id=node_id,
                          allocation_id=new_allocation_id(), primary=True, accept_data_loss=True,
                          empty_store=command.name == "allocate_empty_primary")


def explanation(command: RerouteCommand, accepted: bool, reason: str) -> dict[str, Any]:
    return {"command": command.name, "parameters": dict(command.parameters),
            "decisions": [{"decider": _DECIDERS[command.name], "decision": "YES" if accepted else "NO",
                           "explanation": reason}]}


def _truthy(value: Any) -> bool:
    return value in ("", "true", True)


def register(app: Any, services: Any) -> None:
    context = services.context

    async def nodes_holding_data(needed: set[tuple[str, str, int]]) -> dict[tuple[str, int], frozenset[str]]:
        """Which of the named nodes report holding data of each shard (the master's ping answer)."""
        from node.cluster.failure_detector import PING_METHOD
        from node.cluster.held_copies import reported_copies_from_wire

        holding: dict[tuple[str, int], set[str]] = {}
        for node_id, index_name, shard_number in sorted(needed):
            node = services.state.nodes.get(node_id)
            if node is None:
                continue
            try:
                answer, _ = await context.peers.request(node.transport_address, PING_METHOD, {},
                                                        timeout_seconds=HELD_COPIES_TIMEOUT_SECONDS,
                                                        channel="ping")
            except Exception as error:  # noqa: BLE001 — an unreachable node holds nothing we can use
                raise ApiError(f"node [{node_id}] did not say which shard data it holds: {error}",
                               opensearch_type="node_not_connected_exception", status=503) from error
            for reported in reported_copies_from_wire(answer.get("held_copies")):
                holding.setdefault((reported.index_name, reported.shard_number), set()).add(node_id)
        return {key: frozenset(value) for key, value in holding.items()}

    @app.route("/_cluster/reroute", methods=["POST"])
    async def cluster_reroute() -> Any:
        query = params()
        body = await read_json_body(required=False)
        commands = parse_reroute_commands(body)
        dry_run = _truthy(query.get("dry_run", False)) or (isinstance(body, dict) and body.get("dry_run") is True)
        explain = _truthy(query.get("explain", False))
        retry_failed = _truthy(query.get("retry_failed", False))
        metric = query.get("metric")
        metrics = set(metric.split(",")) if metric else set(DEFAULT_RESPONSE_METRICS)

        state = services.state
        stale_checks = set()
        for command in commands:
            if command.name == "allocate_stale_primary":
                try:
                    stale_checks.add((resolve_node_id(state, command.parameters["node"]),
                                      command.parameters["index"], command.parameters["shard"]))
                except RerouteRefusal:
                    pass  # reported below, in the command's own decision
        holding = await nodes_holding_data(stale_checks) if stale_checks else {}

        working = state
        raft_commands: list[c.Command] = []
        if retry_failed:
            working, _ = apply(working, c.RetryFailedAllocations())
            raft_commands.append(c.RetryFailedAllocations())
        explanations = []
        for command in commands:
            try:
                raft_command = to_raft_command(
                    working, command, new_allocation_id,
                    lambda index_name, shard_number: holding.get((index_name, shard_number), frozenset()))
                new_state, outcome = apply(working, raft_command)
                if not outcome.accepted:
                    raise RerouteRefusal(f"[{command.name}] {outcome.reason}")
            except RerouteRefusal as refusal:
                if not explain:
                    raise IllegalArgumentError(str(refusal)) from None
                explanations.append(explanation(command, False, str(refusal)))
                continue
            working = new_state
            raft_commands.append(raft_command)
            explanations.append(explanation(command, True, f"[{command.name}] accepted for "
                                                           f"[{command.parameters['index']}][{command.parameters['shard']}]"))
        if not dry_run and raft_commands:
            await services.submit(raft_commands[0] if len(raft_commands) == 1
                                  else c.Batch(commands=tuple(raft_commands)))
            working = services.state
        response: dict[str, Any] = {"acknowledged": True,
                                    "state": cluster_state_body(working, context, metrics, sorted(working.indices))}
        if explain:
            response["explanations"] = explanations
        return respond(response)
