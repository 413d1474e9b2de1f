"""The quart-trio app factory: request ids, body limit, content types, GET /, metrics endpoint.

``create_app(context)`` builds the app and calls ``node.api.register_routes(app, context)``
(node-api's) when that module exists. Handlers return ``application/json`` bodies (orjson bytes);
``after_request`` rewrites the content type to the compatible media type the client asked for
(``application/vnd.elasticsearch+json; compatible-with=7`` ...), echoes ``X-Opaque-Id``, adds
``X-Elastic-Product`` when configured, and records the request's metrics by route rule.

This module must never implement an OpenSearch API beyond ``GET /`` and must never translate
engine or Raft errors (node/errors.py does).
"""

from __future__ import annotations

import importlib
import itertools
import os
import time
from typing import Any

import orjson
from quart import Response, request
from quart_trio import QuartTrio
from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound, RequestEntityTooLarge

from node.http.context import NodeContext
from node.http.errors import opensearch_error_body, plain_error_body
from node.logs import request_id

JSON_CONTENT_TYPE = "application/json; charset=UTF-8"
# Request bodies OpenSearch accepts (plus Elasticsearch 7/8 clients' compatibility types).
ACCEPTED_BODY_MEDIA_TYPES = frozenset({
    "application/json", "application/x-ndjson",
    "application/vnd.elasticsearch+json", "application/vnd.elasticsearch+x-ndjson",
    "application/vnd.opensearch+json", "application/vnd.opensearch+x-ndjson",
})
COMPATIBLE_MEDIA_TYPE_PREFIXES = ("application/vnd.elasticsearch+", "application/vnd.opensearch+")

BUILD_HASH = "0000000000000000000000000000000000000000"
BUILD_DATE = "2021-01-01T00:00:00.000000Z"
LUCENE_VERSION = "8.7.0"  # what OpenSearch 1.x / ES 7.10.2 report; clients only display it


def media_type(header_value: str | None) -> str:
    return (header_value or "").split(";", 1)[0].strip().lower()


def compatible_response_type(accept: str | None, content_type: str | None) -> str | None:
    """The vendor media type to answer with, when the client asked for one."""
    for header_value in (accept, content_type):
        for candidate in (header_value or "").split(","):
            candidate = candidate.strip()
            if media_type(candidate).startswith(COMPATIBLE_MEDIA_TYPE_PREFIXES):
                base = media_type(candidate).replace("x-ndjson", "json")
                parameters = [part.strip() for part in candidate.split(";")[1:] if part.strip()]
                compatible = [p for p in parameters if p.lower().startswith("compatible-with")]
                return "; ".join([base, *compatible])
    return None


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """An orjson response; ``body`` may already be bytes."""
    data = body if isinstance(body, (bytes, bytearray)) else orjson.dumps(body)
    return Response(data, status=status, headers=headers, content_type=JSON_CONTENT_TYPE)


def root_document(context: NodeContext) -> dict[str, Any]:
    config = context.config
    state = context.metadata.state
    return {
        "name": context.node_name,
        "cluster_name": context.cluster_name,
        "cluster_uuid": getattr(state, "cluster_uuid", "_na_"),
        "version": {
            "distribution": "quidditch",
            "number": config.version_number,
            "build_flavor": "default",
            "build_type": "tar",
            "build_hash": BUILD_HASH,
            "build_date": BUILD_DATE,
            "build_snapshot": False,
            "lucene_version": LUCENE_VERSION,
            "minimum_wire_compatibility_version": "6.8.0",
            "minimum_index_compatibility_version": "6.0.0-beta1",
        },
        "tagline": "You Know, for Search",
    }


def create_app(context: NodeContext, register_api: bool = True) -> QuartTrio:
    """The app; ``register_api=False`` leaves node/api out (tests of this module alone)."""
    app = QuartTrio("quidditch")
    config = context.config
    app.config["MAX_CONTENT_LENGTH"] = config.max_content_length_bytes
    # a 100 MB bulk over a slow link must not hit Quart's 60 s default body timeout
    app.config["BODY_TIMEOUT"] = 600
    app.config["RESPONSE_TIMEOUT"] = None
    app.config["PROVIDE_AUTOMATIC_OPTIONS"] = False
    app.extensions["quidditch"] = context
    metrics = context.metrics
    too_large_reason = (f"request body is too large: the limit (--max-content-length) is "
                        f"{config.max_content_length_bytes} bytes")

    # Per-request work is on the hot path (~2,000 req/s budget on 2 cores): the request proxy is
    # resolved once per hook, request ids come from a counter, label children are cached.
    request_counter = itertools.count(1)
    request_id_prefix = os.urandom(4).hex()
    request_counters: dict[tuple[str, str, str], Any] = {}
    duration_histograms: dict[tuple[str, str], Any] = {}

    @app.before_request
    async def start_request() -> Response | None:
        current = request._get_current_object()  # type: ignore[attr-defined]
        headers = current.headers
        opaque_id = headers.get("X-Opaque-Id")
        request_id.set(opaque_id or f"{request_id_prefix}-{next(request_counter)}")
        current.quidditch_started = time.perf_counter()
        metrics.http_requests_in_flight.inc()
        current.quidditch_in_flight = True
        content_length = current.content_length
        if content_length is not None and content_length > config.max_content_length_bytes:
            return json_response(opensearch_error_body(
                "content_too_long_exception", f"{too_large_reason}, got {content_length} bytes", 413), 413)
        if content_length or "Transfer-Encoding" in headers:
            content_type = headers.get("Content-Type")
            if content_type and media_type(content_type) not in ACCEPTED_BODY_MEDIA_TYPES:
                return json_response(plain_error_body(
                    f"Content-Type header [{content_type}] is not supported", 406), 406)
        return None

    @app.after_request
    async def finish_request(response: Response) -> Response:
        current = request._get_current_object()  # type: ignore[attr-defined]
        request_headers = current.headers
        response_headers = response.headers
        accept = request_headers.get("Accept")
        request_content_type = request_headers.get("Content-Type")
        if ((accept and "vnd." in accept) or (request_content_type and "vnd." in request_content_type)) \
                and media_type(response_headers.get("Content-Type")) == "application/json":
            vendor_type = compatible_response_type(accept, request_content_type)
            if vendor_type:
                response_headers["Content-Type"] = vendor_type
        opaque_id = request_headers.get("X-Opaque-Id")
        if opaque_id:
            response_headers["X-Opaque-Id"] = opaque_id
        if config.elastic_product_header:
            response_headers["X-Elastic-Product"] = "Elasticsearch"
        method = current.method
        if method == "HEAD" and not getattr(response, "is_streamed", False):
            # HEAD answers like GET without the body, keeping the length GET would send
            full_length = len(await response.get_data())
            response.set_data(b"")
            response_headers["Content-Length"] = str(full_length)
        started = getattr(current, "quidditch_started", None)
        if started is not None:
            rule = current.url_rule
            endpoint = rule.rule if rule is not None else "unmatched"
            counter_key = (endpoint, method, str(response.status_code))
            counter = request_counters.get(counter_key)
            if counter is None:
                counter = request_counters[counter_key] = metrics.http_requests.labels(*counter_key)
            counter.inc()
            histogram = duration_histograms.get(counter_key[:2])
            if histogram is None:
                histogram = duration_histograms[counter_key[:2]] = \
                    metrics.http_request_duration.labels(endpoint, method)
            histogram.observe(time.perf_counter() - started)
        return response

    @app.teardown_request
    async def end_request(error: BaseException | None) -> None:
        # teardown runs even when the client went away mid-request, unlike after_request
        if getattr(request, "quidditch_in_flight", False):
            request.quidditch_in_flight = False  # type: ignore[attr-defined]
            metrics.http_requests_in_flight.dec()

    @app.errorhandler(RequestEntityTooLarge)
    async def body_too_large(error: HTTPException) -> Response:
        return json_response(opensearch_error_body("content_too_long_exception", too_large_reason, 413), 413)

    @app.errorhandler(NotFound)
    async def no_such_route(error: HTTPException) -> Response:
        # OpenSearch answers an unknown endpoint with 400 and a bare string error
        return json_response(plain_error_body(
            f"no handler found for uri [{request.full_path.rstrip('?')}] and method [{request.method}]",
            400), 400)

    @app.errorhandler(MethodNotAllowed)
    async def wrong_method(error: MethodNotAllowed) -> Response:
        allowed = ", ".join(sorted(error.valid_methods or ()))
        return json_response(plain_error_body(
            f"Incorrect HTTP method for uri [{request.full_path.rstrip('?')}] and method "
            f"[{request.method}], allowed: [{allowed}]", 405), 405)

    @app.route("/", methods=["GET", "HEAD"])
    async def root() -> Response:
        return json_response(root_document(context))

    @app.route("/_prometheus/metrics", methods=["GET"])
    async def prometheus_metrics() -> Response:
        return Response(metrics.exposition(), status=200, content_type=metrics.content_type)

    if register_api:
        register_api_routes(app, context)
    return app


def register_api_routes(app: QuartTrio, context: NodeContext) -> bool:
    """Call node.api.register_routes when node-api's package exists; False when it does not."""
    try:
        api = importlib.import_module("node.api")
    except ModuleNotFoundError as error:
        if error.name != "node.api":
            raise
        context.logger.warning("node.api is missing: only GET / and metrics are served")
        return False
    register_routes = getattr(api, "register_routes", None)
    if register_routes is None:
        context.logger.warning("node.api has no register_routes(app, context): no API routes")
        return False
    register_routes(app, context)
    return True
