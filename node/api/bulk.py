"""The _bulk API: POST|PUT /_bulk and /{index}/_bulk, NDJSON (or application/json) bodies.

The body is read once and walked line by line as memoryview slices (no per-line copies); each
item's source line travels to its shard's worker as raw bytes, one ``write`` call per shard per
request (node/coordination/writes.py), and results come back in the request's order with
per-item status and error, ``errors`` and ``took``. Parameters: refresh, routing, timeout,
wait_for_active_shards (accepted), _source (ignored), pipeline (and the item's ``pipeline``, and the
indices' default/final pipelines: node/api/ingest.py runs them here, before routing). Limit: ``quidditch.bulk.max_operations`` (cluster setting, default 100000) items per
request; the body size limit is node/http's. Admission: bounded in-flight writes → 429.

The common shape (every item index/create with only ``_index``/``_id``) takes a columnar path:
one split, one orjson.loads of all action lines, and execute_columnar_writes (writes.py); anything
else — updates, deletes, versions, routing, blank lines, malformed lines — goes through
parse_bulk_body and execute_writes item by item, with the same per-item errors as before.

It must never decode a document's source line (the shard does) — only action lines and update
bodies are parsed here.
"""

from __future__ import annotations

import time
from itertools import chain
from typing import Any

import orjson

from node.api import params, read_body, respond
from node.api.ingest import (
    dropped_outcome, ingest_may_apply, ingest_write, pipeline_lookup, pipelines_for_update,
)
from node.api.documents import (
    filtered_source, refresh_param, require_alias_error, require_alias_flag, timeout_param,
)
from node.coordination.source_filter import SourceFilter
from node.coordination.values import parse_integer
from node.coordination.writes import (
    ColumnarWrites, WriteOutcome, WriteRequest, cyclic_gc_paused, execute_columnar_writes, execute_writes,
)
from node.errors import (
    STATUS_BY_OPENSEARCH_TYPE, ActionRequestValidationError, ApiError, IllegalArgumentError,
    item_error,
)

BULK_ACTIONS = ("index", "create", "update", "delete")
DEFAULT_MAX_BULK_OPERATIONS = 100_000
ACTION_PARAMETERS = {"_index", "_id", "routing", "_routing", "if_seq_no", "if_primary_term", "version",
                     "version_type", "retry_on_conflict", "_retry_on_conflict", "pipeline", "require_alias",
                     "op_type", "_type", "_source", "dynamic_templates"}


def parse_bulk_body(body: bytes, default_index: str | None, query: dict[str, str],
                    max_operations: int) -> list[WriteRequest]:
    """Action lines are parsed; source lines stay memoryview slices of ``body`` (no copies)."""
    if body and not body.endswith(b"\n"):
        raise IllegalArgumentError("The bulk request must be terminated by a newline [\\n]")
    view = memoryview(body)
    find = body.find
    loads = orjson.loads
    requests: list[WriteRequest] = []
    requires_alias_positions: list[int] = []
    source_filters: dict[int, SourceFilter] = {}
    item_pipelines: dict[int, str] = {}
    default_source_filter = (SourceFilter.from_params(query) if any(key.startswith("_source") for key in query)
                             else None)
    default_routing = query.get("routing")
    position = 0
    length = len(body)
    line_number = 0
    while position < length:
        end = find(b"\n", position)
        line_number += 1
        line_start = position
        position = end + 1
        if end == line_start:
            continue
        try:
            action_line = loads(view[line_start:end])
        except orjson.JSONDecodeError:
            if not bytes(view[line_start:end]).strip():
                continue  # a blank line between items, as OpenSearch tolerates
            raise IllegalArgumentError(f"Malformed action/metadata line [{line_number}], expected START_OBJECT "
                                       f"or END_OBJECT but found [a value that is not JSON]") from None
        if type(action_line) is dict and not action_line:
            # OpenSearch's parser reads the object's first token and finds its end
            raise IllegalArgumentError(f"Malformed action/metadata line [{line_number}], expected FIELD_NAME "
                                       f"but found [END_OBJECT]")
        if type(action_line) is not dict or len(action_line) != 1:
            raise IllegalArgumentError(f"Malformed action/metadata line [{line_number}], expected a single "
                                       f"object with one action key")
        (action, metadata), = action_line.items()
        if action not in BULK_ACTIONS:
            raise IllegalArgumentError(f"Malformed action/metadata line [{line_number}], expected field "
                                       f"[create], [delete], [index] or [update] but found [{action}]")
        if type(metadata) is not dict:
            raise IllegalArgumentError(f"Malformed action/metadata line [{line_number}], expected START_OBJECT "
                                       f"but found [{metadata}]")
        if not ACTION_PARAMETERS.issuperset(metadata):
            unknown = sorted(set(metadata) - ACTION_PARAMETERS)
            raise IllegalArgumentError(f"Action/metadata line [{line_number}] contains an unknown parameter "
                                       f"[{unknown[0]}]")
        op_type = metadata.get("op_type")
        if op_type is not None and action == "index":
            if op_type not in ("index", "create"):
                raise IllegalArgumentError(f"opType must be 'create' or 'index', found: [{op_type}]")
            action = op_type      # an index action with op_type create is a create, and is answered as one
        source = EMPTY_SOURCE
        if action != "delete":
            if position >= length:
                raise IllegalArgumentError("The bulk request must be terminated by a newline [\\n]")
            source_end = find(b"\n", position)
            line_number += 1
            trimmed_end = source_end - 1 if source_end > position and body[source_end - 1] == 13 else source_end
            source = view[position:trimmed_end]
            position = source_end + 1
        if len(requests) >= max_operations:
            raise IllegalArgumentError(f"bulk request has more than {max_operations} operations, the limit "
                                       f"(quidditch.bulk.max_operations); split it into smaller requests")
        if default_routing is None and action in FAST_ACTIONS and SIMPLE_METADATA.issuperset(metadata) \
                and "require_alias" not in query:
            # the common case (only _index/_id): nothing else to validate than presence and length
            index = metadata.get("_index", default_index)
            document_id = metadata.get("_id")
            if document_id is not None and type(document_id) is not str:
                document_id = str(document_id)
            if index is not None and len(source) and (document_id is None or len(document_id) <= 128):
                requests.append(WriteRequest(action, index, document_id, source))
                continue
        request = _write_request(action, metadata, source, default_index, default_routing)
        if require_alias_flag(metadata.get("require_alias", query.get("require_alias"))) \
                and action != "delete" and request.error is None:
            requires_alias_positions.append(len(requests))
        if action == "update" and request.error is None:
            source_filter = _update_source_filter(metadata, request.source, default_source_filter)
            if source_filter is not None and source_filter.fetch:
                source_filters[len(requests)] = source_filter
        if metadata.get("pipeline") is not None and action in FAST_ACTIONS:
            item_pipelines[len(requests)] = str(metadata["pipeline"])
        requests.append(request)
    if requires_alias_positions or source_filters or item_pipelines:
        return ParsedBulk(requests, requires_alias_positions, source_filters, item_pipelines)
    return requests


class ParsedBulk(list):
    """The parsed requests plus what the route handler applies after parsing: the positions of
    items sent with ``require_alias: true`` and, per update item that asks for it, the
    ``_source`` filter of the ``get`` its response carries."""

    def __init__(self, requests: list[WriteRequest], requires_alias_positions: list[int],
                 source_filters: dict[int, SourceFilter], item_pipelines: dict[int, str] | None = None) -> None:
        super().__init__(requests)
        self.requires_alias_positions = requires_alias_positions
        self.source_filters = source_filters
        self.item_pipelines = item_pipelines or {}   # position → the item's own ``pipeline``


def _update_source_filter(metadata: dict, update_source: memoryview, default_filter: SourceFilter | None
                          ) -> SourceFilter | None:
    """The ``_source`` an update item returns, as OpenSearch's BulkRequestParser: the action line's
    ``_source``, else the request's ``_source*`` parameters, else the update body's ``_source``."""
    if "_source" in metadata:
        return SourceFilter.from_body(metadata["_source"])
    if default_filter is not None:
        return default_filter
    if b'"_source"' not in update_source:
        return None
    try:
        update_body = orjson.loads(update_source)
    except orjson.JSONDecodeError:
        return None          # reported as the item's error by _check_update_body
    if isinstance(update_body, dict) and "_source" in update_body:
        return SourceFilter.from_body(update_body["_source"])
    return None


def check_empty_ids(requests: list[WriteRequest]) -> None:
    """An index/create item with ``_id: ""`` fails alone, 400 illegal_argument_exception, as
    OpenSearch's IndexRequest refuses it when the item is routed (both parsers keep the empty id;
    this runs on whichever list is executed)."""
    for request in requests:
        if request.document_id == "" and request.error is None and request.action in ("index", "create"):
            request.error = IllegalArgumentError("if _id is specified it must not be empty")


def check_require_alias(state: Any, requests: list[WriteRequest]) -> None:
    """Items sent with ``require_alias: true`` whose target is not an alias fail with 404 (see
    documents.require_alias_error)."""
    for position in getattr(requests, "requires_alias_positions", ()):
        request = requests[position]
        if request.error is None:
            request.error = require_alias_error(state, request.index or "")


def parse_common_bulk_body(body: bytes, default_index: str | None, query: dict[str, str],
                           max_operations: int) -> ColumnarWrites | None:
    """The common shape as columns, or None for anything else (parse_bulk_body then decides,
    with its exact errors): every line pair is an ``index``/``create`` action whose metadata holds
    only a string ``_index`` (or the path's index) and a string ``_id`` of at most 128 characters
    (so at most 512 UTF-8 bytes), followed by a non-empty source line; no blank lines, no ``\r``,
    no ``routing`` parameter. One split finds the lines and one orjson.loads parses every action
    line; the sources are the split's slices, never decoded."""
    if "routing" in query or not body.endswith(b"\n") or b"\r" in body or "require_alias" in query:
        return None
    lines = body.split(b"\n")
    lines.pop()                      # the empty piece after the final newline
    if len(lines) % 2 or not lines:
        return None
    action_lines = lines[0::2]
    count = len(action_lines)
    if count > max_operations:
        return None
    try:
        parsed = orjson.loads(b"[" + b",".join(action_lines) + b"]")
    except orjson.JSONDecodeError:
        return None
    if len(parsed) != count:
        return None                  # a line held more than one value
    sources = lines[1::2]
    if not all(sources):
        return None
    # checks over whole columns (C-speed set/map/chain) rather than ~10 Python checks per line
    try:
        # TypeError: a line that is not an object; ValueError: an object without exactly one key
        pairs = [pair for (pair,) in map(dict.items, parsed)]
    except (TypeError, ValueError):
        return None
    actions = [action for action, _ in pairs]
    if not FAST_ACTIONS.issuperset(actions):
        return None                  # also where a misaligned pair (a delete without source) shows first
    metadatas = [metadata for _, metadata in pairs]
    if set(map(type, metadatas)) != {dict} or not SIMPLE_METADATA.issuperset(chain.from_iterable(metadatas)):
        return None
    index_names = [metadata.get("_index", default_index) for metadata in metadatas]
    document_ids = [metadata.get("_id") for metadata in metadatas]
    if set(map(type, index_names)) != {str} or not ID_TYPES.issuperset(map(type, document_ids)):
        return None
    if max(map(len, filter(None, document_ids)), default=0) > 128:
        return None
    return ColumnarWrites(actions, index_names, document_ids, sources)


EMPTY_SOURCE = memoryview(b"")
SIMPLE_METADATA = frozenset({"_index", "_id"})
ID_TYPES = frozenset({str, type(None)})
FAST_ACTIONS = frozenset({"index", "create"})


def _write_request(action: str, metadata: dict, source: memoryview, default_index: str | None,
                   default_routing: str | None) -> WriteRequest:
    index = metadata.get("_index", default_index)
    document_id = metadata.get("_id")
    if document_id is not None:
        document_id = str(document_id)
    routing = metadata.get("routing", metadata.get("_routing", default_routing))
    item_params = {"version": metadata.get("version"), "version_type": metadata.get("version_type"),
                   "if_seq_no": metadata.get("if_seq_no"), "if_primary_term": metadata.get("if_primary_term")}
    request = WriteRequest(action, index, document_id, bytes(source) if action == "update" else source,
                           routing=None if routing is None else str(routing), params=item_params,
                           retry_on_conflict=int(metadata.get("retry_on_conflict",
                                                              metadata.get("_retry_on_conflict", 0)) or 0))
    problems = []
    if index is None:
        problems.append("index is missing")
    if action in ("update", "delete") and not document_id:
        problems.append("id is missing")
    if document_id is not None and len(document_id.encode("utf-8")) > 512:
        problems.append(f"id [{document_id}] is too long, must be no longer than 512 bytes but was: "
                        f"{len(document_id.encode('utf-8'))}")
    if action != "delete" and len(source) == 0:
        problems.append("source is missing")
    version_type = metadata.get("version_type")
    if version_type is not None and version_type not in ("internal", "external", "external_gte"):
        problems.append(f"No version type match [{version_type}]")
    if metadata.get("version") is not None and version_type in (None, "internal"):
        problems.append("internal versioning can not be used for optimistic concurrency control. Please use "
                        "`if_seq_no` and `if_primary_term` instead")
    if problems:
        request.error = ActionRequestValidationError(*problems)
    elif action == "update" and request.error is None:
        request.error = _check_update_body(request)
    return request


def _check_update_body(request: WriteRequest) -> BaseException | None:
    try:
        update_body = orjson.loads(request.source)
    except orjson.JSONDecodeError as error:
        return ApiError(f"failed to parse the update body: {error}", opensearch_type="x_content_parse_exception",
                        status=400)
    if not isinstance(update_body, dict):
        return ApiError("the update body must be an object", opensearch_type="x_content_parse_exception", status=400)
    if "script" in update_body:
        if update_body.get("doc") is not None:
            return ActionRequestValidationError("can't provide both script and doc")
        return None    # run by node.api.scripted_update when the item's turn comes (_scripted_item)
    if update_body.get("doc") is None and update_body.get("upsert") is None:
        return ActionRequestValidationError("script or doc is missing")
    for key in ("doc", "upsert"):
        if key in update_body and not isinstance(update_body[key], dict):
            return ApiError(f"[UpdateRequest] failed to parse field [{key}]",
                            opensearch_type="x_content_parse_exception", status=400)
    if update_body.get("doc_as_upsert") is True and update_body.get("doc") is not None and "upsert" in update_body:
        # OpenSearch upserts the doc itself then, whatever `upsert` says
        request.source = orjson.dumps({key: value for key, value in update_body.items() if key != "upsert"})
    return None


def _update_script_body(request: WriteRequest) -> dict | None:
    """The update body of a scripted update item (checked by ``_check_update_body``), else None."""
    if request.action != "update" or request.error is not None or b'"script"' not in request.source:
        return None
    update_body = orjson.loads(request.source)
    return update_body if isinstance(update_body, dict) and "script" in update_body else None


async def _scripted_item(services: Any, request: WriteRequest, update_body: dict, query: dict[str, str],
                         source_filter: SourceFilter | None) -> WriteOutcome:
    """One scripted update item, run as ``POST /{index}/_update/{id}`` runs it (read, script, write
    back guarded by seq_no), with the item's routing, retry_on_conflict and if_seq_no/if_primary_term
    and the bulk's refresh/timeout; its answer or error becomes the item."""
    from node.api.scripted_update import scripted_update

    item_query = {key: query[key] for key in ("refresh", "timeout", "wait_for_active_shards") if key in query}
    if request.routing is not None:
        item_query["routing"] = request.routing
    if request.retry_on_conflict:
        item_query["retry_on_conflict"] = str(request.retry_on_conflict)
    for key in ("if_seq_no", "if_primary_term"):
        if request.params.get(key) is not None:
            item_query[key] = str(request.params[key])
    try:
        body, status = await scripted_update(services, request.index, request.document_id, update_body, item_query,
                                             source_filter or SourceFilter(fetch=False))
    except Exception as error:  # noqa: BLE001 — an item's failure is that item's error, as in OpenSearch
        if not isinstance(error, ApiError):
            raise
        fields = item_error(error, request.index, None, None)
        status = error.status or STATUS_BY_OPENSEARCH_TYPE.get(fields["type"], 500)
        return WriteOutcome("update", {"_index": request.index, "_id": request.document_id, "status": status,
                                       "error": fields})
    if status >= 400:
        fields = {key: value for key, value in body.get("error", {}).items() if key != "root_cause"}
        return WriteOutcome("update", {"_index": fields.get("index", request.index), "_id": request.document_id,
                                       "status": status, "error": fields})
    return WriteOutcome("update", {**body, "status": status})


async def _execute_in_order(services: Any, requests: list[WriteRequest], script_bodies: dict[int, dict],
                            query: dict[str, str], refresh: str, timeout: Any, source_filters: dict[int, SourceFilter],
                            wait_for_active_shards: str | None) -> list[WriteOutcome]:
    """``execute_writes`` for a bulk holding scripted update items: the items between two scripted
    ones go as one batch, each scripted item runs on its own after them, so every id sees its
    items in the order of the body, as on OpenSearch's primary."""
    outcomes: list[WriteOutcome] = []
    pending: list[WriteRequest] = []

    async def write_pending() -> None:
        if pending:
            outcomes.extend(await execute_writes(services, list(pending), refresh, timeout,
                                                 return_sources=bool(source_filters),
                                                 wait_for_active_shards=wait_for_active_shards))
            pending.clear()

    for position, request in enumerate(requests):
        update_body = script_bodies.get(position)
        if update_body is None:
            pending.append(request)
            continue
        await write_pending()
        outcomes.append(await _scripted_item(services, request, update_body, query, source_filters.get(position)))
    await write_pending()
    return outcomes


def _add_update_get(outcome: Any, source_filter: SourceFilter) -> None:
    """An update item asked for its ``_source``: the resulting document goes in ``get``, as the
    single update API's response."""
    body = outcome.body
    if "error" in body or outcome.source is None or "_seq_no" not in body:
        return
    body["get"] = {"_seq_no": body["_seq_no"], "_primary_term": body["_primary_term"], "found": True,
                   "_source": filtered_source(outcome.source, source_filter)}


def _run_pipelines(services: Any, requests: list[WriteRequest], pipeline_parameter: str | None,
                   item_pipelines: dict[int, str]) -> dict[int, Any]:
    """Runs each index/create item's pipelines in place (a failure becomes that item's error);
    returns the noop outcomes of the items a drop processor dropped, by position."""
    lookup = pipeline_lookup(lambda: services.state)
    dropped: dict[int, Any] = {}
    for position, request in enumerate(requests):
        if request.error is not None or request.action == "delete":
            continue
        try:
            if request.action == "update":
                requests[position] = pipelines_for_update(services.state, request, None, lookup)
                continue
            ingested = ingest_write(services.state, request, item_pipelines.get(position, pipeline_parameter), lookup)
        except ApiError as error:
            request.error = error
            continue
        if ingested is None:
            dropped[position] = dropped_outcome(request)
        else:
            requests[position] = ingested
    return dropped


def register(app: Any, services: Any) -> None:
    async def bulk(default_index: str | None) -> Any:
        started = time.monotonic()
        query = params()
        refresh = refresh_param(query)
        timeout = timeout_param(query)
        body = await read_body()
        if not body or not body.strip():
            raise ActionRequestValidationError("no requests added")
        max_operations = parse_integer(services.state.setting("quidditch.bulk.max_operations"),
                                       "quidditch.bulk.max_operations", DEFAULT_MAX_BULK_OPERATIONS, minimum=1)
        wait_for_active_shards = query.get("wait_for_active_shards")
        with services.admission.write(len(body)):
            # a pipeline changes sources before routing: such requests take the item-by-item path
            # (an item's own ``pipeline`` already keeps it off the columnar path: its metadata is not the simple shape)
            may_ingest = ingest_may_apply(services.state, query.get("pipeline"))
            with cyclic_gc_paused():
                columns = None if may_ingest else parse_common_bulk_body(body, default_index, query, max_operations)
            if columns is not None and "" in columns.document_ids:
                columns = None        # an empty _id is an item error: the general path reports it
            if columns is not None:
                outcome = await execute_columnar_writes(services, columns, refresh, timeout, wait_for_active_shards)
                if outcome is not None:
                    took = int((time.monotonic() - started) * 1000)
                    # the items are already encoded: the envelope is spliced around them
                    return respond(b'{"took":%d,"errors":%s,"items":%s}' % (
                        took, b"true" if outcome.errors else b"false", outcome.items_json))
                requests = columns.as_write_requests()
            else:
                requests = parse_bulk_body(body, default_index, query, max_operations)
                check_empty_ids(requests)
                check_require_alias(services.state, requests)
            if not requests:
                raise ActionRequestValidationError("no requests added")
            source_filters = getattr(requests, "source_filters", None) or {}
            dropped: dict[int, Any] = {}
            item_pipelines = getattr(requests, "item_pipelines", None) or {}
            ingest_took = None
            if may_ingest or item_pipelines:
                ingest_started = time.monotonic()
                dropped = _run_pipelines(services, requests, query.get("pipeline"), item_pipelines)
                ingest_took = int((time.monotonic() - ingest_started) * 1000)
            to_write = [request for position, request in enumerate(requests) if position not in dropped] \
                if dropped else requests
            script_bodies = {position: update_body for position, request in enumerate(to_write)
                             if (update_body := _update_script_body(request)) is not None}
            if script_bodies:
                positions = [position for position in range(len(requests)) if position not in dropped]
                written = await _execute_in_order(services, to_write, script_bodies, query, refresh, timeout,
                                                  {index: source_filters[position]
                                                   for index, position in enumerate(positions)
                                                   if position in source_filters}, wait_for_active_shards)
            else:
                written = await execute_writes(services, to_write, refresh, timeout,
                                               return_sources=bool(source_filters),
                                               wait_for_active_shards=wait_for_active_shards) if to_write else []
            if dropped:
                remaining = iter(written)
                outcomes = [dropped[position] if position in dropped else next(remaining)
                            for position in range(len(requests))]
            else:
                outcomes = written
        for position, source_filter in source_filters.items():
            _add_update_get(outcomes[position], source_filter)
        items = [{outcome.action: outcome.body} for outcome in outcomes]
        errors = any("error" in outcome.body for outcome in outcomes)
        took = int((time.monotonic() - started) * 1000)
        if ingest_took is not None:
            return respond({"took": took, "ingest_took": ingest_took, "errors": errors, "items": items})
        return respond({"took": took, "errors": errors, "items": items})

    @app.route("/_bulk", methods=["POST", "PUT"])
    async def bulk_all() -> Any:
        return await bulk(None)

    @app.route("/<index>/_bulk", methods=["POST", "PUT"])
    async def bulk_index(index: str) -> Any:
        return await bulk(index)
