"""Single-document APIs: index, create, get, exists, _source, delete, update, _mget.

Routes: PUT|POST /{index}/_doc/{id}, POST /{index}/_doc (auto id), PUT|POST /{index}/_create/{id},
GET|HEAD|DELETE /{index}/_doc/{id}, GET|HEAD /{index}/_source/{id}, POST /{index}/_update/{id},
GET|POST /_mget and /{index}/_mget.

Parameters: refresh, routing, version, version_type, if_seq_no, if_primary_term, op_type,
_source/_source_includes/_source_excludes, realtime, timeout, wait_for_active_shards (accepted;
writes wait for the primary only), retry_on_conflict (update), preference (GET/mget: which copy
reads; see ``read_shard_copy``), stored_fields (``store: true`` fields from the source).
Writes go through node/coordination/writes.py exactly like bulk items; reads go to the shard's
primary (realtime). A scripted _update runs in node/api/scripted_update.py.

This module must never parse a document beyond checking it is one JSON object (writes) and
reading the values of requested stored fields (GET and _mget with stored_fields).
"""

from __future__ import annotations

import difflib
from typing import Any

import orjson
from quart import request

from node.api import params, read_body, read_json_body, respond
from node.api.ingest import (
    dropped_outcome, ingest_may_apply, ingest_write, pipeline_lookup, pipelines_for_update,
)
from node.api.scripted_update import scripted_update
from node.coordination.resolve import (
    data_streams, index_block_error, resolve_write_target, single_index,
)
from node.coordination.source_filter import SourceFilter
from node.coordination.values import parse_boolean, parse_integer, parse_time_seconds
from node.coordination.writes import WriteRequest, execute_writes, parse_source_object
from node.errors import (
    ActionRequestValidationError, ApiError, IllegalArgumentError,
    error_envelope, index_not_found_fields,
)
from raft.routing import shard_for_document

VERSION_TYPES = ("internal", "external", "external_gte")
REFRESH_VALUES = {"": "true", "true": "true", "false": "false", "wait_for": "wait_for"}


def refresh_param(query: dict[str, str]) -> str:
    raw = query.get("refresh")
    if raw is None:
        return "false"
    value = REFRESH_VALUES.get(raw.strip().lower())
    if value is None:
        raise IllegalArgumentError(f"Unknown value for refresh: [{raw}].")
    return value


def timeout_param(query: dict[str, str], default: float = 60.0) -> float:
    raw = query.get("timeout")
    seconds = parse_time_seconds(raw, "timeout") if raw else None
    return default if seconds is None else max(seconds, 0.001)


def write_params(query: dict[str, str]) -> dict[str, Any]:
    version_type = query.get("version_type")
    if version_type is not None and version_type not in VERSION_TYPES:
        raise IllegalArgumentError(f"No version type match [{version_type}]")
    version = parse_integer(query.get("version"), "version")
    if_seq_no = parse_integer(query.get("if_seq_no"), "if_seq_no")
    if_primary_term = parse_integer(query.get("if_primary_term"), "if_primary_term")
    problems = []
    if (if_seq_no is None) != (if_primary_term is None) and if_seq_no is not None:
        problems.append("ifSeqNo is set, but primary term is [0]")
    if if_seq_no is not None and if_seq_no < 0:
        problems.append("ifSeqNo must be non negative")
    if if_primary_term is not None and if_primary_term <= 0 and if_seq_no is not None:
        problems.append("ifPrimaryTerm must be positive")
    if version is not None and (version_type in (None, "internal")):
        problems.append("internal versioning can not be used for optimistic concurrency control. Please use "
                        "`if_seq_no` and `if_primary_term` instead")
    if problems:
        raise ActionRequestValidationError(*problems)
    return {"version": version, "version_type": version_type, "if_seq_no": if_seq_no,
            "if_primary_term": if_primary_term}


def check_document_id(document_id: str | None) -> None:
    if document_id is not None and len(document_id.encode("utf-8")) > 512:
        raise ActionRequestValidationError(
            f"id [{document_id}] is too long, must be no longer than 512 bytes but was: "
            f"{len(document_id.encode('utf-8'))}")


def alias_search_routing(services: Any, name: str) -> str | None:
    for index in services.state.indices.values():
        alias = index.aliases.get(name)
        if alias is not None and alias.search_routing is not None:
            return alias.search_routing
    return None


def shard_of(index: Any, document_id: str, routing: str | None) -> int:
    partition_size = int(index.settings.get("index.routing_partition_size", "1"))
    return shard_for_document(document_id, routing, index.number_of_shards, index.routing_num_shards,
                              partition_size)


def render_write(outcome: Any) -> tuple[dict, int]:
    body = dict(outcome.body)
    status = int(body.pop("status", 200))
    if "error" in body:
        return error_envelope(body["error"], status), status
    return body, status


def require_alias_flag(value: Any) -> bool:
    """``require_alias`` (request parameter or bulk item field): true, false, or empty (true)."""
    if value is None or value is False or value == "false":
        return False
    if value is True or value in ("true", ""):
        return True
    raise IllegalArgumentError(f"Failed to parse value [{value}] as only [true] or [false] are allowed. "
                               f"(parameter [require_alias])")


def require_alias_error(state: Any, name: str) -> ApiError | None:
    """The error of a write sent with ``require_alias: true`` to ``name`` when that is not an alias:
    404 index_not_found_exception, never auto-created. OpenSearch checks the alias, not the index,
    so a write to an existing index by its own name fails too."""
    if state.resolve_alias(name):
        return None
    return ApiError(f"no such index [{name}] and [require_alias] request flag is [true] and [{name}] is not an alias",
                    opensearch_type="index_not_found_exception", status=404, **index_not_found_fields(name))


async def single_write(services: Any, request_item: WriteRequest, query: dict[str, str],
                       return_sources: bool = False) -> Any:
    if require_alias_flag(query.get("require_alias")) and request_item.error is None:
        request_item.error = require_alias_error(services.state, request_item.index or "")
    try:
        target = resolve_write_target(services.state, request_item.index or "")
    except IllegalArgumentError:
        target = None  # an alias without a write index: the write path reports it
    if target is not None:
        blocked = index_block_error(services.state, target.index_name, "write",
                                    deleting=request_item.action == "delete")
        if blocked is not None:
            raise blocked
    with services.admission.write(len(request_item.source)):
        outcomes = await execute_writes(services, [request_item], refresh_param(query), timeout_param(query),
                                        return_sources=return_sources,
                                        wait_for_active_shards=query.get("wait_for_active_shards"))
    return outcomes[0]


async def read_shard_copy(services: Any, index: Any, shard_number: int, method: str, payload: dict,
                          preference: str | None, refresh_first: bool = False) -> tuple[dict, bytes]:
    """A read (get, mget) on the copy ``preference`` picks, as OpenSearch's GET: realtime on
    whichever copy serves it (every copy applies a write before it is acknowledged, and a realtime
    read sees its own log). ``_local``, ``_only_local``, ``_primary``, ``_replica``,
    ``_primary_first``, ``_replica_first``, ``_only_nodes:``, ``_prefer_nodes:`` and custom strings
    order the started copies as search does (node/coordination/search.py ``order_copies``); a copy
    that cannot be reached is skipped for the next. Without a preference the primary serves the read
    (a deliberate choice: a copy the master is about to fail can never answer a read)."""
    if not preference:
        if refresh_first:
            await services.director.call_primary(index.name, shard_number, "refresh", {})
        answer, body, _, _ = await services.director.call_primary(index.name, shard_number, method, payload)
        return answer, body
    from index.errors import IndexEngineError
    from node.coordination.search import order_copies

    shard = services.state.routing_table[index.name][shard_number]
    started = [shard_copy for shard_copy in shard.copies
               if shard_copy.node_id and shard_copy.state in ("STARTED", "RELOCATING")]
    ordered = order_copies(started, services.context.node_id, preference, index.uuid, shard_number)
    if not ordered:
        raise ApiError(f"No shard available for [{index.name}][{shard_number}] with preference [{preference}]",
                       opensearch_type="no_shard_available_action_exception", index=index.name,
                       shard=str(shard_number))
    last_error: BaseException | None = None
    for shard_copy in ordered:
        try:
            if refresh_first:
                await services.director.call_copy(index, shard_number, shard_copy, "refresh", {})
            return await services.director.call_copy(index, shard_number, shard_copy, method, payload)
        except IndexEngineError:
            raise  # the copy answered: an engine error is the answer
        except Exception as error:  # noqa: BLE001 — this copy cannot answer; the next one may
            last_error = error
    assert last_error is not None
    raise last_error


async def fetch_document(services: Any, index: Any, document_id: str, query: dict[str, str],
                         routing: str | None) -> tuple[dict, bytes]:
    realtime = parse_boolean(query.get("realtime"), "realtime", True)
    if routing is None and index.mappings.get("_routing", {}).get("required"):
        # as OpenSearch: a read without routing on an index that requires it is refused, not a miss
        raise ApiError(f"routing is required for [{index.name}]/[{document_id}]",
                       opensearch_type="routing_missing_exception", status=400, index=index.name)
    shard_number = shard_of(index, document_id, routing)
    return await read_shard_copy(services, index, shard_number, "get", {"id": document_id, "realtime": realtime},
                                 query.get("preference"),
                                 refresh_first=parse_boolean(query.get("refresh"), "refresh", False))


def filtered_source(source_bytes: bytes, source_filter: SourceFilter) -> Any:
    if source_filter.is_identity:
        return orjson.Fragment(source_bytes)
    return source_filter.apply(orjson.loads(source_bytes))


UPDATE_BODY_KEYS = ("doc", "upsert", "doc_as_upsert", "detect_noop", "_source", "scripted_upsert", "script")


def did_you_mean(unknown: str, known: Any) -> str:
    """OpenSearch's suggestion suffix for a misspelt key (`` did you mean [doc]?``), or ""."""
    close = difflib.get_close_matches(unknown, list(known), n=1, cutoff=0.6)
    return f" did you mean [{close[0]}]?" if close else ""


def source_enabled(index: Any) -> bool:
    """False when the mapping says ``_source: {enabled: false}``: the source is then never
    returned (GET, _source, _mget), as OpenSearch. Quidditch still keeps it internally — its
    write-ahead log, replication and recovery carry whole operations — see docs/api.md."""
    source_mapping = index.mappings.get("_source")
    return not (isinstance(source_mapping, dict) and source_mapping.get("enabled") is False)


def requested_stored_fields(value: Any) -> list[str] | None:
    """``stored_fields`` as a list of names (a comma-separated parameter or a JSON list); None
    when the request did not ask for stored fields."""
    if value is None:
        return None
    if isinstance(value, str):
        return [name.strip() for name in value.split(",") if name.strip()]
    if isinstance(value, list):
        return [str(name) for name in value]
    raise IllegalArgumentError(f"[stored_fields] must be a string or an array of strings, got [{value!r}]")


def _mapped_property(mappings: dict[str, Any], dotted_path: str) -> dict[str, Any] | None:
    properties = mappings.get("properties", {})
    parts = dotted_path.split(".")
    for depth, part in enumerate(parts):
        node = properties.get(part) if isinstance(properties, dict) else None
        if node is None:
            # a multi-field: title.keyword lives under title's "fields"
            parent = _mapped_property(mappings, ".".join(parts[:depth])) if depth else None
            return (parent or {}).get("fields", {}).get(".".join(parts[depth:])) if parent else None
        if depth == len(parts) - 1:
            return node
        properties = node.get("properties", {})
    return None


def _source_values(source: Any, dotted_path: str) -> list[Any]:
    values = [source]
    for part in dotted_path.split("."):
        next_values = []
        for value in values:
            if isinstance(value, list):
                value = [item.get(part) for item in value if isinstance(item, dict)]
                next_values.extend(item for item in value if item is not None)
            elif isinstance(value, dict) and value.get(part) is not None:
                next_values.append(value[part])
        values = next_values
    flat: list[Any] = []
    for value in values:
        flat.extend(value if isinstance(value, list) else [value])
    return [value for value in flat if value is not None]


def stored_field_values(index: Any, source_bytes: bytes, names: list[str]) -> dict[str, list[Any]]:
    """``fields`` of a GET answer: the values of the requested fields mapped with ``store: true``.
    Quidditch keeps no separate stored-field file: a stored field's values are the ones the
    document's ``_source`` holds for it (what the field was indexed from), which is what
    OpenSearch returns for stored fields of these types. Unmapped or unstored fields are left out,
    as OpenSearch leaves them out."""
    stored = [name for name in names if not name.startswith("_")
              and (_mapped_property(index.mappings, name) or {}).get("store") is True]
    if not stored:
        return {}
    source = orjson.loads(source_bytes)
    fields = {}
    for name in stored:
        values = _source_values(source, name)
        if values:
            fields[name] = values
    return fields


_IGNORING_MAPPINGS: dict[str, tuple[Any, Any]] = {}   # index uuid → (mappings dict, Mapping or None)
_IGNORING_MAPPINGS_KEPT = 64


def _ignoring_mapping(index: Any) -> Any:
    """The index's parsed Mapping when some field may drop a value (ignore_malformed or
    ignore_above), else None; cached per index for as long as its mappings dict is the same object
    (a mapping update replaces it)."""
    from index.mapping import Mapping

    cached = _IGNORING_MAPPINGS.get(index.uuid)
    if cached is not None and cached[0] is index.mappings:
        return cached[1]
    mapping = Mapping.from_json(index.mappings)
    ignoring = mapping if any(field.ignore_malformed or field.ignore_above is not None
                              for field in mapping.fields()) else None
    if len(_IGNORING_MAPPINGS) >= _IGNORING_MAPPINGS_KEPT:
        _IGNORING_MAPPINGS.pop(next(iter(_IGNORING_MAPPINGS)))
    _IGNORING_MAPPINGS[index.uuid] = (index.mappings, ignoring)
    return ignoring


def ignored_field_names(index: Any, source_bytes: bytes) -> list[str]:
    """A GET answer's ``_ignored``: the fields a value of this document was dropped from, found by
    parsing its source with the index's mapping as indexing did (ADR 0347)."""
    mapping = _ignoring_mapping(index)
    if mapping is None or not source_bytes:
        return []
    try:
        return list(mapping.parse_document(orjson.loads(source_bytes)).ignored_fields)
    except Exception:  # noqa: BLE001 — a source the current mapping no longer parses: nothing to report
        return []


def register(app: Any, services: Any) -> None:
    @app.route("/<index>/_doc/<path:document_id>", methods=["PUT", "POST"])
    async def index_document(index: str, document_id: str) -> Any:
        query = params()
        op_type = query.get("op_type", "index")
        if op_type not in ("index", "create"):
            raise IllegalArgumentError(f"opType must be 'create' or 'index', found: [{op_type}]")
        return await _index(services, index, document_id, op_type, query)

    @app.route("/<index>/_doc", methods=["POST"])
    async def index_auto_id(index: str) -> Any:
        query = params()
        # to a data stream an id-less write is a create (OpenSearch's auto-id handler defaults it)
        op_type = query.get("op_type") or ("create" if index in data_streams(services.state) else "index")
        return await _index(services, index, None, op_type, query)

    @app.route("/<index>/_create/<path:document_id>", methods=["PUT", "POST"])
    async def create_document(index: str, document_id: str) -> Any:
        return await _index(services, index, document_id, "create", params())

    @app.route("/<index>/_doc/<path:document_id>", methods=["GET", "HEAD"])
    async def get_document(index: str, document_id: str) -> Any:
        query = params()
        target = single_index(services, index)
        routing = query.get("routing") or alias_search_routing(services, index)
        answer, source = await fetch_document(services, target, document_id, query, routing)
        if not answer.get("found"):
            return respond({"_index": target.name, "_id": document_id, "found": False}, 404)
        _check_get_version(answer, query, target, document_id)
        body: dict[str, Any] = {"_index": target.name, "_id": document_id, "_version": answer["_version"],
                                "_seq_no": answer["_seq_no"], "_primary_term": answer["_primary_term"]}
        if answer.get("_routing") is not None:
            body["_routing"] = answer["_routing"]  # the routing it was indexed with, as OpenSearch's GetResult
        ignored = ignored_field_names(target, source)
        if ignored:
            body["_ignored"] = ignored             # a metadata field, shown by default as OpenSearch's GetResult
        body["found"] = True
        source_filter = SourceFilter.from_params(query)
        stored_fields = requested_stored_fields(query.get("stored_fields"))
        if stored_fields is not None:
            fields = stored_field_values(target, source, stored_fields)
            if fields:
                body["fields"] = fields
            if "_source" not in stored_fields and not any(key.startswith("_source") for key in query):
                source_filter = SourceFilter(False)  # stored_fields without _source: no source, as OpenSearch
        if source_filter.fetch and source_enabled(target):
            body["_source"] = filtered_source(source, source_filter)
        if request.method == "HEAD":
            return respond(b"", 200)
        return respond(body)

    @app.route("/<index>/_source/<path:document_id>", methods=["GET", "HEAD"])
    async def get_source(index: str, document_id: str) -> Any:
        query = params()
        target = single_index(services, index)
        routing = query.get("routing") or alias_search_routing(services, index)
        answer, source = await fetch_document(services, target, document_id, query, routing)
        if not answer.get("found"):
            reason = f"Document not found [{target.name}]/[{document_id}]"
            return respond({"error": {"root_cause": [{"type": "resource_not_found_exception", "reason": reason}],
                                      "type": "resource_not_found_exception", "reason": reason}, "status": 404},
                           404)
        _check_get_version(answer, query, target, document_id)
        if not source_enabled(target):
            reason = f"Source not found [{target.name}]/[{document_id}]"
            return respond({"error": {"root_cause": [{"type": "resource_not_found_exception", "reason": reason}],
                                      "type": "resource_not_found_exception", "reason": reason}, "status": 404},
                           404)
        if request.method == "HEAD":
            return respond(b"", 200)
        source_filter = SourceFilter.from_params(query)
        if source_filter.is_identity:
            return respond(source)
        return respond(source_filter.apply(orjson.loads(source)))

    @app.route("/<index>/_doc/<path:document_id>", methods=["DELETE"])
    async def delete_document(index: str, document_id: str) -> Any:
        query = params()
        check_document_id(document_id)
        item = WriteRequest("delete", index, document_id, b"", routing=query.get("routing"),
                            params=write_params(query))
        outcome = await single_write(services, item, query)
        body, status = render_write(outcome)
        return respond(body, status)

    @app.route("/<index>/_update/<path:document_id>", methods=["POST"])
    async def update_document(index: str, document_id: str) -> Any:
        query = params()
        check_document_id(document_id)
        update_body = await read_json_body(required=True)
        if not isinstance(update_body, dict):
            raise ApiError("request body must be an object", opensearch_type="parse_exception", status=400)
        unknown = sorted(set(update_body) - set(UPDATE_BODY_KEYS))
        if unknown:
            raise ApiError(f"[UpdateRequest] unknown field [{unknown[0]}]{did_you_mean(unknown[0], UPDATE_BODY_KEYS)}",
                           opensearch_type="x_content_parse_exception", status=400)
        if update_body.get("script") is not None:
            if write_params(query)["version"] is not None:
                raise ActionRequestValidationError("can't provide version in update request")
            source_filter = SourceFilter.from_body(
                update_body.get("_source"), SourceFilter.from_params(query)
                if any(k.startswith("_source") for k in query) else SourceFilter(False))
            body, status = await scripted_update(services, index, document_id, update_body, query, source_filter)
            return respond(body, status)
        if update_body.get("doc") is None and update_body.get("upsert") is None:
            raise ActionRequestValidationError("script or doc is missing")
        for key in ("doc", "upsert"):
            if key in update_body and not isinstance(update_body[key], dict):
                raise ApiError(f"[UpdateRequest] failed to parse field [{key}]",
                               opensearch_type="x_content_parse_exception", status=400)
        write = write_params(query)
        if write["version"] is not None:
            raise ActionRequestValidationError("can't provide version in update request")
        source_filter = SourceFilter.from_body(update_body.get("_source"), SourceFilter.from_params(query)
                                               if any(k.startswith("_source") for k in query) else SourceFilter(False))
        forwarded_keys = ("doc", "upsert", "doc_as_upsert", "detect_noop")
        if update_body.get("doc_as_upsert") is True and update_body.get("doc") is not None:
            forwarded_keys = ("doc", "doc_as_upsert", "detect_noop")   # the doc is the upsert, as OpenSearch
        item = WriteRequest("update", index, document_id,
                            orjson.dumps({key: update_body[key] for key in forwarded_keys if key in update_body}),
                            routing=query.get("routing"), params=write,
                            retry_on_conflict=parse_integer(query.get("retry_on_conflict"), "retry_on_conflict",
                                                            0, minimum=0) or 0)
        if ingest_may_apply(services.state, None):
            item = pipelines_for_update(services.state, item, None, pipeline_lookup(lambda: services.state))
        outcome = await single_write(services, item, query, return_sources=source_filter.fetch)
        body, status = render_write(outcome)
        if status == 409 and "upsert" not in update_body and not update_body.get("doc_as_upsert") and \
                "but no document was found" in str(body.get("error", {}).get("reason", "")):
            # OpenSearch's update reads the document first: a missing one is 404 document_missing_exception
            # even with if_seq_no (index/shard.py checks the sequence number first; reported to its owner)
            error = {key: value for key, value in body["error"].items() if key != "root_cause"}
            error.update(type="document_missing_exception", reason=f"[{document_id}]: document missing")
            body, status = error_envelope(error, 404), 404
        if "error" not in body and source_filter.fetch and outcome.source is not None:
            body["get"] = {"_seq_no": body["_seq_no"], "_primary_term": body["_primary_term"], "found": True,
                           "_source": filtered_source(outcome.source, source_filter)}
        return respond(body, status)

    @app.route("/_mget", methods=["GET", "POST"])
    async def multi_get() -> Any:
        return await _mget(services, None)

    @app.route("/<index>/_mget", methods=["GET", "POST"])
    async def multi_get_index(index: str) -> Any:
        return await _mget(services, index)


def _check_get_version(answer: dict, query: dict[str, str], index: Any, document_id: str) -> None:
    wanted = parse_integer(query.get("version"), "version")
    if wanted is not None and wanted != answer["_version"]:
        raise ApiError(f"[{document_id}]: version conflict, current version [{answer['_version']}] is different "
                       f"than the one provided [{wanted}]", opensearch_type="version_conflict_engine_exception",
                       index_uuid=index.uuid, shard=str(shard_of(index, document_id, query.get("routing"))),
                       index=index.name)


async def _index(services: Any, index: str, document_id: str | None, op_type: str, query: dict[str, str]) -> Any:
    check_document_id(document_id)
    if document_id is not None and not document_id:
        raise ActionRequestValidationError("id is missing")
    source = await read_body()
    if not source or not source.strip():
        raise ActionRequestValidationError("source is missing")
    parse_source_object(source)
    write = write_params(query)
    if op_type == "create" and write["version_type"] in ("external", "external_gte"):
        raise ActionRequestValidationError("create operations only support internal versioning. use index instead")
    item = WriteRequest(op_type, index, document_id, source, routing=query.get("routing"), params=write)
    ingested = item
    if ingest_may_apply(services.state, query.get("pipeline")):  # once per cluster state when none is set
        ingested = ingest_write(services.state, item, query.get("pipeline"), pipeline_lookup(lambda: services.state))
    if ingested is None:  # a drop processor dropped it: nothing is written
        return respond({key: value for key, value in dropped_outcome(item).body.items() if key != "status"})
    outcome = await single_write(services, ingested, query)
    body, status = render_write(outcome)
    headers = None
    if status == 201:
        headers = {"Location": f"/{body['_index']}/_doc/{body['_id']}"}
    return respond(body, status, headers)


def _json_token_name(value: Any) -> str:
    """The Jackson token name OpenSearch's parse errors name for a value."""
    if isinstance(value, list):
        return "START_ARRAY"
    if isinstance(value, dict):
        return "START_OBJECT"
    return "VALUE_STRING" if isinstance(value, str) else "VALUE_NUMBER" if isinstance(value, (int, float)) \
        else "VALUE_NULL" if value is None else "VALUE_BOOLEAN"


async def _mget(services: Any, default_index: str | None) -> Any:
    query = params()
    body = await read_json_body(required=True)
    if not isinstance(body, dict):
        raise ActionRequestValidationError("no documents to get")
    default_filter = SourceFilter.from_params(query)
    requests_list: list[dict] = []
    # `docs` and `ids` may both be given: OpenSearch adds the items of each, in body order, and then
    # validates them all (an `ids` item without a default index is "index is missing for doc N")
    for key, value in body.items():
        if key == "docs":
            for entry in value or []:
                if not isinstance(entry, dict):
                    raise IllegalArgumentError("[docs] entries must be objects")
                requests_list.append(entry)
        elif key == "ids":
            if not isinstance(value, list):
                raise ApiError(f"unknown key [ids] for a {_json_token_name(value)}, expected [docs] or [ids]",
                               opensearch_type="parsing_exception", status=400)
            requests_list.extend({"_id": document_id} for document_id in value)
        else:
            raise ApiError(f"unknown key [{key}] for a {_json_token_name(value)}, expected [docs] or [ids]",
                           opensearch_type="parsing_exception", status=400)
    if not requests_list:
        raise ActionRequestValidationError("no documents to get")
    problems = []
    for number, entry in enumerate(requests_list):
        if entry.get("_index", default_index) is None:
            problems.append(f"index is missing for doc {number}")
        if entry.get("_id") is None:
            problems.append(f"id is missing for doc {number}")
    if problems:
        raise ActionRequestValidationError(*problems)
    realtime = parse_boolean(query.get("realtime"), "realtime", True)
    refresh_first = parse_boolean(query.get("refresh"), "refresh", False)
    docs: list[Any] = [None] * len(requests_list)
    groups: dict[tuple[str, int], list[int]] = {}
    targets: list[Any] = []
    for number, entry in enumerate(requests_list):
        name = entry.get("_index", default_index)
        document_id = str(entry["_id"])
        try:
            index = single_index(services, name)
        except ApiError as error:
            fields = {"type": error.opensearch_type, "reason": error.reason, **error.extra}
            docs[number] = {"_index": name, "_id": document_id, "error": {"root_cause": [fields], **fields}}
            targets.append(None)
            continue
        routing = entry.get("routing", entry.get("_routing", query.get("routing")))
        if routing is None and index.mappings.get("_routing", {}).get("required"):
            fields = {"type": "routing_missing_exception",
                      "reason": f"routing is required for [{index.name}]/[{document_id}]", "index": index.name}
            docs[number] = {"_index": index.name, "_id": document_id, "error": {"root_cause": [fields], **fields}}
            targets.append(None)
            continue
        targets.append((index, document_id))
        groups.setdefault((index.name, shard_of(index, document_id, routing)), []).append(number)
    import trio

    async def fetch_group(index_name: str, shard_number: int, numbers: list[int]) -> None:
        ids = [targets[n][1] for n in numbers]
        try:
            answer, sources = await read_shard_copy(services, targets[numbers[0]][0], shard_number, "mget",
                                                    {"ids": ids, "realtime": realtime}, query.get("preference"),
                                                    refresh_first=refresh_first)
        except Exception as error:  # noqa: BLE001 — reported per document, as OpenSearch does
            for n in numbers:
                docs[n] = {"_index": index_name, "_id": targets[n][1],
                           "error": {"type": getattr(error, "opensearch_type", "exception"),
                                     "reason": getattr(error, "reason", str(error))}}
            return
        offset = 0
        for n, meta in zip(numbers, answer["docs"]):
            document_id = targets[n][1]
            if not meta["found"]:
                docs[n] = {"_index": index_name, "_id": document_id, "found": False}
                continue
            source = sources[offset:offset + meta["length"]]
            offset += meta["length"]
            entry_filter = SourceFilter.from_body(requests_list[n].get("_source"), default_filter)
            doc: dict[str, Any] = {"_index": index_name, "_id": document_id, "_version": meta["_version"],
                                   "_seq_no": meta["_seq_no"], "_primary_term": meta["_primary_term"]}
            if meta.get("_routing") is not None:
                doc["_routing"] = meta["_routing"]
            doc["found"] = True
            entry = requests_list[n]
            stored_fields = requested_stored_fields(entry.get("stored_fields", query.get("stored_fields")))
            if stored_fields is not None:
                fields = stored_field_values(targets[n][0], source, stored_fields)
                if fields:
                    doc["fields"] = fields
                if "_source" not in stored_fields and "_source" not in entry:
                    entry_filter = SourceFilter(False)
            if entry_filter.fetch and source_enabled(targets[n][0]):
                doc["_source"] = filtered_source(source, entry_filter)
            docs[n] = doc

    async with trio.open_nursery() as nursery:
        for (index_name, shard_number), numbers in groups.items():
            nursery.start_soon(fetch_group, index_name, shard_number, numbers)
    return respond({"docs": docs})
