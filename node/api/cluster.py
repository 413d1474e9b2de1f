"""Cluster APIs: _cluster/health, _cluster/state, _cluster/settings, _cluster/stats, _nodes,
_nodes/stats.

Health waits (wait_for_status, wait_for_nodes, wait_for_active_shards,
wait_for_no_initializing_shards, wait_for_no_relocating_shards) re-check on every applied state
until ``timeout`` (default 30s), then answer 408 with ``timed_out: true`` as OpenSearch does.
Node statistics of another node are fetched over the transport (``node/stats``); a node that
does not answer is counted in ``_nodes.failed``.

It must never change the cluster state except through PutClusterSettings.
"""

from __future__ import annotations

import time
from typing import Any

import trio
from quart import request

from node.api import params, read_json_body, respond
from node.api.ingest import INGEST_STATISTICS, stored_pipelines
from node.api.ingest_processors import PROCESSOR_TYPES as INGEST_PROCESSOR_TYPES
from node.api.cluster_settings import (
    expand_wildcard_resets, rendered_settings, validate_cluster_settings, visible_settings,
)
from node.coordination.health import health_body, local_os_figures, master_node_id
from node.coordination.resolve import STRICT_EXPAND_OPEN_CLOSED, IndicesOptions, resolve_indices
from node.coordination.stats import index_stats_section, index_stats_sections_for
from node.coordination.values import parse_boolean, parse_time_seconds
from node.errors import ActionRequestValidationError, IllegalArgumentError, IndexNotFoundError
from node import testing_settings
from raft.apply import flatten_settings
from raft.commands import PutClusterSettings

NODE_STATS_TRANSPORT_METHOD = "node/stats"
DEFAULT_HEALTH_TIMEOUT_SECONDS = 30.0
NODE_STATS_TIMEOUT_SECONDS = 5.0


def _nest(flat: dict[str, Any]) -> dict[str, Any]:
    from node.api.indices import nest_settings

    return nest_settings(flat)


# OpenSearch's index blocks as the cluster state shows them: setting → (id, description, levels)
INDEX_BLOCKS: dict[str, tuple[str, str, list[str]]] = {
    "index.blocks.read_only": ("5", "index read-only (api)", ["write", "metadata_write"]),
    "index.blocks.read": ("7", "index read (api)", ["read"]),
    "index.blocks.write": ("8", "index write (api)", ["write"]),
    "index.blocks.metadata": ("9", "index metadata (api)", ["metadata_read", "metadata_write"]),
    "index.blocks.read_only_allow_delete": ("12", "disk usage exceeded flood-stage watermark, index has read-only-allow-delete block",
                                            ["write", "metadata_write"]),
}


def cluster_state_blocks(state: Any, names: list[str]) -> dict[str, Any]:
    """``blocks`` of GET _cluster/state: the index blocks set through index.blocks.* settings
    (and a closed index's block), by index; {} when there are none."""
    by_index: dict[str, Any] = {}
    for name in names:
        index = state.indices[name]
        blocks = {}
        for setting, (block_id, description, levels) in INDEX_BLOCKS.items():
            if str(index.settings.get(setting, "false")).lower() == "true":
                blocks[block_id] = {"description": description, "retryable": False, "levels": levels}
        if index.state == "close":
            blocks["4"] = {"description": "index closed", "retryable": False, "levels": ["read", "write"]}
        if blocks:
            by_index[name] = blocks
    return {"indices": by_index} if by_index else {}


def routing_nodes_view(state: Any, names: list[str]) -> dict[str, Any]:
    """``routing_nodes`` of GET _cluster/state: every copy of the selected indices grouped by the
    node holding it, and the unassigned ones."""
    unassigned: list[dict] = []
    by_node: dict[str, list[dict]] = {node_id: [] for node_id in sorted(state.nodes)}
    for name in names:
        for shard in state.routing_table.get(name, ()):
            for shard_copy in shard.copies:
                entry = {"state": shard_copy.state, "primary": shard_copy.primary, "node": shard_copy.node_id,
                         "relocating_node": None, "shard": shard.shard_number, "index": name}
                if shard_copy.allocation_id:
                    entry["allocation_id"] = {"id": shard_copy.allocation_id}
                if shard_copy.node_id is None:
                    unassigned.append(entry)
                else:
                    by_node.setdefault(shard_copy.node_id, []).append(entry)
    return {"unassigned": unassigned, "nodes": by_node}


def _node_matches(wanted: str, current: int) -> bool:
    """wait_for_nodes: "N", ">=N", "<=N", ">N", "<N", "ge(N)", "le(N)", "gt(N)", "lt(N)"."""
    text = wanted.strip()
    comparisons = {">=": "ge", "<=": "le", ">": "gt", "<": "lt"}
    for symbol, name in comparisons.items():
        if text.startswith(symbol):
            text = f"{name}({text[len(symbol):].strip()})"
            break
    try:
        if text[:3] in ("ge(", "le(", "gt(", "lt(") and text.endswith(")"):
            number = int(text[3:-1])
            return {"ge": current >= number, "le": current <= number, "gt": current > number,
                    "lt": current < number}[text[:2]]
        return current == int(text)
    except ValueError:
        raise IllegalArgumentError(f"wait_for_nodes: expected a number or a comparison such as >=2, got "
                                   f"[{wanted}]") from None


def _conditions_met(body: dict[str, Any], query: dict[str, str]) -> bool:
    wanted_status = query.get("wait_for_status")
    if wanted_status:
        order = {"green": 0, "yellow": 1, "red": 2}
        if wanted_status not in order:
            raise IllegalArgumentError(f"unknown cluster health status [{wanted_status}]")
        if order[body["status"]] > order[wanted_status]:
            return False
    wanted_nodes = query.get("wait_for_nodes")
    if wanted_nodes and not _node_matches(wanted_nodes, body["number_of_nodes"]):
        return False
    wanted_active = query.get("wait_for_active_shards")
    if wanted_active:
        total = body["active_shards"] + body["initializing_shards"] + body["unassigned_shards"]
        needed = total if wanted_active == "all" else int(wanted_active)
        if body["active_shards"] < needed:
            return False
    if query.get("wait_for_no_initializing_shards") in ("true", "") and body["initializing_shards"]:
        return False
    if query.get("wait_for_no_relocating_shards") in ("true", "") and body["relocating_shards"]:
        return False
    return True


# the sections GET /_nodes/{metric} selects (OpenSearch's names); the other keys of a node's
# entry (name, addresses, version, roles, attributes) are always shown
NODE_INFO_METRICS = frozenset(("settings", "os", "process", "jvm", "thread_pool", "transport", "http", "plugins",
                               "ingest", "aggregations", "indices", "search_pipelines", "analysis_components"))


def analysis_components_info() -> dict[str, Any]:
    """OpenSearch 3.0's ``analysis_components`` node info: the analysis component types this node
    can name without parameters (index/analysis built-ins), each list sorted; no plugins add any."""
    from index.analysis.registry import BUILT_IN_ANALYZER_NAMES
    from index.analysis.token_filters import BUILT_IN_FILTER_NAMES
    from index.analysis.tokenizers import BUILT_IN_TOKENIZER_NAMES

    # char filter types: index/analysis/char_filters.build_char_filter's (two of them need parameters)
    return {"analyzers": sorted(BUILT_IN_ANALYZER_NAMES), "tokenizers": sorted(BUILT_IN_TOKENIZER_NAMES),
            "tokenFilters": sorted(BUILT_IN_FILTER_NAMES),
            "charFilters": ["html_strip", "mapping", "pattern_replace"], "normalizers": ["lowercase"],
            "plugins": []}


def _this_node_attributes(services: Any) -> dict[str, Any]:
    node = services.state.nodes.get(services.context.node_id)
    return dict(node.attributes) if node is not None else {}


def node_info_body(services: Any, node: Any, metadata_status: Any) -> dict[str, Any]:
    host = node.http_address.rsplit(":", 1)[0]
    return {"name": node.name, "transport_address": node.transport_address, "host": host, "ip": host,
            "version": services.context.config.version_number, "build_type": "tar",
            "build_hash": "0000000000000000000000000000000000000000", "roles": sorted(node.roles),
            "attributes": dict(node.attributes),
            **_total_indexing_buffer(services, node),
            "ingest": {"processors": [{"type": name} for name in INGEST_PROCESSOR_TYPES]},
            "analysis_components": analysis_components_info(),
            "http": {"bound_address": [node.http_address], "publish_address": node.http_address,
                     "max_content_length_in_bytes": services.context.config.max_content_length_bytes},
            "transport": {"bound_address": [node.transport_address], "publish_address": node.transport_address},
            **_local_testing_settings(services, node)}


def closed_indices_as_open(state: Any, names: list[str] | None) -> Any:
    """The state health is computed on: closed indices keep their allocated copies (Quidditch's
    routing table, like OpenSearch's since 7.2), so they count in health as OpenSearch counts them.
    node/coordination/health.py leaves closed indices out; this view lets the selected ones in
    without changing that module (another owner's)."""
    import dataclasses

    closed = [name for name, index in state.indices.items()
              if index.state == "close" and (names is None or name in names)]
    if not closed:
        return state
    indices = dict(state.indices)
    for name in closed:
        indices[name] = dataclasses.replace(indices[name], state="open")
    return dataclasses.replace(state, indices=indices)


def legacy_templates_view(state: Any) -> dict[str, Any]:
    """metadata.templates of _cluster/state: the legacy index templates (node/api/templates.py)."""
    from node.api.templates import LEGACY_PREFIX, legacy_view, stored  # local: templates imports indices

    return {name: legacy_view(template, False) for name, template in sorted(stored(state, LEGACY_PREFIX).items())}


def _total_indexing_buffer(services: Any, node: Any) -> dict[str, Any]:
    """OpenSearch's node-wide indexing buffer. Quidditch has none: each shard copy keeps its own
    (ShardSettings.indexing_buffer_bytes), so a node's total is that budget times the copies the
    routing table assigns it. ``human=true`` adds the readable twin, as OpenSearch's
    humanReadableField does."""
    from index.shard import ShardSettings  # local: the engine is only needed for its default budget

    copies_here = sum(1 for shards in services.state.routing_table.values() for shard in shards
                      for copy in shard.copies if copy.node_id == node.node_id)
    total_bytes = copies_here * ShardSettings().indexing_buffer_bytes
    body: dict[str, Any] = {"total_indexing_buffer_in_bytes": total_bytes}
    if parse_boolean(params().get("human"), "human", False):
        body = {"total_indexing_buffer": readable_byte_size(total_bytes), **body}
    return body


def readable_byte_size(size_in_bytes: int) -> str:
    """OpenSearch's ByteSizeValue.toString: the largest unit the value reaches, one decimal at most
    and none when it is whole ("64mb", "1.5gb", "0b")."""
    value = float(size_in_bytes)
    for unit in ("b", "kb", "mb", "gb", "tb"):
        if abs(value) < 1024:
            break
        value /= 1024
    else:
        unit = "pb"
    rounded = round(value, 1)
    return f"{int(rounded)}{unit}" if rounded == int(rounded) else f"{rounded}{unit}"


def _local_testing_settings(services: Any, node: Any) -> dict[str, Any]:
    """Test-only switches this node was started with (node/testing_settings.py), so a harness such
    as jepsen-lite can check they are honoured; empty unless one is active on this very node."""
    if node.node_id != services.context.node_id:
        return {}
    reported = testing_settings.current().reported_settings()
    return {"settings": reported} if reported else {}


def indexing_pressure_stats(services: Any) -> dict[str, Any]:
    """The ``indexing_pressure`` node stats from the node's write admission control
    (node/coordination/admission.py): Quidditch accounts a write's body bytes once, on the node
    that coordinates it, for its whole life (coordinating and primary work alike), so
    ``coordinating_in_bytes`` holds them and ``primary``/``replica`` are 0. The limit is
    ``quidditch.write.max_in_flight_bytes``. Cumulative byte totals are not counted by the admission
    control, so ``total`` carries only the rejections (a count that is kept), never invented bytes."""
    from node.coordination.admission import DEFAULT_MAX_WRITE_BYTES

    admission = services.admission
    in_flight = int(admission.write_bytes)
    limit = services.state.setting("quidditch.write.max_in_flight_bytes", None)
    try:
        limit_bytes = int(limit) if limit is not None else DEFAULT_MAX_WRITE_BYTES
    except (TypeError, ValueError):
        limit_bytes = DEFAULT_MAX_WRITE_BYTES
    return {"memory": {
        "current": {"combined_coordinating_and_primary_in_bytes": in_flight, "coordinating_in_bytes": in_flight,
                    "primary_in_bytes": 0, "replica_in_bytes": 0, "all_in_bytes": in_flight},
        "total": {"coordinating_rejections": int(admission.rejected_writes), "primary_rejections": 0,
                  "replica_rejections": 0},
        "limit_in_bytes": limit_bytes}}


async def local_node_stats(services: Any) -> dict[str, Any]:
    """This node's _nodes/stats entry: its shards' statistics plus the machine's figures."""
    context = services.context
    statistics = []
    for local in services.director.local_copies():
        try:
            payload, _ = await context.workers.call(local.index_uuid, local.shard_number, "stats", {})
            statistics.append(payload)
        except Exception:  # noqa: BLE001 — a shard that cannot answer contributes nothing
            continue
    state = services.state
    node = state.nodes.get(context.node_id)
    section = index_stats_section(statistics, None)
    counters = list(services.index_counters.values())
    section["indexing"]["index_total"] = sum(c.index_total for c in counters)
    section["indexing"]["delete_total"] = sum(c.delete_total for c in counters)
    section["search"]["query_total"] = sum(c.query_total for c in counters)
    host = node.http_address.rsplit(":", 1)[0] if node is not None else "127.0.0.1"
    return {"timestamp": int(time.time() * 1000), "name": context.node_name,
            "transport_address": node.transport_address if node is not None else "", "host": host, "ip": host,
            "roles": sorted(node.roles) if node is not None else [], "attributes": {},
            "indices": section, **local_os_figures(context.config.data_directory),
            "ingest": INGEST_STATISTICS.as_json(list(stored_pipelines(state))),
            "indexing_pressure": indexing_pressure_stats(services),
            "thread_pool": {"write": {"threads": context.config.workers, "queue": services.admission.write_requests,
                                      "active": services.admission.write_requests,
                                      "rejected": services.admission.rejected_writes},
                            "search": {"threads": context.config.workers,
                                       "queue": services.admission.search_requests,
                                       "active": services.admission.search_requests,
                                       "rejected": services.admission.rejected_searches}}}


# OpenSearch's role filters in a node selector (``data:true``, ``master:false``…)
NODE_ROLE_FILTERS = {"master": "cluster_manager", "cluster_manager": "cluster_manager", "data": "data",
                     "ingest": "ingest", "voting_only": None, "ml": None, "remote_cluster_client": None,
                     "search": None}


def selected_node_ids(services: Any, node_filter: str | None) -> list[str]:
    """OpenSearch's node selector, applied part by part: ``_all``/``*``, ``_local``,
    ``_master``/``_cluster_manager``, ids, names and addresses (wildcards), ``<role>:true|false``
    (adds or removes the nodes with that role; ``coordinating_only:true`` the nodes with none) and
    ``<attribute>:<value>`` (node attributes, wildcards)."""
    import fnmatch

    state = services.state
    if not node_filter or node_filter in ("_all", "*"):
        return sorted(state.nodes)
    selected: set[str] = set()
    for part in node_filter.split(","):
        part = part.strip()
        if part in ("_all", "*"):
            selected |= set(state.nodes)
        elif part == "_local":
            selected.add(services.context.node_id)
        elif part in ("_master", "_cluster_manager"):
            master = master_node_id(state, services.context.metadata.status())
            if master:
                selected.add(master)
        elif ":" in part:
            key, _, value = part.partition(":")
            if key in NODE_ROLE_FILTERS or key == "coordinating_only":
                role = NODE_ROLE_FILTERS.get(key)
                having = {node_id for node_id, node in state.nodes.items()
                          if (not node.roles if key == "coordinating_only" else role in node.roles)}
                if value.lower() == "true":
                    selected |= having
                else:
                    selected -= having
            else:
                selected |= {node_id for node_id, node in state.nodes.items()
                             if key in node.attributes and fnmatch.fnmatchcase(str(node.attributes[key]), value)}
        else:
            selected |= {node_id for node_id, node in state.nodes.items()
                         if fnmatch.fnmatchcase(node_id, part) or fnmatch.fnmatchcase(node.name, part)
                         or node.http_address.startswith(part)}
    return sorted(selected & set(state.nodes))


KNOWN_CLUSTER_MANAGER_POLL_SECONDS = 0.05


async def wait_for_known_cluster_manager(services: Any, query: dict[str, str]) -> None:
    """OpenSearch routes a non-``local`` cluster-state read to the cluster manager and waits up to
    ``cluster_manager_timeout`` (default 30s) for one; a node that does not know its leader yet (just
    started, or an election in progress) therefore waits instead of answering ``master_node: null``,
    and answers 503 ``cluster_manager_not_discovered_exception`` when none appears in time."""
    if parse_boolean(query.get("local"), "local", False):
        return
    raw_timeout = query.get("cluster_manager_timeout") or query.get("master_timeout") or "30s"
    timeout_seconds = parse_time_seconds(raw_timeout, "cluster_manager_timeout") or 0.0
    deadline = trio.current_time() + timeout_seconds
    while master_node_id(services.state, services.context.metadata.status()) is None:
        remaining = deadline - trio.current_time()
        if remaining <= 0:
            from node.errors import ApiError

            raise ApiError("no cluster-manager (master) is known yet",
                           opensearch_type="cluster_manager_not_discovered_exception")
        # the raft status is refreshed once per tick: polling it is the only way to see a leader
        await trio.sleep(min(KNOWN_CLUSTER_MANAGER_POLL_SECONDS, remaining))


def cluster_state_body(state: Any, context: Any, metrics: set[str], names: list[str]) -> dict[str, Any]:
    """The ``_cluster/state`` body of ``state`` for ``metrics`` (``_all`` for every one) and the
    index ``names``: also what ``_cluster/reroute`` answers with its resulting state."""
    status = context.metadata.status()
    every = "_all" in metrics
    master = master_node_id(state, status)
    body: dict[str, Any] = {"cluster_name": state.cluster_name, "cluster_uuid": state.cluster_uuid}
    if every or "version" in metrics:
        body["version"] = state.version
        body["state_uuid"] = f"{state.cluster_uuid}-{state.version}"
    if every or "master_node" in metrics:
        body["master_node"] = master
    if every or "cluster_manager_node" in metrics:
        body["cluster_manager_node"] = master
    if every or "blocks" in metrics:
        body["blocks"] = cluster_state_blocks(state, names)
    if every or "nodes" in metrics:
        body["nodes"] = {node_id: {"name": node.name, "ephemeral_id": node_id,
                                   "transport_address": node.transport_address,
                                   "attributes": dict(node.attributes), "roles": sorted(node.roles)}
                         for node_id, node in sorted(state.nodes.items())}
    if every or "metadata" in metrics:
        indices_body = {}
        for name in names:
            index_metadata = state.indices[name]
            shards = state.routing_table.get(name, ())
            indices_body[name] = {
                "version": index_metadata.settings_version + index_metadata.mapping_version,
                "mapping_version": index_metadata.mapping_version,
                "settings_version": index_metadata.settings_version,
                "aliases_version": index_metadata.aliases_version,
                "routing_num_shards": index_metadata.routing_num_shards,
                "state": index_metadata.state,
                "settings": _nest(index_metadata.settings),
                "mappings": {"_doc": index_metadata.mappings} if index_metadata.mappings else {},
                "aliases": sorted(index_metadata.aliases),
                "primary_terms": {str(shard.shard_number): shard.primary_term for shard in shards},
                "in_sync_allocations": {str(shard.shard_number): list(shard.in_sync_allocation_ids)
                                        for shard in shards}}
        body["metadata"] = {"cluster_uuid": state.cluster_uuid, "cluster_uuid_committed": True,
                            "templates": legacy_templates_view(state), "indices": indices_body,
                            "persistent_settings": _nest(visible_settings(state.persistent_settings))}
    if every or "routing_table" in metrics:
        body["routing_table"] = {"indices": {name: {"shards": {
            str(shard.shard_number): [{
                "state": shard_copy.state, "primary": shard_copy.primary, "node": shard_copy.node_id,
                "relocating_node": None, "shard": shard.shard_number, "index": name,
                **({"allocation_id": {"id": shard_copy.allocation_id}} if shard_copy.allocation_id else {}),
                **({"unassigned_info": {"reason": shard_copy.unassigned_reason,
                                        **({"failed_attempts": shard_copy.failed_allocations}
                                           if shard_copy.failed_allocations else {})}}
                   if shard_copy.state == "UNASSIGNED" and shard_copy.unassigned_reason else {})}
                for shard_copy in shard.copies]
            for shard in state.routing_table.get(name, ())}} for name in names}}
    if every or "routing_nodes" in metrics:
        body["routing_nodes"] = routing_nodes_view(state, names)
    return body


def register(app: Any, services: Any) -> None:
    context = services.context

    async def remote_node_stats(payload: dict, body: bytes) -> tuple[dict, bytes]:
        return await local_node_stats(services), b""

    handlers = getattr(context, "transport_handlers", None)
    if handlers is not None:
        handlers.register(NODE_STATS_TRANSPORT_METHOD, remote_node_stats)

    # ------------------------------------------------------------------ health

    async def health(index: str | None = None) -> Any:
        query = params()
        level = query.get("level", "cluster")
        if level not in ("cluster", "indices", "shards"):
            raise IllegalArgumentError(f"level must be one of cluster, indices or shards, got [{level}]")
        timeout = parse_time_seconds(query.get("timeout"), "timeout") if query.get("timeout") else None
        timeout = DEFAULT_HEALTH_TIMEOUT_SECONDS if timeout is None else timeout
        waits = any(key in query for key in ("wait_for_status", "wait_for_nodes", "wait_for_active_shards",
                                             "wait_for_no_initializing_shards", "wait_for_no_relocating_shards"))
        deadline = trio.current_time() + timeout
        while True:
            state = services.state
            status = context.metadata.status()
            names: list[str] | None = None
            missing = False
            # OpenSearch's health options: open, closed and hidden unless expand_wildcards says otherwise
            options = IndicesOptions.from_params(query, IndicesOptions(expand_closed=True, expand_hidden=True))
            if index is not None and index not in ("_all", "*"):
                try:
                    names = resolve_indices(state, index, options)
                except IndexNotFoundError:
                    names, missing = [], True
            elif "expand_wildcards" in query:
                names = resolve_indices(state, "*", options)
            body = health_body(closed_indices_as_open(state, names), status, names, level, missing)
            if getattr(status, "leader_address", None) is None and not waits:
                from node.errors import ApiError

                raise ApiError("no cluster-manager (master) is known yet",
                               opensearch_type="cluster_manager_not_discovered_exception")
            met = _conditions_met(body, query) and not missing
            if met or (not waits and not missing):
                return respond(body)
            remaining = deadline - trio.current_time()
            if remaining <= 0:
                body["timed_out"] = True
                return respond(body, 408)
            await services.director.wait_for_state_change(min(remaining, 0.25))

    app.add_url_rule("/_cluster/health", "cluster_health", health, methods=["GET"])
    app.add_url_rule("/_cluster/health/<index>", "cluster_health_index", health, methods=["GET"])

    # ------------------------------------------------------------------ state

    async def cluster_state(metric: str | None = None, index: str | None = None) -> Any:
        query = params()
        await wait_for_known_cluster_manager(services, query)
        names = resolve_indices(services.state, index,
                                IndicesOptions.from_params(query, STRICT_EXPAND_OPEN_CLOSED))
        return respond(cluster_state_body(services.state, context, set((metric or "_all").split(",")), names))

    app.add_url_rule("/_cluster/state", "cluster_state", cluster_state, methods=["GET"])
    app.add_url_rule("/_cluster/state/<metric>", "cluster_state_metric", cluster_state, methods=["GET"])
    app.add_url_rule("/_cluster/state/<metric>/<index>", "cluster_state_metric_index", cluster_state,
                     methods=["GET"])

    # ------------------------------------------------------------------ settings

    @app.route("/_cluster/settings", methods=["GET"])
    async def get_cluster_settings() -> Any:
        query = params()
        state = services.state
        flat = query.get("flat_settings") in ("true", "")
        view = (lambda settings: rendered_settings(settings)) if flat else (lambda settings: _nest(rendered_settings(settings)))
        body = {"persistent": view(state.persistent_settings), "transient": view(state.transient_settings)}
        if query.get("include_defaults") in ("true", ""):
            body["defaults"] = view({"action.auto_create_index": "true",
                                     "search.max_buckets": "65535",
                                     "cluster.routing.allocation.cluster_concurrent_rebalance": "2",
                                     "quidditch.write.max_in_flight_requests": "64",
                                     "quidditch.search.max_in_flight_requests": "256",
                                     "quidditch.write.max_in_flight_bytes": str(256 * 1024 * 1024),
                                     "quidditch.bulk.max_operations": "100000",
                                     "quidditch.replication.copy_removal_timeout": "20s",
                                     # this node's own settings, as OpenSearch lists node settings among defaults
                                     "cluster.name": state.cluster_name, "node.name": context.node_name,
                                     **{f"node.attr.{name}": str(value) for name, value in
                                        _this_node_attributes(services).items()}})
        return respond(body)

    @app.route("/_cluster/settings", methods=["PUT"])
    async def put_cluster_settings() -> Any:
        body = await read_json_body(required=True)
        if not isinstance(body, dict) or not (body.get("persistent") or body.get("transient")):
            raise ActionRequestValidationError("no settings to update")
        unknown = sorted(set(body) - {"persistent", "transient"})
        if unknown:
            raise IllegalArgumentError(f"request [/_cluster/settings] contains unrecognized parameter: [{unknown[0]}]")
        # the same flattening the state machine applies
        persistent = flatten_settings(body.get("persistent") or {})
        transient = flatten_settings(body.get("transient") or {})
        validate_cluster_settings("persistent", persistent)
        validate_cluster_settings("transient", transient)
        persistent = expand_wildcard_resets(persistent, services.state.persistent_settings)
        transient = expand_wildcard_resets(transient, services.state.transient_settings)
        await services.submit(PutClusterSettings(persistent=persistent, transient=transient))
        # the echo: what was set (not what was reset), flat with flat_settings=true, values as strings
        view = rendered_settings if params().get("flat_settings") in ("true", "") else \
            (lambda settings: _nest(rendered_settings(settings)))
        return respond({"acknowledged": True, "persistent": view(persistent), "transient": view(transient)})

    # ------------------------------------------------------------------ nodes

    async def nodes_info(node_filter: str | None = None, metrics: str | None = None) -> Any:
        state = services.state
        status = context.metadata.status()
        if node_filter is not None and metrics is None and \
                all(part in NODE_INFO_METRICS for part in node_filter.split(",")):
            node_filter, metrics = None, node_filter  # /_nodes/http: a metric, as OpenSearch reads it
        selected = selected_node_ids(services, node_filter)
        nodes = {node_id: node_info_body(services, state.nodes[node_id], status) for node_id in selected}
        if metrics and metrics != "_all":
            wanted = set(metrics.split(","))
            nodes = {node_id: {key: value for key, value in body.items()
                               if key in wanted or key not in NODE_INFO_METRICS} for node_id, body in nodes.items()}
        return respond({"_nodes": {"total": len(selected), "successful": len(selected), "failed": 0},
                        "cluster_name": state.cluster_name, "nodes": nodes})

    app.add_url_rule("/_nodes", "nodes_info", nodes_info, methods=["GET"])
    app.add_url_rule("/_nodes/<node_filter>", "nodes_info_filter", nodes_info, methods=["GET"])
    app.add_url_rule("/_nodes/<node_filter>/<metrics>", "nodes_info_metrics", nodes_info, methods=["GET"])

    async def nodes_stats(node_filter: str | None = None, metric: str | None = None,
                          index_metric: str | None = None) -> Any:
        state = services.state
        selected = selected_node_ids(services, node_filter)
        nodes_body: dict[str, Any] = {}
        failures: list[dict] = []

        async def one(node_id: str) -> None:
            try:
                if node_id == context.node_id:
                    nodes_body[node_id] = await local_node_stats(services)
                else:
                    node = state.nodes[node_id]
                    payload, _ = await context.peers.request(node.transport_address, NODE_STATS_TRANSPORT_METHOD,
                                                             {}, b"", NODE_STATS_TIMEOUT_SECONDS)
                    nodes_body[node_id] = payload
            except Exception as error:  # noqa: BLE001 — counted as a failed node
                failures.append({"type": "failed_node_exception", "reason": f"Failed node [{node_id}]",
                                 "node_id": node_id, "caused_by": {"type": getattr(error, "opensearch_type", "exception"),
                                                                   "reason": str(error)}})

        async with trio.open_nursery() as nursery:
            for node_id in selected:
                nursery.start_soon(one, node_id)
        if metric and metric != "_all":
            wanted = set(metric.split(","))
            for node_id, entry in nodes_body.items():
                nodes_body[node_id] = {key: value for key, value in entry.items()
                                       if key in wanted or key in ("timestamp", "name", "transport_address", "host",
                                                                   "ip", "roles", "attributes")}
        if index_metric and index_metric != "_all":
            # /_nodes/stats/indices/{index_metric}: only those sections of `indices` (same names as _stats)
            sections = index_stats_sections_for(index_metric, request.path)
            for entry in nodes_body.values():
                if isinstance(entry.get("indices"), dict) and sections is not None:
                    entry["indices"] = {key: value for key, value in entry["indices"].items() if key in sections}
        summary: dict[str, Any] = {"total": len(selected), "successful": len(nodes_body), "failed": len(failures)}
        if failures:
            summary["failures"] = failures
        return respond({"_nodes": summary, "cluster_name": state.cluster_name,
                        "nodes": {node_id: nodes_body[node_id] for node_id in sorted(nodes_body)}})

    app.add_url_rule("/_nodes/stats", "nodes_stats", nodes_stats, methods=["GET"])
    app.add_url_rule("/_nodes/stats/<metric>", "nodes_stats_metric", nodes_stats, methods=["GET"])
    app.add_url_rule("/_nodes/stats/<metric>/<index_metric>", "nodes_stats_index_metric", nodes_stats,
                     methods=["GET"])
    app.add_url_rule("/_nodes/<node_filter>/stats", "nodes_stats_filter", nodes_stats, methods=["GET"])
    app.add_url_rule("/_nodes/<node_filter>/stats/<metric>", "nodes_stats_filter_metric", nodes_stats,
                     methods=["GET"])

    @app.route("/_cluster/pending_tasks", methods=["GET"])
    async def pending_tasks() -> Any:
        # cluster-state changes are Raft commands applied as they commit: nothing waits in a queue
        return respond({"tasks": []})

    @app.route("/_remote/info", methods=["GET"])
    async def remote_info() -> Any:
        """No remote clusters are ever configured (cross-cluster search is not supported)."""
        return respond({})

    @app.route("/_cluster/stats", methods=["GET"])
    async def cluster_stats() -> Any:
        state = services.state
        status = context.metadata.status()
        from node.coordination.stats import gather_shard_statistics

        names = sorted(name for name, index in state.indices.items() if index.state == "open")
        answers = await gather_shard_statistics(services, names)
        statistics = [answer.statistics for answer in answers if answer.statistics is not None]
        section = index_stats_section(statistics, None)
        health = health_body(state, status, None)
        shards_total = sum(len(shard.copies) for name in names for shard in state.routing_table.get(name, ()))
        roles = [role for node in state.nodes.values() for role in node.roles]
        return respond({
            "_nodes": {"total": len(state.nodes), "successful": len(state.nodes), "failed": 0},
            "cluster_name": state.cluster_name, "cluster_uuid": state.cluster_uuid,
            "timestamp": int(time.time() * 1000), "status": health["status"],
            "indices": {"count": len(state.indices),
                        "shards": {"total": health["active_shards"], "primaries": health["active_primary_shards"],
                                   "replication": 0.0 if not health["active_primary_shards"] else
                                   (health["active_shards"] - health["active_primary_shards"]) /
                                   health["active_primary_shards"], "assigned_total": shards_total},
                        "docs": section["docs"], "store": section["store"], "segments": section["segments"],
                        "fielddata": section["fielddata"], "query_cache": section["query_cache"],
                        "completion": section["completion"]},
            "nodes": {"count": {"total": len(state.nodes), "data": roles.count("data"),
                                "cluster_manager": roles.count("cluster_manager"),
                                "master": roles.count("cluster_manager"), "ingest": roles.count("ingest"),
                                "coordinating_only": sum(1 for node in state.nodes.values() if not node.roles)},
                      "versions": [context.config.version_number],
                      # membership and discovery are Raft's (raft/adapter.py), not zen's
                      "discovery_types": {"raft": len(state.nodes)},
                      "packaging_types": [{"type": "tar", "count": len(state.nodes)}]}})
