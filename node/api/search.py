"""The search REST APIs: _search, _count, _msearch, scroll, point in time (OpenSearch's and
Elasticsearch's routes), _delete_by_query, _update_by_query, _explain, _validate/query,
_search_shards and _field_caps (and, through node/api/reindex.py, _reindex and a scripted
_update_by_query).

``register_routes(app, context)`` (called by node/api/__init__.py) adds the routes; each handler
reads the HTTP request, hands it to node/coordination/search.py's ``SearchCoordinator`` and
renders its answer. Errors are raised, never rendered here: node/errors.py's table (installed by
node/api) turns them into OpenSearch bodies — except inside _msearch, whose items carry their own
error objects.

Accepted and ignored parameters: search_type=query_then_fetch|dfs_query_then_fetch (no DFS
phase: scores use per-shard statistics), request_cache, batched_reduce_size,
pre_filter_shard_size, max_concurrent_shard_requests, ccs_minimize_roundtrips. ``routing``
restricts the search to the routed shards, ``preference`` picks the copies, typed_keys prefixes
aggregation names with their type. Searches pass admission control (429 when over the limit).

``_search`` and ``_count`` are also registered as fast routes (node/http/fast_routes.py): the
ordinary request is answered before Quart by ``fast_search``/``fast_count`` — the same checks,
coordinator call and response as the Quart handlers (which still serve every other shape of the
request), errors rendered with node/errors.py's one table, as node/api's Quart error handler does.

This module must never talk to a worker or parse the query DSL itself.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from node.api import filtered_by_path, params, read_body, read_json_body, respond, services_of, unwrap
from node.api.reindex import register as register_reindex
from node.api.reindex import prepare_by_query, prepare_scripted_update_by_query
from node.api.tasks import respond_as_task
from node.api.script_fields import search_with_script_fields
from node.coordination.search import SearchCoordinator
from node.coordination.values import parse_boolean
from node.errors import (
    ApiError, IllegalArgumentError, RequestParsingError, error_body, error_response_bytes, error_status,
)
from node.http.fast_routes import FastRoute, register_fast_route

SEARCH_TYPES = ("query_then_fetch", "dfs_query_then_fetch")
COORDINATOR_KEY = "quidditch_search"
DEFAULT_MAX_CONCURRENT_SEARCHES = 8


def coordinator_of(app: Any) -> SearchCoordinator:
    return app.extensions[COORDINATOR_KEY]


def _check_search_params(query: dict[str, str]) -> None:
    search_type = query.get("search_type")
    if search_type is not None and search_type not in SEARCH_TYPES:
        raise IllegalArgumentError(f"No search type for [{search_type}]")
    if "typed_keys" in query:
        parse_boolean(query["typed_keys"], "typed_keys")
    for name in ("request_cache", "ccs_minimize_roundtrips", "allow_partial_search_results",
                 "ignore_unavailable", "allow_no_indices", "rest_total_hits_as_int"):
        if name in query:
            parse_boolean(query[name], name)


async def _body_with_source_param(query: dict[str, str]) -> Any:
    """The JSON body, or the ``source`` query parameter (GET clients without bodies)."""
    return _with_source_param(await read_json_body(), query)


def json_body_of(data: bytes) -> Any:
    """What node/api's ``read_json_body`` reads, from bytes already received (the fast routes)."""
    if not data:
        return None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as error:
        if not data.strip():
            return None     # whitespace only: no body (stripped only here, not on every search)
        raise RequestParsingError(f"request body is not valid JSON: {error}",
                                  opensearch_type="json_parse_exception") from None


def _with_source_param(body: Any, query: dict[str, str]) -> Any:
    if body is None and query.get("source"):
        try:
            body = orjson.loads(query["source"])
        except orjson.JSONDecodeError as error:
            raise ApiError(f"request parameter [source] is not valid JSON: {error}",
                           opensearch_type="json_parse_exception", status=400) from None
    return body


def _scroll_id_from(body: Any, query: dict[str, str], path_scroll_id: str | None) -> Any:
    if path_scroll_id:
        return path_scroll_id
    if isinstance(body, dict) and body.get("scroll_id") is not None:
        return body["scroll_id"]
    if query.get("scroll_id"):
        return query["scroll_id"]
    raise ApiError("Validation Failed: 1: scroll id is missing;", opensearch_type="action_request_validation_exception")


def _string_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [part for part in value.split(",") if part]
    if isinstance(value, list):
        return [str(item) for item in value]
    return []


def register_routes(app: Any, context: Any) -> None:
    services = services_of(app)
    coordinator = SearchCoordinator(services)
    app.extensions[COORDINATOR_KEY] = coordinator
    handlers = getattr(context, "transport_handlers", None)
    if handlers is not None:
        for method, handler in coordinator.transport_methods().items():
            handlers.register(method, handler)

    def route(rule: str, endpoint: str, function: Any, methods: list[str]) -> None:
        app.add_url_rule(rule, f"search_{endpoint}", function, methods=methods)

    # ---------------------------------------------------------------- _search

    async def search(index: str | None = None) -> Any:
        query = params()
        _check_search_params(query)
        body = await _body_with_source_param(query)
        with services.admission.search():
            return respond(await search_with_script_fields(services, coordinator, index, body, query))

    route("/_search", "search_all", search, ["GET", "POST"])
    route("/<index>/_search", "search_index", search, ["GET", "POST"])

    def filtered_json(answer: Any, query: dict[str, str]) -> bytes:
        """The answer's JSON, with OpenSearch's ``filter_path`` applied as ``respond`` does."""
        filter_path = query.get("filter_path")
        return orjson.dumps(filtered_by_path(answer, filter_path) if filter_path else answer)

    def error_answer(error: BaseException) -> tuple[int, bytes]:
        """As node/api's Quart error handler renders an error (node/errors.py's table)."""
        error = unwrap(error)
        status, data = error_response_bytes(error)
        if status >= 500 and not isinstance(error, ApiError):
            context.logger.error("request failed", exc_info=error)
        return status, data

    async def fast_search(index: str | None, query: dict[str, str], raw_body: bytes) -> tuple[int, bytes]:
        try:
            _check_search_params(query)
            body = _with_source_param(json_body_of(raw_body), query)
            with services.admission.search():
                return 200, filtered_json(await search_with_script_fields(services, coordinator, index, body, query),
                                          query)
        except Exception as error:  # noqa: BLE001 — every error is an OpenSearch error body
            return error_answer(error)

    register_fast_route(app, FastRoute("_search", fast_search, "/_search", "/<index>/_search"))

    # ---------------------------------------------------------------- scroll

    async def scroll(scroll_id: str | None = None) -> Any:
        query = params()
        body = await read_json_body()
        found = _scroll_id_from(body, query, scroll_id)
        keep_alive = (body.get("scroll") if isinstance(body, dict) else None) or query.get("scroll")
        with services.admission.search():
            return respond(await coordinator.scroll(found, keep_alive, query))

    route("/_search/scroll", "scroll", scroll, ["GET", "POST"])
    route("/_search/scroll/<scroll_id>", "scroll_path", scroll, ["GET", "POST"])

    async def clear_scroll(scroll_id: str | None = None) -> Any:
        body = await read_json_body()
        ids: list[str] = []
        if scroll_id:
            ids = _string_list(scroll_id)
        elif isinstance(body, dict):
            ids = _string_list(body.get("scroll_id"))
        elif params().get("scroll_id"):
            ids = _string_list(params()["scroll_id"])
        if ids == ["_all"] or (not ids and scroll_id == "_all"):
            answer, status = await coordinator.clear_scroll(None)
        else:
            if not ids:
                raise ApiError("Validation Failed: 1: no scroll ids specified;",
                               opensearch_type="action_request_validation_exception")
            answer, status = await coordinator.clear_scroll(ids)
        return respond(answer, status)

    route("/_search/scroll", "clear_scroll", clear_scroll, ["DELETE"])
    route("/_search/scroll/<scroll_id>", "clear_scroll_path", clear_scroll, ["DELETE"])

    # ---------------------------------------------------------------- point in time

    async def open_pit_opensearch(index: str) -> Any:
        return respond(await coordinator.open_point_in_time(index, params()))

    async def open_pit_elasticsearch(index: str) -> Any:
        opened = await coordinator.open_point_in_time(index, params())
        return respond({"id": opened["pit_id"], "_shards": opened["_shards"]})

    route("/<index>/_search/point_in_time", "open_pit", open_pit_opensearch, ["POST"])
    route("/<index>/_pit", "open_pit_es", open_pit_elasticsearch, ["POST"])

    async def delete_pits_opensearch() -> Any:
        body = await read_json_body()
        ids = _string_list(body.get("pit_id")) if isinstance(body, dict) else []
        if not ids:
            raise ApiError("Validation Failed: 1: no pit ids specified;",
                           opensearch_type="action_request_validation_exception")
        closed = await coordinator.close_point_in_time(ids)
        return respond({"pits": [{"pit_id": pit_id, "successful": freed == named}
                                 for pit_id, freed, named in closed]})

    async def delete_all_pits_opensearch() -> Any:
        closed = await coordinator.close_point_in_time(None)
        return respond({"pits": [{"pit_id": pit_id, "successful": freed == named}
                                 for pit_id, freed, named in closed]})

    async def list_pits() -> Any:
        return respond(await coordinator.list_point_in_times())

    async def delete_pit_elasticsearch() -> Any:
        body = await read_json_body()
        pit_id = body.get("id") if isinstance(body, dict) else None
        if not pit_id:
            raise ApiError("Validation Failed: 1: [id] is missing;",
                           opensearch_type="action_request_validation_exception")
        closed = await coordinator.close_point_in_time([pit_id])
        freed = sum(item[1] for item in closed)
        return respond({"succeeded": True, "num_freed": freed}, 200 if freed else 404)

    route("/_search/point_in_time", "delete_pits", delete_pits_opensearch, ["DELETE"])
    route("/_search/point_in_time/_all", "delete_all_pits", delete_all_pits_opensearch, ["DELETE"])
    route("/_search/point_in_time/_all", "list_pits", list_pits, ["GET"])
    route("/_pit", "delete_pit_es", delete_pit_elasticsearch, ["DELETE"])

    # ---------------------------------------------------------------- _count

    async def count(index: str | None = None) -> Any:
        query = params()
        body = await _body_with_source_param(query)
        with services.admission.search():
            return respond(await coordinator.count(index, body, query))

    route("/_count", "count_all", count, ["GET", "POST"])
    route("/<index>/_count", "count_index", count, ["GET", "POST"])

    async def fast_count(index: str | None, query: dict[str, str], raw_body: bytes) -> tuple[int, bytes]:
        try:
            body = _with_source_param(json_body_of(raw_body), query)
            with services.admission.search():
                return 200, filtered_json(await coordinator.count(index, body, query), query)
        except Exception as error:  # noqa: BLE001 — every error is an OpenSearch error body
            return error_answer(error)

    register_fast_route(app, FastRoute("_count", fast_count, "/_count", "/<index>/_count"))

    # ---------------------------------------------------------------- _msearch

    async def msearch(index: str | None = None) -> Any:
        started = time.perf_counter()
        query = params()
        raw = await read_body()
        items = parse_msearch_body(raw, index, query)
        responses: list[Any] = [None] * len(items)
        import trio

        limit = trio.CapacityLimiter(int(query.get("max_concurrent_searches") or DEFAULT_MAX_CONCURRENT_SEARCHES))

        async def one(position: int, item: tuple[str | None, Any, dict[str, str]] | BaseException) -> None:
            if isinstance(item, BaseException):
                responses[position] = {**error_body(item), "status": error_status(item)}
                return
            item_index, item_body, item_params = item
            async with limit:
                try:
                    _check_search_params(item_params)
                    answer = await search_with_script_fields(
                        services, coordinator, item_index, item_body, item_params)
                    responses[position] = {**answer, "status": 200}
                except Exception as error:  # noqa: BLE001 — per-item errors, as OpenSearch
                    from node.api import unwrap

                    error = unwrap(error)
                    responses[position] = {**error_body(error), "status": error_status(error)}

        with services.admission.search():
            async with trio.open_nursery() as nursery:
                for position, item in enumerate(items):
                    nursery.start_soon(one, position, item)
        return respond({"took": int((time.perf_counter() - started) * 1000), "responses": responses})

    route("/_msearch", "msearch_all", msearch, ["GET", "POST"])
    route("/<index>/_msearch", "msearch_index", msearch, ["GET", "POST"])

    # ---------------------------------------------------------------- by-query writes

    async def by_query(action: str, index: str) -> Any:
        """_delete_by_query / _update_by_query (scripted or not) run node/api/reindex.py's
        scroll-and-write driver as a task (node/api/tasks.py): listed in _tasks with a live status,
        cancellable between batches, throttled by requests_per_second, and with
        ``wait_for_completion=false`` answered by a task id. node/coordination/search.py's
        write_by_query (search owner) is no longer called from here."""
        query = params()
        body = await read_json_body()
        if action == "update" and isinstance(body, dict) and body.get("script") is not None:
            job = await prepare_scripted_update_by_query(services, coordinator, index, body, query)
        else:
            job = await prepare_by_query(services, coordinator, action, index, body, query)
        return await respond_as_task(app, services, job, query)

    async def delete_by_query(index: str) -> Any:
        return await by_query("delete", index)

    async def update_by_query(index: str) -> Any:
        return await by_query("update", index)

    route("/<index>/_delete_by_query", "delete_by_query", delete_by_query, ["POST"])
    route("/<index>/_update_by_query", "update_by_query", update_by_query, ["POST"])
    register_reindex(app, services)     # POST /_reindex reads through this coordinator's scroll

    # ---------------------------------------------------------------- explain, validate, shards, field caps

    async def explain(index: str, document_id: str) -> Any:
        query = params()
        body = await _body_with_source_param(query)
        answer, status = await coordinator.explain(index, document_id, body, query)
        return respond(answer, status)

    route("/<index>/_explain/<path:document_id>", "explain", explain, ["GET", "POST"])

    async def validate_query(index: str | None = None) -> Any:
        query = params()
        body = await _body_with_source_param(query)
        return respond(await validate(coordinator, index, body, query))

    route("/_validate/query", "validate_all", validate_query, ["GET", "POST"])
    route("/<index>/_validate/query", "validate_index", validate_query, ["GET", "POST"])

    async def search_shards(index: str | None = None) -> Any:
        return respond(search_shards_body(coordinator, index, params()))

    route("/_search_shards", "search_shards_all", search_shards, ["GET", "POST"])
    route("/<index>/_search_shards", "search_shards_index", search_shards, ["GET", "POST"])

    async def field_caps(index: str | None = None) -> Any:
        query = params()
        body = await read_json_body()
        return respond(field_caps_body(coordinator, index, body, query))

    route("/_field_caps", "field_caps_all", field_caps, ["GET", "POST"])
    route("/<index>/_field_caps", "field_caps_index", field_caps, ["GET", "POST"])


# --------------------------------------------------------------------------- helpers (module level: testable)


MSEARCH_HEADER_KEYS = {"index", "indices", "search_type", "preference", "routing", "request_cache",
                       "allow_partial_search_results", "ignore_unavailable", "allow_no_indices",
                       "expand_wildcards", "ignore_throttled", "ccs_minimize_roundtrips", "scroll",
                       "rest_total_hits_as_int", "type", "types"}


def parse_msearch_body(raw: bytes, default_index: str | None,
                       query: dict[str, str]) -> list[tuple[str | None, Any, dict[str, str]] | BaseException]:
    """NDJSON header/body pairs → (index expression, body, parameters) per item, or the error of
    an item whose header is malformed. A malformed line at the top level fails the whole request."""
    lines = [line for line in raw.split(b"\n")]
    if lines and not lines[-1].strip():
        lines.pop()
    items: list[Any] = []
    position = 0
    inherited = {key: value for key, value in query.items()
                 if key in ("search_type", "rest_total_hits_as_int", "ignore_unavailable", "allow_no_indices",
                            "expand_wildcards", "typed_keys", "ccs_minimize_roundtrips")}
    while position < len(lines):
        header_line = lines[position].strip()
        if not header_line:
            position += 1
            continue
        try:
            header = orjson.loads(header_line)
        except orjson.JSONDecodeError as error:
            raise ApiError(f"failed to parse the msearch header on line {position + 1}: {error}",
                           opensearch_type="json_parse_exception", status=400) from None
        if position + 1 >= len(lines):
            raise ApiError("The msearch request must be terminated by a newline [\\n] and each header line needs "
                           "a body line", opensearch_type="illegal_argument_exception", status=400)
        body_line = lines[position + 1].strip()
        position += 2
        try:
            body = orjson.loads(body_line) if body_line else {}
        except orjson.JSONDecodeError as error:
            raise ApiError(f"failed to parse the msearch body on line {position}: {error}",
                           opensearch_type="json_parse_exception", status=400) from None
        if not isinstance(header, dict):
            items.append(ApiError("msearch header must be an object", opensearch_type="parse_exception", status=400))
            continue
        unknown = sorted(set(header) - MSEARCH_HEADER_KEYS)
        if unknown:
            items.append(ApiError(f"key [{unknown[0]}] is not supported in the metadata section",
                                  opensearch_type="illegal_argument_exception", status=400))
            continue
        index = header.get("index", header.get("indices", default_index))
        if isinstance(index, list):
            index = ",".join(index)
        item_params = dict(inherited)
        for key in ("search_type", "preference", "routing", "request_cache", "allow_partial_search_results",
                    "ignore_unavailable", "allow_no_indices", "expand_wildcards", "rest_total_hits_as_int"):
            if key in header:
                value = header[key]
                item_params[key] = (str(value).lower() if isinstance(value, bool)
                                    else ",".join(value) if isinstance(value, list) else str(value))
        items.append((index, body, item_params))
    return items


async def validate(coordinator: SearchCoordinator, index: str | None, body: Any, query: dict[str, str]) -> dict:
    from index.errors import IndexEngineError
    from index.query import parse_search_request

    index_names = coordinator.resolve(index, query)
    targets, _ = coordinator.shard_targets(index_names)
    if body is not None and not isinstance(body, dict):
        raise ApiError("request body is required to be an object", opensearch_type="parse_exception", status=400)
    unknown = sorted(set(body or {}) - {"query"})
    if unknown:
        raise ApiError(f"request does not support [{unknown[0]}]", opensearch_type="parsing_exception", status=400)
    uri = {key: value for key, value in query.items()
           if key in ("q", "df", "default_operator", "analyzer", "lenient", "analyze_wildcard")}
    explain = parse_boolean(query.get("explain"), "explain", False)
    shards = {"total": 1, "successful": 1, "failed": 0}
    try:
        request = parse_search_request(body, uri, registry=coordinator.services.query_registry)
    except IndexEngineError as error:
        answer: dict[str, Any] = {"_shards": shards, "valid": False}
        if explain:
            answer["error"] = f"{error.opensearch_type}: {error.reason}"
        return answer
    answer = {"_shards": {**shards, "total": max(len(targets), 1), "successful": max(len(targets), 1)},
              "valid": True}
    if explain:
        answer["explanations"] = [{"index": name, "valid": True, "explanation": orjson.dumps(
            request.query.to_json()).decode()} for name in index_names]
    return answer


def search_shards_body(coordinator: SearchCoordinator, index: str | None, query: dict[str, str]) -> dict:
    state = coordinator.state
    index_names = coordinator.resolve(index, query)
    nodes = {}
    shards = []
    indices = {}
    from node.coordination.search import routed_shards

    for index_name in sorted(index_names):
        indices[index_name] = {}
        routed = routed_shards(state.indices[index_name], query["routing"]) if query.get("routing") else None
        for shard in state.routing_table.get(index_name, ()):
            if routed is not None and shard.shard_number not in routed:
                continue
            copies = []
            for shard_copy in shard.copies:
                if shard_copy.node_id is not None and shard_copy.node_id in state.nodes:
                    node = state.nodes[shard_copy.node_id]
                    nodes[node.node_id] = {"name": node.name, "ephemeral_id": node.node_id,
                                           "transport_address": node.transport_address,
                                           "attributes": dict(node.attributes), "roles": list(node.roles)}
                copies.append({"state": shard_copy.state, "primary": shard_copy.primary,
                               "node": shard_copy.node_id, "relocating_node": None, "shard": shard.shard_number,
                               "index": index_name,
                               "allocation_id": {"id": shard_copy.allocation_id} if shard_copy.allocation_id else None})
            shards.append(copies)
    return {"nodes": nodes, "indices": indices, "shards": shards}


FIELD_CAPS_TYPES = {"text": "text", "keyword": "keyword", "long": "long", "integer": "integer", "short": "short",
                    "byte": "byte", "double": "double", "float": "float", "boolean": "boolean", "date": "date"}


def field_caps_body(coordinator: SearchCoordinator, index: str | None, body: Any, query: dict[str, str]) -> dict:
    import fnmatch

    from index.mapping import Mapping

    fields_param = query.get("fields")
    patterns: list[str] = _string_list(fields_param) if fields_param else []
    if isinstance(body, dict) and body.get("fields"):
        patterns += _string_list(body["fields"])
    if not patterns:
        raise ApiError("Validation Failed: 1: specified fields can't be null or empty;",
                       opensearch_type="action_request_validation_exception")
    index_names = coordinator.resolve(index, query)
    state = coordinator.state
    by_field: dict[str, dict[str, dict]] = {}
    for index_name in sorted(index_names):
        mapping = Mapping.from_json(state.indices[index_name].mappings)
        for field in mapping.fields():
            if not any(fnmatch.fnmatchcase(field.path, pattern) for pattern in patterns):
                continue
            type_name = FIELD_CAPS_TYPES.get(field.type, field.type)
            entry = by_field.setdefault(field.path, {}).setdefault(type_name, {
                "type": type_name, "searchable": bool(field.index),
                "aggregatable": field.type != "text" and bool(field.doc_values), "indices": []})
            entry["indices"].append(index_name)
    fields: dict[str, dict] = {}
    for path, types in sorted(by_field.items()):
        fields[path] = {}
        for type_name, entry in types.items():
            rendered = {key: value for key, value in entry.items() if key != "indices"}
            if len(types) > 1:
                rendered["indices"] = entry["indices"]
            fields[path][type_name] = rendered
    return {"indices": sorted(index_names), "fields": fields}


__all__ = ["coordinator_of", "field_caps_body", "parse_msearch_body", "register_routes", "search_shards_body"]
