"""Ingest pipelines over REST and on the write path (ADR 0305).

Owns the ``_ingest`` routes — ``PUT|GET|DELETE /_ingest/pipeline/{id}`` (comma lists and wildcards
on GET and DELETE), ``GET /_ingest/pipeline``, ``GET|POST /_ingest/pipeline/_simulate`` and
``/_ingest/pipeline/{id}/_simulate`` (``verbose``) — where pipelines are kept, and
``ingest_write(state, request, pipeline_parameter)``: the index/create write a pipeline changes
(``?pipeline=``, the bulk item's ``pipeline``, else ``index.default_pipeline``; then
``index.final_pipeline``; ``_none`` turns the default off), or None when a drop processor dropped it.

Where pipelines live: a pipeline is one persistent cluster setting under
``quidditch.ingest.pipeline.<id>`` whose value is the pipeline's JSON, committed through Raft with
the ordinary PutClusterSettings command — node/api may not add a Raft command (raft/ is another
owner's), and this keeps pipelines replicated, durable and in snapshots for free. The prefix is
hidden from ``GET _cluster/settings`` and ``_cluster/state``, refused by ``PUT _cluster/settings``
and never matched by its wildcard resets (node/api/cluster_settings.py).

The pipeline engine itself is node/api/ingest_processors.py. This module must never run a write:
it hands a changed WriteRequest back to the caller (documents.py, bulk.py).
"""

from __future__ import annotations

import fnmatch
import time
from dataclasses import dataclass
from typing import Any, Callable

import orjson

from node.api import params, read_json_body, respond
from node.api.cluster_settings import HIDDEN_SETTING_PREFIXES
from node.api.indices import ack_timeout
from node.api.ingest_processors import DocumentDropped, IngestDocument, Pipeline, compile_pipeline
from node.coordination.resolve import resolve_write_target
from node.coordination.values import parse_boolean
from node.coordination.writes import WriteOutcome, WriteRequest
from node.errors import ApiError, IllegalArgumentError, error_body
from raft.commands import PutClusterSettings

PIPELINE_SETTING_PREFIX = HIDDEN_SETTING_PREFIXES[0]
NO_PIPELINE = "_none"
SIMULATED_PIPELINE_ID = "_simulate_pipeline"

# compiled pipelines by their stored JSON text: a PUT replaces the text, so a stale entry is never hit
_COMPILED: dict[tuple[str, str], Pipeline] = {}
_COMPILED_LIMIT = 1024


@dataclass
class IngestCounters:
    count: int = 0
    time_in_millis: float = 0.0
    current: int = 0
    failed: int = 0

    def as_json(self) -> dict[str, int]:
        return {"count": self.count, "time_in_millis": int(self.time_in_millis), "current": self.current,
                "failed": self.failed}


class IngestStatistics:
    """This front process's ingest counters (``_nodes/stats/ingest``); reset on restart like the
    other per-front counters."""

    def __init__(self) -> None:
        self.total = IngestCounters()
        self.pipelines: dict[str, IngestCounters] = {}

    def record(self, pipeline_id: str, milliseconds: float, failed: bool) -> None:
        for counters in (self.total, self.pipelines.setdefault(pipeline_id, IngestCounters())):
            counters.count += 1
            counters.time_in_millis += milliseconds
            counters.failed += int(failed)

    def as_json(self, pipeline_ids: list[str]) -> dict[str, Any]:
        return {"total": self.total.as_json(),
                "pipelines": {name: self.pipelines.get(name, IngestCounters()).as_json()
                              for name in sorted(set(pipeline_ids) | set(self.pipelines))}}


INGEST_STATISTICS = IngestStatistics()


def stored_pipelines(state: Any) -> dict[str, str]:
    """pipeline id → its JSON text, from the cluster state."""
    return {key[len(PIPELINE_SETTING_PREFIX):]: value for key, value in state.persistent_settings.items()
            if key.startswith(PIPELINE_SETTING_PREFIX) and isinstance(value, str)}


def is_pipeline_setting(key: str) -> bool:
    return key.startswith(PIPELINE_SETTING_PREFIX)


def pipeline_lookup(state_of: Callable[[], Any]) -> Callable[[str], Pipeline | None]:
    """name → compiled Pipeline (None when missing), reading the cluster state at each call."""
    def lookup(name: str) -> Pipeline | None:
        text = state_of().persistent_settings.get(PIPELINE_SETTING_PREFIX + name)
        if not isinstance(text, str):
            return None
        key = (name, text)
        compiled = _COMPILED.get(key)
        if compiled is None:
            if len(_COMPILED) >= _COMPILED_LIMIT:
                _COMPILED.clear()
            compiled = _COMPILED[key] = compile_pipeline(name, orjson.loads(text), lookup)
        return compiled
    return lookup


# (the cluster state it was computed for, whether any index there names a default or final pipeline):
# the state is immutable, so one answer per applied state
_LAST_STATE_ANSWER: list[Any] = [None, False]


def ingest_may_apply(state: Any, pipeline_parameter: str | None, item_pipelines: dict | None = None) -> bool:
    """Cheap check for the bulk fast path: could any pipeline run for this request?"""
    if pipeline_parameter is not None or item_pipelines:   # even "" (refused where it would run)
        return True
    if _LAST_STATE_ANSWER[0] is not state:
        _LAST_STATE_ANSWER[1] = any(index.settings.get("index.default_pipeline") not in (None, NO_PIPELINE)
                                    or index.settings.get("index.final_pipeline") not in (None, NO_PIPELINE)
                                    for index in state.indices.values())
        _LAST_STATE_ANSWER[0] = state
    return _LAST_STATE_ANSWER[1]


def _require(lookup: Callable[[str], Pipeline | None], name: str) -> Pipeline:
    pipeline = lookup(name)
    if pipeline is None:
        raise IllegalArgumentError(f"pipeline with id [{name}] does not exist")
    return pipeline


def ingest_write(state: Any, request: WriteRequest, pipeline_parameter: str | None,
                 lookup: Callable[[str], Pipeline | None]) -> WriteRequest | None:
    """The index/create ``request`` after its pipelines ran: the same request when none applies, a
    new one with the changed source and metadata, or None when the document was dropped. Raises
    ApiError (400 for a missing pipeline or a processor failure)."""
    if request.action not in ("index", "create") or request.index is None:
        return request
    if pipeline_parameter is not None and pipeline_parameter.strip() == "":
        raise IllegalArgumentError("pipeline with id [] does not exist")
    try:
        target = resolve_write_target(state, request.index)
    except IllegalArgumentError:
        target = None  # an alias without a write index: the write path reports it
    index = state.indices.get(target.index_name) if target is not None else None
    settings = index.settings if index is not None else {}
    if pipeline_parameter is not None:
        default_name = None if pipeline_parameter == NO_PIPELINE else pipeline_parameter
    else:
        default_name = settings.get("index.default_pipeline")
        default_name = None if default_name in (None, NO_PIPELINE) else default_name
    final_name = settings.get("index.final_pipeline")
    final_name = None if final_name in (None, NO_PIPELINE) else final_name
    if default_name is None and final_name is None:
        return request
    pipelines = [_require(lookup, name) for name in (default_name, final_name) if name is not None]
    try:
        source = orjson.loads(request.source)
    except orjson.JSONDecodeError:
        return request  # the shard reports the malformed document as it always does
    if not isinstance(source, dict):
        return request
    document = IngestDocument(source, {"_index": target.index_name if target is not None else request.index,
                                       "_id": request.document_id, "_routing": request.routing})
    try:
        _execute_counted(pipelines, document)
    except DocumentDropped:
        return None
    metadata = document.metadata
    document_id = metadata.get("_id")
    routing = metadata.get("_routing")
    return WriteRequest(request.action, str(metadata.get("_index") or request.index),
                        None if document_id is None else str(document_id), orjson.dumps(document.source),
                        routing=None if routing is None else str(routing), params=request.params,
                        retry_on_conflict=request.retry_on_conflict, error=request.error)


def _execute_counted(pipelines: list[Pipeline], document: IngestDocument) -> None:
    for pipeline in pipelines:
        started = time.perf_counter()
        failed = True
        try:
            pipeline.execute(document)
            failed = False
        except DocumentDropped:
            failed = False
            raise
        finally:
            INGEST_STATISTICS.record(pipeline.pipeline_id, (time.perf_counter() - started) * 1000, failed)


def pipelines_for_update(state: Any, request: WriteRequest, pipeline_parameter: str | None,
                         lookup: Callable[[str], Pipeline | None]) -> WriteRequest:
    """An update whose document may be created (``upsert``, or ``doc`` with ``doc_as_upsert``): the
    document it would create goes through the index's pipelines first, as OpenSearch runs them on
    the update's index request. Other updates are returned unchanged."""
    if request.action != "update" or request.error is not None:
        return request
    try:
        body = orjson.loads(request.source)
    except orjson.JSONDecodeError:
        return request
    if not isinstance(body, dict):
        return request
    key = "doc" if body.get("doc_as_upsert") is True and isinstance(body.get("doc"), dict) else "upsert"
    if not isinstance(body.get(key), dict):
        return request
    as_index = WriteRequest("index", request.index, request.document_id, orjson.dumps(body[key]),
                            routing=request.routing)
    ingested = ingest_write(state, as_index, pipeline_parameter, lookup)
    if ingested is None or ingested is as_index:
        return request
    body[key] = orjson.loads(ingested.source)
    return WriteRequest(request.action, request.index, request.document_id, orjson.dumps(body),
                        routing=request.routing, params=request.params, retry_on_conflict=request.retry_on_conflict,
                        error=request.error)


def dropped_outcome(request: WriteRequest) -> WriteOutcome:
    """What OpenSearch answers for a document a drop processor dropped."""
    return WriteOutcome(request.action, {"_index": request.index, "_id": request.document_id, "_version": -3,
                                         "result": "noop", "_shards": {"total": 0, "successful": 0, "failed": 0},
                                         "status": 200})


# --------------------------------------------------------------------------- _simulate


def _simulated_documents(docs: Any) -> list[IngestDocument]:
    if docs is None:
        raise ApiError("[docs] required property is missing", opensearch_type="parse_exception", status=400,
                       property_name="docs")
    if not isinstance(docs, list):
        raise ApiError(f"[docs] property isn't a list, but of type [{type(docs).__name__}]",
                       opensearch_type="parse_exception", status=400, property_name="docs")
    documents = []
    for entry in docs:
        if not isinstance(entry, dict) or "_source" not in entry:
            raise ApiError("[_source] required property is missing", opensearch_type="parse_exception", status=400,
                           property_name="_source")
        source = entry["_source"]
        if not isinstance(source, dict):
            raise ApiError("[_source] property isn't a map", opensearch_type="parse_exception", status=400,
                           property_name="_source")
        metadata = {"_index": entry.get("_index", "_index"), "_id": entry.get("_id", "_id"),
                    "_routing": entry.get("_routing")}
        for name in ("_version", "_if_seq_no", "_if_primary_term"):
            if entry.get(name) is not None:
                value = entry[name]
                if isinstance(value, bool) or not str(value).lstrip("-").isdigit():
                    raise IllegalArgumentError(f"Failed to parse value [{value}] for [{name}]: expected a number")
                metadata[name] = int(value)
        if entry.get("_version_type") is not None:
            metadata["_version_type"] = entry["_version_type"]
        documents.append(IngestDocument(dict(source), metadata))
    return documents


def _check_referenced_pipelines(definition: Any, lookup: Callable[[str], Pipeline | None]) -> None:
    """_simulate refuses a pipeline processor naming a pipeline that does not exist (names with
    templates are only known per document)."""
    if isinstance(definition, dict):
        reference = definition.get("pipeline")
        if isinstance(reference, dict) and isinstance(reference.get("name"), str) and "{{" not in reference["name"] \
                and not reference.get("ignore_missing_pipeline") and lookup(reference["name"]) is None:
            raise IllegalArgumentError(
                f"Pipeline processor configured for non-existent pipeline [{reference['name']}]")
        for value in definition.values():
            _check_referenced_pipelines(value, lookup)
    elif isinstance(definition, list):
        for value in definition:
            _check_referenced_pipelines(value, lookup)


def simulate(pipeline: Pipeline, documents: list[IngestDocument], verbose: bool) -> dict[str, Any]:
    results: list[Any] = []
    for document in documents:
        trace: list[dict[str, Any]] | None = [] if verbose else None
        document.trace = trace
        try:
            pipeline.execute(document)
        except DocumentDropped:
            results.append({"processor_results": trace} if verbose else None)
            continue
        except ApiError as error:
            results.append({"processor_results": trace} if verbose else {"error": error_body(error)["error"]})
            continue
        results.append({"processor_results": trace} if verbose else {"doc": document.view()})
    return {"docs": results}


# --------------------------------------------------------------------------- routes


def register(app: Any, services: Any) -> None:
    lookup = pipeline_lookup(lambda: services.state)

    @app.route("/_ingest/pipeline/<pipeline_id>", methods=["PUT"])
    async def put_pipeline(pipeline_id: str) -> Any:
        query = params()
        body = await read_json_body(required=True)
        compile_pipeline(pipeline_id, body, lookup)  # refuses what OpenSearch refuses before storing
        text = orjson.dumps(body).decode()
        await services.submit(PutClusterSettings(persistent={PIPELINE_SETTING_PREFIX + pipeline_id: text}),
                              ack_timeout(query))
        return respond({"acknowledged": True})

    def matching(pattern: str | None) -> dict[str, str]:
        stored = stored_pipelines(services.state)
        if pattern is None or pattern in ("*", "_all"):
            return stored
        wanted = [part for part in pattern.split(",") if part]
        return {name: text for name, text in stored.items()
                if any(fnmatch.fnmatchcase(name, part) for part in wanted)}

    @app.route("/_ingest/pipeline", methods=["GET"])
    async def get_all_pipelines() -> Any:
        return await get_pipelines(None)

    @app.route("/_ingest/pipeline/<pipeline_id>", methods=["GET"])
    async def get_pipelines(pipeline_id: str | None) -> Any:
        found = matching(pipeline_id)
        summary = parse_boolean(params().get("summary"), "summary", False)   # only the ids
        body = {name: {} if summary else orjson.loads(text) for name, text in sorted(found.items())}
        if pipeline_id is not None and not found:
            return respond({}, 404)
        return respond(body)

    @app.route("/_ingest/pipeline/<pipeline_id>", methods=["DELETE"])
    async def delete_pipeline(pipeline_id: str) -> Any:
        query = params()
        found = matching(pipeline_id)
        if not found:
            raise ApiError(f"pipeline [{pipeline_id}] is missing", opensearch_type="resource_not_found_exception",
                           status=404)
        await services.submit(PutClusterSettings(
            persistent={PIPELINE_SETTING_PREFIX + name: None for name in found}), ack_timeout(query))
        return respond({"acknowledged": True})

    @app.route("/_ingest/processor/grok", methods=["GET"])
    async def grok_patterns() -> Any:
        from node.api.ingest_grok import CORE_PATTERNS

        patterns = dict(sorted(CORE_PATTERNS.items())) if parse_boolean(params().get("s"), "s", False) \
            else dict(CORE_PATTERNS)
        return respond({"patterns": patterns})

    @app.route("/_ingest/pipeline/_simulate", methods=["GET", "POST"])
    async def simulate_inline() -> Any:
        return await simulate_handler(None)

    @app.route("/_ingest/pipeline/<pipeline_id>/_simulate", methods=["GET", "POST"])
    async def simulate_handler(pipeline_id: str | None) -> Any:
        query = params()
        body = await read_json_body(required=True)
        if not isinstance(body, dict):
            raise ApiError("request body must be an object", opensearch_type="parse_exception", status=400)
        if pipeline_id is None:
            definition = body.get("pipeline")
            if definition is None:
                raise ApiError("[pipeline] required property is missing", opensearch_type="parse_exception",
                               status=400, property_name="pipeline")
            pipeline = compile_pipeline(SIMULATED_PIPELINE_ID, definition, lookup)
            _check_referenced_pipelines(definition.get("processors"), lookup)
        else:
            pipeline = lookup(pipeline_id)
            if pipeline is None:
                raise IllegalArgumentError(f"pipeline [{pipeline_id}] does not exist")
        documents = _simulated_documents(body.get("docs"))
        return respond(simulate(pipeline, documents, parse_boolean(query.get("verbose"), "verbose", False)))
