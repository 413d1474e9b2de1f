"""The OpenSearch REST API: route registration and what every handler shares.

``register_routes(app, context)`` (called by node/http's app factory) builds the ``ApiServices``
(node/coordination/services.py), starts following the cluster state (shards opened/closed on the
workers), installs the one error handler (node/errors.py's table), and registers the routes of
indices, documents, bulk, cluster and cat — then node.api.search's when that module exists.

Helpers here: ``params()`` (query parameters as a plain dict), ``read_json_body()`` (orjson,
400 parse errors as OpenSearch), ``respond()`` (orjson bytes, status; applies ``filter_path``; YAML for ``format=yaml`` or
``Accept: application/yaml``), ``unwrap()`` (trio's
single-exception groups).

This package must never open a shard or touch Raft except through ApiServices.
"""

from __future__ import annotations

import importlib
from typing import Any

import orjson
from quart import Response, request
from werkzeug.exceptions import HTTPException

from node.coordination.services import EXTENSION_KEY, ApiServices, services_of
from node.errors import ApiError, RequestParsingError, error_body, error_status

JSON_CONTENT_TYPE = "application/json; charset=UTF-8"


YAML_CONTENT_TYPE = "application/yaml"


def wants_yaml() -> bool:
    """OpenSearch answers in YAML for ``format=yaml`` or an ``Accept: application/yaml`` header
    (XContentType.fromMediaType); anything else is JSON."""
    if request.args.get("format", "").lower() == "yaml":
        return True
    accept = request.headers.get("Accept", "")
    return any(part.split(";")[0].strip().lower() in ("application/yaml", "application/x-yaml")
               for part in accept.split(","))


def respond(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    filter_path = request.args.get("filter_path") if status < 400 else None
    if filter_path:
        body = filtered_by_path(orjson.loads(body) if isinstance(body, (bytes, bytearray)) else body, filter_path)
    if wants_yaml():
        import yaml   # only on request: YAML is rare and far slower than orjson

        value = orjson.loads(body) if isinstance(body, (bytes, bytearray)) else orjson.loads(orjson.dumps(body))
        text = "---\n" + yaml.safe_dump(value, default_flow_style=False, sort_keys=False, allow_unicode=True)
        return Response(text.encode("utf-8"), status=status, headers=headers, content_type=YAML_CONTENT_TYPE)
    data = body if isinstance(body, (bytes, bytearray)) else orjson.dumps(body)
    return Response(data, status=status, headers=headers, content_type=JSON_CONTENT_TYPE)


# ------------------------------------------------------------------ filter_path

_NOTHING = object()


def _split_filter(path: str) -> list[str]:
    return [segment for segment in path.strip().split(".") if segment != ""]


def _advance(patterns: list[list[str]], key: str) -> list[list[str]]:
    """The remaining patterns after ``key`` is consumed (an empty list in the result = fully matched)."""
    import fnmatch

    remaining: list[list[str]] = []
    for pattern in patterns:
        if not pattern:
            remaining.append(pattern)
            continue
        head = pattern[0]
        if head == "**":
            remaining.append(pattern)  # ** consumes this key and may consume more
            if len(pattern) == 1:
                remaining.append([])
            else:
                remaining.extend(_advance([pattern[1:]], key))  # ** consumes nothing
        elif head == key or fnmatch.fnmatchcase(key, head):
            remaining.append(pattern[1:])
    return remaining


def _include(value: Any, patterns: list[list[str]]) -> Any:
    if any(not pattern for pattern in patterns):
        return value
    if isinstance(value, dict):
        kept = {}
        for key, item in value.items():
            remaining = _advance(patterns, str(key))
            if remaining:
                filtered = _include(item, remaining)
                if filtered is not _NOTHING:
                    kept[key] = filtered
        return kept if kept else _NOTHING
    if isinstance(value, list):
        kept_items = [filtered for filtered in (_include(item, patterns) for item in value) if filtered is not _NOTHING]
        return kept_items if kept_items else _NOTHING
    return _NOTHING  # a scalar where the path goes deeper


def _exclude(value: Any, patterns: list[list[str]]) -> Any:
    if isinstance(value, dict):
        kept = {}
        for key, item in value.items():
            remaining = _advance(patterns, str(key))
            if any(not pattern for pattern in remaining):
                continue
            kept[key] = _exclude(item, remaining) if remaining else item
        return kept
    if isinstance(value, list):
        return [_exclude(item, patterns) for item in value]
    return value


def filtered_by_path(body: Any, filter_path: str) -> Any:
    """OpenSearch's ``filter_path``: comma-separated dotted paths with ``*`` inside a segment,
    ``**`` for any depth, arrays crossed element by element; ``-path`` excludes. Nothing matched
    answers ``{}``. Applied by ``respond`` to every successful JSON answer."""
    includes = [_split_filter(path) for path in filter_path.split(",") if path.strip() and not path.strip().startswith("-")]
    excludes = [_split_filter(path.strip()[1:]) for path in filter_path.split(",") if path.strip().startswith("-")]
    result = body
    if includes:
        result = _include(body, includes)
        if result is _NOTHING:
            return {}
    if excludes:
        result = _exclude(result, excludes)
    return result


def text_response(text: str, status: int = 200) -> Response:
    return Response(text.encode("utf-8"), status=status, content_type="text/plain; charset=UTF-8")


def params() -> dict[str, str]:
    """Query parameters; a repeated key keeps its last value (OpenSearch rejects repeats)."""
    return {key: value for key, value in request.args.items()}


async def read_body() -> bytes:
    return await request.get_data(cache=False)


async def read_json_body(required: bool = False) -> Any:
    data = await request.get_data()
    if not data or not data.strip():
        if required:
            raise ApiError("request body is required", opensearch_type="parse_exception", status=400)
        return None
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as error:
        raise RequestParsingError(f"request body is not valid JSON: {error}",
                                  opensearch_type="json_parse_exception") from None


def unwrap(error: BaseException) -> BaseException:
    """trio nurseries wrap a lone failure in an ExceptionGroup; OpenSearch reports the failure."""
    while isinstance(error, BaseExceptionGroup) and len(error.exceptions) == 1:
        error = error.exceptions[0]
    if isinstance(error, BaseExceptionGroup):
        return error.exceptions[0]
    return error


def register_routes(app: Any, context: Any) -> None:
    services = ApiServices(context)
    app.extensions[EXTENSION_KEY] = services
    services.director.attach()

    @app.errorhandler(Exception)
    async def translate_error(error: Exception) -> Any:
        error = unwrap(error)
        if isinstance(error, HTTPException):
            return respond({"error": error.description or error.name, "status": error.code or 400},
                           error.code or 400)
        status = error_status(error)
        if status >= 500 and not isinstance(error, ApiError):
            context.logger.error("request failed", exc_info=error)
        return respond(error_body(error), status)

    from node.api import bulk, cat, cluster, documents, indices, ingest, monitoring, templates

    indices.register(app, services)
    ingest.register(app, services)
    templates.register(app, services)
    documents.register(app, services)
    bulk.register(app, services)
    cluster.register(app, services)
    from node.api import reroute  # the operator's allocation commands (lead, session 5)

    reroute.register(app, services)
    from node.api import allocation_explain  # why a copy is (not) allocated (lead, session 5)

    allocation_explain.register(app, services)
    from node.api import rollover  # a new index behind a write alias (lead, session 5)

    rollover.register(app, services)
    from node.api import resize  # _shrink, _split, _clone by copying documents (lead, session 7)

    resize.register(app, services)
    from node.api import snapshots  # _snapshot repositories, snapshots and restore (lead, session 7)

    snapshots.register(app, services)
    from node.api import data_streams  # _data_stream and auto-created data streams (lead, session 7)

    data_streams.register(app, services)
    cat.register(app, services)
    monitoring.register(app, services)
    from node.api import tasks  # _tasks; _reindex and the by-query requests run as tasks (compat6)

    tasks.register(app, services)
    from node.api import udf  # owner udf-node: /_udf routes, wasm_udf/script_score at this coordinator

    udf.register(app, services)
    try:
        search = importlib.import_module("node.api.search")
    except ModuleNotFoundError as error:
        if error.name != "node.api.search":
            raise
        return
    search.register_routes(app, context)


__all__ = ["ApiServices", "filtered_by_path", "read_body", "read_json_body", "params", "register_routes", "respond", "services_of",
           "text_response", "unwrap"]
