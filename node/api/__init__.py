"""The OpenSearch REST API: route registration and what every handler shares.

``register_routes(app, context)`` (called by node/http's app factory) builds the ``ApiServices``
(node/coordination/services.py), starts following the cluster state (shards opened/closed on the
workers), installs the one error handler (node/errors.py's table), and registers the routes of
indices, documents, bulk, cluster and cat — then node.api.search's when that module exists.

Helpers here: ``params()`` (query parameters as a plain dict), ``read_json_body()`` (orjson,
400 parse errors as OpenSearch), ``respond()`` (orjson bytes, status), ``unwrap()`` (trio's
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


def respond(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    data = body if isinstance(body, (bytes, bytearray)) else orjson.dumps(body)
    return Response(data, status=status, headers=headers, content_type=JSON_CONTENT_TYPE)


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

    from node.api import bulk, cat, cluster, documents, indices, monitoring

    indices.register(app, services)
    documents.register(app, services)
    bulk.register(app, services)
    cluster.register(app, services)
    cat.register(app, services)
    monitoring.register(app, services)
    from node.api import udf  # owner udf-node: /_udf routes, wasm_udf/script_score at this coordinator

    udf.register(app, services)
    try:
        search = importlib.import_module("node.api.search")
    except ModuleNotFoundError as error:
        if error.name != "node.api.search":
            raise
        return
    search.register_routes(app, context)


__all__ = ["ApiServices", "read_body", "read_json_body", "params", "register_routes", "respond", "services_of",
           "text_response", "unwrap"]
