"""Index APIs: create/delete/get/exists, mappings, settings, aliases, refresh/flush/forcemerge,
_stats, _analyze, _open/_close.

Every metadata change is a raft command through ``ApiServices.submit`` (the state machine
validates names, settings and aliases and answers with OpenSearch's error types); shard work
goes to the started primaries through the ShardDirector. Index expressions (a,b, logs-*, _all,
-exclusions) resolve with ``expand_wildcards``, ``ignore_unavailable`` and ``allow_no_indices``.

It must never build an error body by hand (raise; node/errors.py shapes it).
"""

from __future__ import annotations

from typing import Any

import trio
from quart import request

from index.analysis import AnalysisRegistry, analyze, analyze_detail
from index.analysis.registry import DEFAULT_MAX_TOKEN_COUNT
from index.analysis.registry import DEFAULT_ANALYSIS_REGISTRY
from node.api import params, read_json_body, respond
from node.coordination.resolve import (
    LENIENT_EXPAND_OPEN, STRICT_EXPAND_OPEN, STRICT_EXPAND_OPEN_CLOSED, IndicesOptions, index_block_error,
    data_streams, resolve_indices,
)
from node.api.index_settings import validate_index_settings_update, validate_new_index_settings
from node.coordination.services import normalize_mappings
from node.coordination.stats import (
    gather_copy_statistics, gather_shard_statistics, get_section_with_human_times, index_stats_section,
    index_stats_sections_for,
)
from node.coordination.values import parse_boolean, parse_integer, parse_time_seconds
from node.errors import (
    ActionRequestValidationError, ApiError, IllegalArgumentError, IndexNotFoundError,
)
from raft.commands import CloseIndex, DeleteIndex, OpenIndex, UpdateAliases, UpdateIndexSettings

DEFAULT_ACK_TIMEOUT_SECONDS = 30.0
FORCE_MERGE_ACTION = "indices:admin/forcemerge"
FORCE_MERGE_TASK_SECONDS = 3600.0    # a force merge's bound per copy (waited for, or as a task)


def nest_settings(flat: dict[str, Any]) -> dict[str, Any]:
    """{"index.number_of_shards": "1"} → {"index": {"number_of_shards": "1"}} (OpenSearch's default view)."""
    nested: dict[str, Any] = {}
    for key in sorted(flat):
        target = nested
        parts = key.split(".")
        for part in parts[:-1]:
            existing = target.get(part)
            if not isinstance(existing, dict):
                existing = target[part] = {}
            target = existing
        target[parts[-1]] = flat[key]
    return nested


def settings_view(index: Any, query: dict[str, str], names: list[str] | None = None) -> dict[str, Any]:
    flat = dict(index.settings)
    flat.setdefault("index.version.created", "136217827")  # what OpenSearch 1.x reports; clients show it
    if names:
        import fnmatch

        flat = {key: value for key, value in flat.items()
                if any(fnmatch.fnmatchcase(key, name) or fnmatch.fnmatchcase(key, "index." + name) for name in names)}
    if parse_boolean(query.get("flat_settings"), "flat_settings", False):
        return flat
    return nest_settings(flat)


# mapping parameters GET _mapping/field?include_defaults=true fills in: index/mapping's own table of
# the defaults it drops from stored mappings (the one source of truth; it has no public accessor yet)
# plus the analyzer chain (an index's "default" analyzer; search and search-quote analyzers follow it)
def _field_parameter_defaults(type_name: str) -> dict[str, Any]:
    from index.mapping import mapping as mapping_module

    return dict(getattr(mapping_module, "_PARAMETER_DEFAULTS", {}).get(type_name, {}))


def field_mapping_with_defaults(definition: dict[str, Any]) -> dict[str, Any]:
    filled = {**_field_parameter_defaults(str(definition.get("type"))), **definition}
    if filled.get("type") == "text":
        filled.setdefault("analyzer", "default")
        filled.setdefault("search_analyzer", filled["analyzer"])
        filled.setdefault("search_quote_analyzer", filled["search_analyzer"])
    return filled


# the defaults GET _settings?include_defaults=true reports: the index settings Quidditch reads, with
# the value it uses when the index does not set them (index/shard.py ShardSettings and the
# coordinator's limits), as strings like OpenSearch
INDEX_SETTING_DEFAULTS: dict[str, str] = {
    "index.refresh_interval": "1s",
    "index.translog.durability": "request",
    "index.translog.sync_interval": "5s",
    "index.translog.retention.operations": "10000",
    "index.merge.policy.segments_per_tier": "10",
    "index.max_result_window": "10000",
    "index.max_docvalue_fields_search": "100",
    "index.max_regex_length": "1000",
    "index.max_terms_count": "65536",
    "index.analyze.max_token_count": "10000",
    "index.routing_partition_size": "1",
    "index.hidden": "false",
    "index.blocks.read_only": "false",
    "index.blocks.read_only_allow_delete": "false",
    "index.blocks.read": "false",
    "index.blocks.write": "false",
    "index.blocks.metadata": "false",
}


def defaults_view(index: Any, query: dict[str, str], names: list[str] | None = None) -> dict[str, Any]:
    flat = {key: value for key, value in INDEX_SETTING_DEFAULTS.items() if key not in index.settings}
    if names:
        import fnmatch

        flat = {key: value for key, value in flat.items()
                if any(fnmatch.fnmatchcase(key, name) or fnmatch.fnmatchcase(key, "index." + name) for name in names)}
    if parse_boolean(query.get("flat_settings"), "flat_settings", False):
        return flat
    return nest_settings(flat)


# what PUT /{index}/_alias/{name} takes in its body (anything else is 400 "unknown field")
PUT_ALIAS_BODY_KEYS = ("index", "alias", "filter", "routing", "index_routing", "search_routing", "is_write_index",
                       "is_hidden")


def raise_if_blocked(state: Any, names: list[str], level: str) -> None:
    for name in names:
        blocked = index_block_error(state, name, level)
        if blocked is not None:
            raise blocked


def alias_view(alias: Any) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if alias.filter is not None:
        body["filter"] = alias.filter
    if alias.index_routing is not None:
        body["index_routing"] = alias.index_routing
    if alias.search_routing is not None:
        body["search_routing"] = alias.search_routing
    if alias.is_write_index is not None:
        body["is_write_index"] = alias.is_write_index
    if alias.is_hidden is not None:
        body["is_hidden"] = alias.is_hidden
    return body


def options(query: dict[str, str], default: IndicesOptions) -> IndicesOptions:
    return IndicesOptions.from_params(query, default)


def ack_timeout(query: dict[str, str]) -> float:
    raw = query.get("timeout") or query.get("master_timeout") or query.get("cluster_manager_timeout")
    seconds = parse_time_seconds(raw, "timeout") if raw else None
    return DEFAULT_ACK_TIMEOUT_SECONDS if seconds is None else max(seconds, 0.001)


def register(app: Any, services: Any) -> None:
    # ------------------------------------------------------------------ create / delete / get

    @app.route("/<index>", methods=["PUT"])
    async def create_index(index: str) -> Any:
        query = params()
        body = await read_json_body()
        if isinstance(body, dict) and isinstance(body.get("settings"), dict):
            # before the index is looked up, as OpenSearch: an unknown setting is a 400 even for an existing index
            from raft.apply import normalize_index_settings

            validate_new_index_settings(normalize_index_settings(body["settings"]))
        created, shards_acknowledged = await services.create_index(
            index, body, wait_seconds=ack_timeout(query),
            wait_for_active_shards=query.get("wait_for_active_shards", "1"))
        return respond({"acknowledged": True, "shards_acknowledged": shards_acknowledged, "index": created.name})

    @app.route("/<index>", methods=["DELETE"])
    async def delete_index(index: str) -> Any:
        query = params()
        state = services.state
        for part in index.split(","):
            if part and not part.startswith("-") and part not in state.indices and state.resolve_alias(part) \
                    and "*" not in part:
                raise IllegalArgumentError(f"The provided expression [{part}] matches an alias, specify the "
                                           f"corresponding concrete indices instead.")
        names = resolve_indices(state, index, options(query, STRICT_EXPAND_OPEN_CLOSED))
        from node.api.data_streams import write_index_of

        for name in names:
            stream = write_index_of(state, name)
            if stream is not None:
                raise IllegalArgumentError(f"index [{name}] is the write index for data stream [{stream}] and cannot "
                                           f"be deleted")
        for name in names:
            if name in services.state.indices:
                await services.submit(DeleteIndex(index_name=name), ack_timeout(query), index=name)
        return respond({"acknowledged": True})

    @app.route("/<index>", methods=["GET", "HEAD"])
    async def get_index(index: str) -> Any:
        query = params()
        if request.method == "HEAD":
            try:
                names = resolve_indices(services.state, index, options(query, STRICT_EXPAND_OPEN))
            except IndexNotFoundError:
                return respond(b"", 404)
            return respond(b"", 200 if names else 404)
        names = resolve_indices(services.state, index, options(query, STRICT_EXPAND_OPEN))
        body = {}
        for name in names:
            metadata = services.state.indices[name]
            body[name] = {"aliases": {alias: alias_view(value) for alias, value in sorted(metadata.aliases.items())},
                          "mappings": metadata.mappings, "settings": settings_view(metadata, query)}
        return respond(body)

    # ------------------------------------------------------------------ mappings

    async def get_mappings(index: str | None) -> Any:
        query = params()
        names = resolve_indices(services.state, index, options(query, STRICT_EXPAND_OPEN))
        return respond({name: {"mappings": services.state.indices[name].mappings} for name in names})

    @app.route("/_mapping", methods=["GET"])
    async def get_all_mappings() -> Any:
        return await get_mappings(None)

    @app.route("/<index>/_mapping", methods=["GET"])
    async def get_index_mappings(index: str) -> Any:
        return await get_mappings(index)

    async def get_field_mappings(fields: str, index: str | None = None) -> Any:
        import fnmatch

        from index.mapping import Mapping

        query = params()
        names = resolve_indices(services.state, index, options(query, STRICT_EXPAND_OPEN))
        patterns = [field for field in fields.split(",") if field]
        body: dict[str, Any] = {}
        for name in names:
            mappings = services.state.indices[name].mappings
            found: dict[str, Any] = {}
            for field_mapping in Mapping.from_json(mappings).fields():
                if any(fnmatch.fnmatchcase(field_mapping.path, pattern) for pattern in patterns):
                    definition = _definition_at(mappings, field_mapping.path)
                    leaf = field_mapping.path.rsplit(".", 1)[-1]
                    definition = dict(definition or {"type": field_mapping.type})
                    if parse_boolean(query.get("include_defaults"), "include_defaults", False):
                        definition = field_mapping_with_defaults(definition)
                    found[field_mapping.path] = {"full_name": field_mapping.path, "mapping": {leaf: definition}}
            body[name] = {"mappings": found}
        return respond(body)

    app.add_url_rule("/_mapping/field/<fields>", "get_field_mappings_all", get_field_mappings, methods=["GET"])
    app.add_url_rule("/<index>/_mapping/field/<fields>", "get_field_mappings", get_field_mappings, methods=["GET"])

    @app.route("/<index>/_mapping", methods=["PUT", "POST"])
    async def put_mapping(index: str) -> Any:
        query = params()
        body = await read_json_body(required=True)
        update = normalize_mappings(body, request_kind="put_mapping")
        names = resolve_indices(services.state, index, options(query, STRICT_EXPAND_OPEN))
        if not names:
            raise IndexNotFoundError(index)
        raise_if_blocked(services.state, names, "metadata_write")
        for name in names:
            await services.commit_mapping_update(name, update)
        return respond({"acknowledged": True})

    # ------------------------------------------------------------------ settings

    async def get_settings(index: str | None, names: str | None) -> Any:
        query = params()
        resolved = resolve_indices(services.state, index, options(query, STRICT_EXPAND_OPEN_CLOSED))
        wanted = [name for name in (names or "").split(",") if name and name != "_all"]
        body = {name: {"settings": settings_view(services.state.indices[name], query, wanted)} for name in resolved}
        if parse_boolean(query.get("include_defaults"), "include_defaults", False):
            for name in resolved:
                body[name]["defaults"] = defaults_view(services.state.indices[name], query, wanted)
        return respond(body)

    @app.route("/_settings", methods=["GET"])
    async def get_all_settings() -> Any:
        return await get_settings(None, None)

    @app.route("/<index>/_settings", methods=["GET"])
    async def get_index_settings(index: str) -> Any:
        return await get_settings(index, None)

    @app.route("/_settings/<names>", methods=["GET"])
    async def get_named_settings_of_all(names: str) -> Any:
        return await get_settings(None, names)

    @app.route("/<index>/_settings/<names>", methods=["GET"])
    async def get_named_settings(index: str, names: str) -> Any:
        return await get_settings(index, names)

    async def put_settings(index: str | None) -> Any:
        query = params()
        body = await read_json_body(required=True)
        if not isinstance(body, dict):
            raise ActionRequestValidationError("no settings to update")
        settings = body.get("settings", body) if isinstance(body.get("settings"), dict) else body
        from raft.apply import normalize_index_settings
        from node.coordination.values import shard_settings_from_index_settings

        flat = normalize_index_settings(settings)
        if not flat:
            raise ActionRequestValidationError("no settings to update")
        names = resolve_indices(services.state, index, options(query, STRICT_EXPAND_OPEN_CLOSED))
        if not names:
            raise IndexNotFoundError(index or "_all")
        validate_index_settings_update(flat, [services.state.indices[name] for name in names])
        shard_settings_from_index_settings({key: value for key, value in flat.items() if value is not None})
        if any(not key.startswith("index.blocks.") for key in flat):
            # changing only blocks is always allowed (that is how a block is lifted), as OpenSearch
            raise_if_blocked(services.state, names, "metadata_write")
        if any(key.startswith("index.analysis.") for key in flat):
            AnalysisRegistry.from_index_settings(flat)
        if parse_boolean(query.get("preserve_existing"), "preserve_existing", False):
            # only the settings an index does not have yet, as OpenSearch: one update per distinct subset
            by_subset: dict[tuple[str, ...], list[str]] = {}
            for name in names:
                existing = services.state.indices[name].settings
                subset = tuple(sorted(key for key in flat if key not in existing))
                if subset:
                    by_subset.setdefault(subset, []).append(name)
            for subset, subset_names in by_subset.items():
                await services.submit(UpdateIndexSettings(index_names=tuple(subset_names),
                                                          settings={key: flat[key] for key in subset}),
                                      ack_timeout(query))
            return respond({"acknowledged": True})
        await services.submit(UpdateIndexSettings(index_names=tuple(names), settings=flat), ack_timeout(query))
        return respond({"acknowledged": True})

    @app.route("/_settings", methods=["PUT"])
    async def put_all_settings() -> Any:
        return await put_settings(None)

    @app.route("/<index>/_settings", methods=["PUT"])
    async def put_index_settings(index: str) -> Any:
        return await put_settings(index)

    async def add_block(index: str, block: str) -> Any:
        """PUT /{index}/_block/{block}: sets index.blocks.{block} to true on each index."""
        query = params()
        if block not in ("metadata", "read", "read_only", "write"):
            raise IllegalArgumentError(f"No enum constant for [block]: expected one of metadata, read, read_only, "
                                       f"write, got [{block}]")
        names = resolve_indices(services.state, index, options(query, STRICT_EXPAND_OPEN))
        if not names:
            raise IndexNotFoundError(index)
        await services.submit(UpdateIndexSettings(index_names=tuple(names), settings={f"index.blocks.{block}": "true"}),
                              ack_timeout(query))
        return respond({"acknowledged": True, "shards_acknowledged": True,
                        "indices": [{"name": name, "blocked": True} for name in names]})

    app.add_url_rule("/<index>/_block/<block>", "add_block", add_block, methods=["PUT"])

    # ------------------------------------------------------------------ aliases

    @app.route("/_aliases", methods=["POST"])
    async def update_aliases() -> Any:
        query = params()
        body = await read_json_body(required=True)
        actions = body.get("actions") if isinstance(body, dict) else None
        if not isinstance(actions, list) or not actions:
            raise ActionRequestValidationError("At least one action is required")
        concrete = [concrete_alias_action(services.state, action) for action in actions]
        await services.submit(UpdateAliases(actions=tuple(concrete)), ack_timeout(query))
        return respond({"acknowledged": True})

    async def put_alias(index: str | None = None, name: str | None = None) -> Any:
        query = params()
        body = await read_json_body() or {}
        if not isinstance(body, dict):
            raise IllegalArgumentError("alias body must be an object")
        unknown = sorted(set(body) - set(PUT_ALIAS_BODY_KEYS))
        if unknown:
            raise IllegalArgumentError(f"unknown field [{unknown[0]}]")
        # the body's index and alias override the path's, as OpenSearch (2.16+)
        index = body.get("index", index)
        name = body.get("alias", name)
        problems = []
        if not index:
            problems.append("One of [index] or [indices] is required")
        if not name:
            problems.append("One of [alias] or [aliases] is required")
        if problems:
            raise ActionRequestValidationError(*problems)
        names = resolve_indices(services.state, str(index), options(query, STRICT_EXPAND_OPEN))
        if not names:
            raise IndexNotFoundError(str(index))
        action = {"add": {**{k: v for k, v in body.items() if k in PUT_ALIAS_BODY_KEYS and k not in ("index", "alias")},
                          "indices": names, "aliases": str(name).split(",")}}
        await services.submit(UpdateAliases(actions=(action,)), ack_timeout(query))
        return respond({"acknowledged": True})

    for path in ("/<index>/_alias/<name>", "/<index>/_aliases/<name>", "/_alias/<name>", "/_aliases/<name>",
                 "/<index>/_alias", "/_alias"):
        app.add_url_rule(path, f"put_alias{path}", put_alias, methods=["PUT"] if "<name>" not in path or
                         path.startswith("/_") else ["PUT", "POST"])

    async def delete_alias(index: str, name: str) -> Any:
        query = params()
        state = services.state
        names = resolve_indices(state, index, options(query, STRICT_EXPAND_OPEN_CLOSED))
        import fnmatch

        patterns = [part for part in name.split(",") if part]
        removals = []
        for index_name in names:
            for alias in state.indices[index_name].aliases:
                if any(pattern in ("_all", "*") or fnmatch.fnmatchcase(alias, pattern) for pattern in patterns):
                    removals.append({"remove": {"index": index_name, "alias": alias}})
        if not removals:
            return respond({"error": {"root_cause": [{"type": "aliases_not_found_exception",
                                                      "reason": f"aliases [{name}] missing",
                                                      "resource.type": "aliases", "resource.id": name}],
                                      "type": "aliases_not_found_exception", "reason": f"aliases [{name}] missing",
                                      "resource.type": "aliases", "resource.id": name}, "status": 404}, 404)
        await services.submit(UpdateAliases(actions=tuple(removals)), ack_timeout(query))
        return respond({"acknowledged": True})

    for path in ("/<index>/_alias/<name>", "/<index>/_aliases/<name>"):
        app.add_url_rule(path, f"delete_alias{path}", delete_alias, methods=["DELETE"])

    async def get_aliases(index: str | None = None, name: str | None = None) -> Any:
        query = params()
        state = services.state
        names = resolve_indices(state, index, options(query, STRICT_EXPAND_OPEN_CLOSED if index is None
                                                      else STRICT_EXPAND_OPEN))
        import fnmatch

        patterns = [part for part in (name or "").split(",") if part and part != "_all"]
        body: dict[str, Any] = {}
        found_aliases = set()
        for index_name in names:
            aliases = {alias: alias_view(value) for alias, value in sorted(state.indices[index_name].aliases.items())
                       if not patterns or any(fnmatch.fnmatchcase(alias, pattern) for pattern in patterns)}
            found_aliases.update(aliases)
            if aliases or not patterns:
                body[index_name] = {"aliases": aliases}
        missing = [pattern for pattern in patterns if "*" not in pattern and pattern not in found_aliases]
        if patterns and missing:
            if request.method == "HEAD":
                return respond(b"", 404)
            missing = sorted(set(missing))  # OpenSearch lists them sorted, "aliases" when more than one
            body.update({"error": f"alias{'es' if len(missing) > 1 else ''} [{','.join(missing)}] missing",
                         "status": 404})
            return respond(body, 404)
        if request.method == "HEAD":
            return respond(b"", 200 if (found_aliases or not patterns) else 404)
        return respond(body)

    app.add_url_rule("/_alias", "get_all_aliases", get_aliases, methods=["GET", "HEAD"])
    app.add_url_rule("/_aliases", "get_all_aliases_plural", get_aliases, methods=["GET"])
    app.add_url_rule("/_alias/<name>", "get_named_aliases", get_aliases, methods=["GET", "HEAD"])
    app.add_url_rule("/<index>/_alias", "get_index_aliases", get_aliases, methods=["GET", "HEAD"])
    app.add_url_rule("/<index>/_aliases", "get_index_aliases_plural", get_aliases, methods=["GET"])
    for path in ("/<index>/_alias/<name>", "/<index>/_aliases/<name>"):
        app.add_url_rule(path, f"get_alias{path}", get_aliases, methods=["GET", "HEAD"])

    # ------------------------------------------------------------------ refresh / flush / forcemerge

    async def broadcast(index: str | None, method: str, payload: dict, timeout_seconds: float = 30.0) -> Any:
        return respond(await broadcast_answer(broadcast_targets(index, params()), method, payload, timeout_seconds))

    def broadcast_targets(index: str | None, query: dict[str, str]) -> list[str]:
        """The open indices a broadcast reaches (404 for a missing one; a closed one named exactly
        is 400 index_closed_exception unless ignore_unavailable)."""
        index_options = options(query, STRICT_EXPAND_OPEN)
        names = resolve_indices(services.state, index, index_options)
        state = services.state
        # a closed index named exactly is refused (or skipped with ignore_unavailable), as
        # OpenSearch's broadcast actions (strict expand open, forbid closed)
        open_names = []
        for name in names:
            index_metadata = state.indices[name]
            if index_metadata.state == "open":
                open_names.append(name)
            elif not index_options.ignore_unavailable:
                raise ApiError("closed", opensearch_type="index_closed_exception", status=400,
                               index_uuid=index_metadata.uuid, index=name)
        return open_names

    async def broadcast_answer(names: list[str], method: str, payload: dict,
                               timeout_seconds: float = 30.0) -> dict[str, Any]:
        """``method`` on every started copy of ``names``: the ``_shards`` answer (no request
        context needed, so a background task can run it)."""
        state = services.state
        total = successful = 0
        failures: list[dict] = []

        async def one(index_name: str, shard_number: int, shard_copy: Any) -> None:
            nonlocal successful
            try:
                await services.director.call_copy(state.indices[index_name], shard_number, shard_copy, method,
                                                  payload, b"", timeout_seconds=timeout_seconds)
                successful += 1
            except Exception as error:  # noqa: BLE001 — reported in _shards.failures
                failures.append({"shard": shard_number, "index": index_name, "status": "INTERNAL_SERVER_ERROR",
                                 "reason": {"type": getattr(error, "opensearch_type", "exception"),
                                            "reason": getattr(error, "reason", str(error))}})

        async with trio.open_nursery() as nursery:
            for index_name in names:
                for shard in state.routing_table.get(index_name, ()):
                    total += len(shard.copies)
                    # every started copy, as OpenSearch broadcasts refresh/flush/forcemerge
                    for shard_copy in shard.copies:
                        if shard_copy.state in ("STARTED", "RELOCATING"):
                            nursery.start_soon(one, index_name, shard.shard_number, shard_copy)
        metrics = getattr(services.context, "metrics", None)
        if metrics is not None and successful:
            metrics.record_shard_operation(method, successful)
        shards: dict[str, Any] = {"total": total, "successful": successful, "failed": len(failures)}
        if failures:
            shards["failures"] = failures
        return {"_shards": shards}

    async def clear_cache_handler(index: str | None = None) -> Any:
        # Quidditch keeps no request, query or fielddata cache: there is nothing to clear, and
        # each copy answers as cleared (the shards still report, as OpenSearch's broadcast)
        query = params()
        names = resolve_indices(services.state, index, options(query, STRICT_EXPAND_OPEN))
        state = services.state
        total = sum(len(shard.copies) for name in names for shard in state.routing_table.get(name, ()))
        started = sum(1 for name in names for shard in state.routing_table.get(name, ())
                      for shard_copy in shard.copies if shard_copy.state in ("STARTED", "RELOCATING"))
        return respond({"_shards": {"total": total, "successful": started, "failed": 0}})

    app.add_url_rule("/_cache/clear", "clear_cache_all", clear_cache_handler, methods=["POST"])
    app.add_url_rule("/<index>/_cache/clear", "clear_cache_index", clear_cache_handler, methods=["POST"])

    async def resolve_index_handler(name: str) -> Any:
        """GET /_resolve/index/{name}: the indices and aliases an expression names."""
        query = params()
        state = services.state
        index_options = IndicesOptions.from_params(query, IndicesOptions(expand_closed=False))
        names = resolve_indices(state, name, IndicesOptions(index_options.expand_open, index_options.expand_closed,
                                                            True, True, expand_hidden=index_options.expand_hidden))
        import fnmatch

        patterns = [part for part in name.split(",") if part]
        indices_body = []
        for index_name in sorted(names):
            index_metadata = state.indices[index_name]
            if not any(fnmatch.fnmatchcase(index_name, pattern) for pattern in patterns):
                continue  # reached through an alias: listed under aliases only
            attributes = ["open" if index_metadata.state == "open" else "closed"]
            if str(index_metadata.settings.get("index.hidden", "false")).lower() == "true":
                attributes.append("hidden")
            entry: dict[str, Any] = {"name": index_name}
            if index_metadata.aliases:
                entry["aliases"] = sorted(index_metadata.aliases)
            entry["attributes"] = attributes
            streams = [stream for stream, body in data_streams(state).items()
                       if any(entry_["index_name"] == index_name for entry_ in body["indices"])]
            if streams:
                entry["data_stream"] = streams[0]
            indices_body.append(entry)
        aliases_body = [{"name": alias, "indices": sorted(state.resolve_alias(alias))}
                        for alias in sorted(state.all_alias_names())
                        if any(fnmatch.fnmatchcase(alias, pattern) for pattern in patterns)]
        streams_body = [{"name": stream, "backing_indices": [entry["index_name"] for entry in body["indices"]
                                                             if entry["index_name"] in state.indices],
                         "timestamp_field": body["timestamp_field"]["name"]}
                        for stream, body in sorted(data_streams(state).items())
                        if any(fnmatch.fnmatchcase(stream, pattern) for pattern in patterns)]
        return respond({"indices": indices_body, "aliases": aliases_body, "data_streams": streams_body})

    app.add_url_rule("/_resolve/index/<name>", "resolve_index", resolve_index_handler, methods=["GET"])

    async def refresh_handler(index: str | None = None) -> Any:
        return await broadcast(index, "refresh", {})

    app.add_url_rule("/_refresh", "refresh_all", refresh_handler, methods=["GET", "POST"])
    app.add_url_rule("/<index>/_refresh", "refresh_index", refresh_handler, methods=["GET", "POST"])

    async def flush_handler(index: str | None = None) -> Any:
        query = params()
        # OpenSearch's FlushRequest.validate: a forced flush must wait for an ongoing one
        if parse_boolean(query.get("force"), "force", False) and \
                not parse_boolean(query.get("wait_if_ongoing"), "wait_if_ongoing", True):
            raise ActionRequestValidationError("wait_if_ongoing must be true for a force flush")
        return await broadcast(index, "flush", {})

    app.add_url_rule("/_flush", "flush_all", flush_handler, methods=["GET", "POST"])
    app.add_url_rule("/<index>/_flush", "flush_index", flush_handler, methods=["GET", "POST"])

    async def forcemerge_handler(index: str | None = None) -> Any:
        query = params()
        max_segments = parse_integer(query.get("max_num_segments"), "max_num_segments", None, minimum=1)
        if parse_boolean(query.get("only_expunge_deletes"), "only_expunge_deletes", False) and max_segments:
            raise ActionRequestValidationError("cannot set only_expunge_deletes and max_num_segments at the same time, "
                                               "those two parameters are mutually exclusive")
        flush = parse_boolean(query.get("flush"), "flush", True)
        payload = {"max_num_segments": max_segments or 1, "flush": flush}
        if parse_boolean(query.get("wait_for_completion"), "wait_for_completion", True):
            # OpenSearch answers when every copy has merged, however long that takes: a remote
            # copy's merge of a few hundred thousand documents outlasts the 30 s of a refresh
            return await broadcast(index, "force_merge", payload, FORCE_MERGE_TASK_SECONDS)
        # wait_for_completion=false (OpenSearch 2.7+): the merge runs as a task on this node and its
        # `_shards` answer is kept for GET _tasks/{id} (node/api/tasks.py); a long merge may take
        # longer than a waiting request's 30 s per copy
        from node.api.tasks import start_background_task

        names = broadcast_targets(index, query)

        async def run() -> tuple[dict, int]:
            return await broadcast_answer(names, "force_merge", payload, timeout_seconds=FORCE_MERGE_TASK_SECONDS), 200

        expunge = parse_boolean(query.get("only_expunge_deletes"), "only_expunge_deletes", False)
        # OpenSearch 2.13+ (ForceMergeRequest.getDescription) names primary_only too; a merge here
        # runs on every copy, so the flag only echoes what was asked
        primary_only = parse_boolean(query.get("primary_only"), "primary_only", False)
        description = (f"Force-merge indices [{', '.join(names)}], maxSegments[{max_segments or -1}], "
                       f"onlyExpungeDeletes[{str(expunge).lower()}], flush[{str(flush).lower()}], "
                       f"primaryOnly[{str(primary_only).lower()}]")
        return respond({"task": start_background_task(app, services, FORCE_MERGE_ACTION, description, run)})

    app.add_url_rule("/_forcemerge", "forcemerge_all", forcemerge_handler, methods=["POST"])
    app.add_url_rule("/<index>/_forcemerge", "forcemerge_index", forcemerge_handler, methods=["POST"])

    # ------------------------------------------------------------------ stats

    async def stats_handler(index: str | None = None, metric: str | None = None) -> Any:
        query = params()
        names = resolve_indices(services.state, index, options(query, STRICT_EXPAND_OPEN))
        answers = await gather_shard_statistics(services, names)
        every_copy = await gather_copy_statistics(services, names)
        state = services.state
        total_copies = sum(len(shard.copies) for name in names for shard in state.routing_table.get(name, ()))
        successful = [answer for answer in answers if answer.statistics is not None]
        sections = index_stats_sections_for(metric, request.path)
        human = parse_boolean(query.get("human"), "human", False)

        def select(section: dict[str, Any]) -> dict[str, Any]:
            if sections is not None:
                section = {key: value for key, value in section.items() if key in sections}
            if human and "get" in section:
                section = {**section, "get": get_section_with_human_times(section["get"])}
            return section

        def copies_of(name: str | None) -> list[dict]:
            return [statistics for (index_name, _, _), statistics in every_copy.items()
                    if name is None or index_name == name]

        counters_all = _sum_counters(services, names)
        all_primaries = select(index_stats_section([answer.statistics for answer in successful], counters_all))
        all_total = select(index_stats_section(copies_of(None), counters_all))
        indices_body = {}
        if query.get("level", "indices") != "cluster":
            for name in names:
                per_index = [answer.statistics for answer in successful if answer.index_name == name]
                counters = services.index_counters.get(name)
                index_body: dict[str, Any] = {
                    "uuid": state.indices[name].uuid,
                    "primaries": select(index_stats_section(per_index, counters)),
                    "total": select(index_stats_section(copies_of(name), counters))}
                if query.get("level") == "shards":
                    shards_body: dict[str, list] = {}
                    for shard in state.routing_table.get(name, ()):
                        for shard_copy in shard.copies:
                            statistics = every_copy.get((name, shard.shard_number, shard_copy.allocation_id))
                            if statistics is None:
                                continue
                            shards_body.setdefault(str(shard.shard_number), []).append({
                                "routing": {"state": shard_copy.state, "primary": shard_copy.primary,
                                            "node": shard_copy.node_id},
                                **select(index_stats_section([statistics], None)),
                                "seq_no": {"max_seq_no": statistics["max_seq_no"],
                                           "local_checkpoint": statistics["local_checkpoint"],
                                           "global_checkpoint": statistics["global_checkpoint"]}})
                    index_body["shards"] = shards_body
                indices_body[name] = index_body
        body = {"_shards": {"total": total_copies, "successful": len(every_copy),
                            "failed": max(0, len(answers) - len(successful))},
                "_all": {"primaries": all_primaries, "total": all_total}}
        if query.get("level", "indices") != "cluster":
            body["indices"] = indices_body
        return respond(body)

    app.add_url_rule("/_stats", "stats_all", stats_handler, methods=["GET"])
    app.add_url_rule("/_stats/<metric>", "stats_all_metric", stats_handler, methods=["GET"])
    app.add_url_rule("/<index>/_stats", "stats_index", stats_handler, methods=["GET"])
    app.add_url_rule("/<index>/_stats/<metric>", "stats_index_metric", stats_handler, methods=["GET"])

    # ------------------------------------------------------------------ analyze

    async def analyze_handler(index: str | None = None) -> Any:
        query = params()
        body = await read_json_body() or {}
        if not isinstance(body, dict):
            raise IllegalArgumentError("_analyze body must be an object")
        for key in ("analyzer", "tokenizer", "text", "field"):
            if key in query and key not in body:
                body[key] = query[key]
        if "filter" in query and "filter" not in body:
            body["filter"] = query["filter"].split(",")
        text = body.get("text")
        if text is None:
            raise ActionRequestValidationError("text is missing")
        registry = DEFAULT_ANALYSIS_REGISTRY
        analyzer_name = body.get("analyzer")
        if index is not None:
            names = resolve_indices(services.state, index, STRICT_EXPAND_OPEN)
            if len(names) != 1:
                raise IllegalArgumentError(f"_analyze needs exactly one index, [{index}] resolved to {len(names)}")
            metadata = services.state.indices[names[0]]
            registry = AnalysisRegistry.from_index_settings(metadata.settings)
            field = body.get("field")
            if field is not None and analyzer_name is None and body.get("tokenizer") is None:
                from index.mapping import Mapping

                field_mapping = Mapping.from_json(metadata.mappings).field(field)
                if field_mapping is not None and field_mapping.type == "text":
                    analyzer_name = field_mapping.analyzer
                elif field_mapping is not None:
                    analyzer_name = "keyword"
        elif body.get("field") is not None:
            raise IllegalArgumentError("analysis by [field] requires an index")
        filters = body.get("filter") or body.get("token_filter")
        max_token_count = DEFAULT_MAX_TOKEN_COUNT
        if index is not None:
            raw_limit = services.state.indices[names[0]].settings.get("index.analyze.max_token_count")
            if raw_limit is not None:
                max_token_count = parse_integer(raw_limit, "index.analyze.max_token_count")
        explain = parse_boolean(body.get("explain", query.get("explain")), "explain", False)
        if explain:
            attributes = body.get("attributes")
            if isinstance(attributes, str):
                attributes = attributes.split(",")
            detail = analyze_detail(registry, text, analyzer=analyzer_name, tokenizer=body.get("tokenizer"),
                                    filters=filters, char_filters=body.get("char_filter"),
                                    normalizer=body.get("normalizer"), attributes=attributes)
            produced = max((len(stage["tokens"]) for stage in _detail_stages(detail)), default=0)
            if produced > max_token_count:
                raise IllegalArgumentError(
                    f"The number of tokens produced by calling _analyze has exceeded the allowed maximum of"
                    f" [{max_token_count}]. This limit can be set by changing the [index.analyze.max_token_count]"
                    " index level setting.")
            return respond({"detail": {"custom_analyzer": detail.pop("custom_analyzer"), **detail}})
        tokens = analyze(registry, text, analyzer=analyzer_name, tokenizer=body.get("tokenizer"),
                         filters=filters, char_filters=body.get("char_filter"), max_token_count=max_token_count,
                         normalizer=body.get("normalizer"))
        return respond({"tokens": [{"token": token.term, "start_offset": token.start_offset,
                                    "end_offset": token.end_offset, "type": token.type, "position": token.position}
                                   for token in tokens]})

    def _detail_stages(detail: dict) -> list[dict]:
        stages = [detail["analyzer"]] if "analyzer" in detail else []
        if "tokenizer" in detail:
            stages.append(detail["tokenizer"])
        return stages + list(detail.get("tokenfilters") or [])

    app.add_url_rule("/_analyze", "analyze_global", analyze_handler, methods=["GET", "POST"])
    app.add_url_rule("/<index>/_analyze", "analyze_index", analyze_handler, methods=["GET", "POST"])

    # ------------------------------------------------------------------ open / close

    @app.route("/<index>/_close", methods=["POST"])
    async def close_index(index: str) -> Any:
        query = params()
        names = resolve_indices(services.state, index, options(query, STRICT_EXPAND_OPEN))
        if not names:
            return respond({"acknowledged": True, "shards_acknowledged": True, "indices": {}})
        await services.submit(CloseIndex(index_names=tuple(names)), ack_timeout(query))
        return respond({"acknowledged": True, "shards_acknowledged": True,
                        "indices": {name: {"closed": True} for name in names}})

    @app.route("/<index>/_open", methods=["POST"])
    async def open_index(index: str) -> Any:
        query = params()
        names = resolve_indices(services.state, index, options(query, IndicesOptions(expand_closed=True)))
        if names:
            await services.submit(OpenIndex(index_names=tuple(names)), ack_timeout(query))
        shards_acknowledged = True
        for name in names:
            shards_acknowledged &= await services.wait_for_active_shards(
                name, query.get("wait_for_active_shards", "1"), ack_timeout(query))
        return respond({"acknowledged": True, "shards_acknowledged": shards_acknowledged})


def _definition_at(mappings: dict, path: str) -> dict | None:
    """The mapping JSON of ``path`` (objects through "properties", multi-fields through "fields")."""
    node: Any = mappings
    for part in path.split("."):
        if not isinstance(node, dict):
            return None
        container = node.get("properties") or {}
        if part in container:
            node = container[part]
        elif part in (node.get("fields") or {}):
            node = node["fields"][part]
        else:
            return None
    return node if isinstance(node, dict) else None


def _sum_counters(services: Any, names: list[str]) -> Any:
    from node.coordination.stats import IndexCounters

    summed = IndexCounters()
    for name in names:
        counters = services.index_counters.get(name)
        if counters is None:
            continue
        for field_name in ("index_total", "index_failed", "index_time_millis", "delete_total", "delete_time_millis",
                           "noop_update_total", "query_total", "query_time_millis", "fetch_total",
                           "fetch_time_millis", "scroll_total"):
            setattr(summed, field_name, getattr(summed, field_name) + getattr(counters, field_name))
    return summed


def concrete_alias_action(state: Any, action: Any) -> dict[str, Any]:
    """One _aliases action with index (and, for remove, alias) expressions made concrete."""
    if not isinstance(action, dict) or len(action) != 1:
        raise IllegalArgumentError(f"[aliases] each action must be an object with one key, got [{action}]")
    (action_type, body), = action.items()
    if action_type not in ("add", "remove", "remove_index"):
        raise IllegalArgumentError(f"[aliases] unknown action [{action_type}]")
    if not isinstance(body, dict):
        raise IllegalArgumentError(f"[aliases] action [{action_type}] must be an object")
    for list_key in ("indices", "aliases"):
        if isinstance(body.get(list_key), list) and not body[list_key]:
            raise IllegalArgumentError(f"[{list_key}] can't be empty")  # OpenSearch's AliasActions parser
    expressions = []
    if body.get("index") is not None:
        expressions.append(body["index"])
    indices_value = body.get("indices")
    if indices_value is not None:
        expressions.extend(indices_value if isinstance(indices_value, list) else [indices_value])
    if not expressions:
        raise ActionRequestValidationError("One of [index] or [indices] is required")
    index_options = STRICT_EXPAND_OPEN if action_type == "add" else LENIENT_EXPAND_OPEN
    if action_type == "remove_index":
        # remove_index takes concrete indices only: an alias here is an error, as in OpenSearch
        for expression in expressions:
            if expression not in state.indices and "*" not in expression:
                if state.resolve_alias(expression):
                    raise IllegalArgumentError(f"The provided expression [{expression}] matches an alias, specify "
                                               f"the corresponding concrete indices instead.")
                raise IndexNotFoundError(expression)
    names: list[str] = []
    for expression in expressions:
        for name in resolve_indices(state, str(expression), index_options if action_type != "add" or "*" in
                                    str(expression) else STRICT_EXPAND_OPEN):
            if name not in names:
                names.append(name)
    if not names:
        raise IndexNotFoundError(",".join(str(e) for e in expressions))
    concrete = {key: value for key, value in body.items() if key not in ("index", "indices")}
    concrete["indices"] = names
    if action_type == "remove":
        import fnmatch

        patterns = []
        if body.get("alias") is not None:
            patterns.append(body["alias"])
        if body.get("aliases") is not None:
            patterns.extend(body["aliases"] if isinstance(body["aliases"], list) else [body["aliases"]])
        if any("*" in str(pattern) or pattern == "_all" for pattern in patterns):
            matched = sorted({alias for name in names for alias in state.indices[name].aliases
                              if any(pattern == "_all" or fnmatch.fnmatchcase(alias, str(pattern))
                                     for pattern in patterns)})
            concrete.pop("alias", None)
            concrete["aliases"] = matched
            concrete["must_exist"] = False  # each expanded alias need only exist on some of the indices
            if not matched:
                raise ApiError(f"aliases [{','.join(map(str, patterns))}] missing",
                               opensearch_type="aliases_not_found_exception")
    return {action_type: concrete}
