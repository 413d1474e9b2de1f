"""The ASGI front door: a few hot routes answered before Quart, everything else handed to Quart.

``FastRouteApplication(app, context)`` wraps the Quart app that ``create_app`` built. A request
``GET|POST /_search``, ``/{index}/_search``, ``/_count`` or ``/{index}/_count`` whose headers
are ordinary (a known length within the body limit, a JSON or NDJSON content type or none, no
chunked body, no HEAD) is read, handed to the handler node/api registered for that action with
``register_fast_route`` (index expression, query parameters, body bytes → status, body bytes),
and answered with ONE ``http.response.start`` and ONE ``http.response.body`` event whose headers
are built here exactly as Quart and ``create_app``'s hooks build them: the compatible vendor
media type, ``X-Opaque-Id``, ``X-Elastic-Product``, the request id, the in-flight gauge and the
per-route request metrics. Quart's request context, hooks and routing cost about as much front
CPU as the whole hello request (docs/benchmarks.md, issue 3); a search pays for none of them.

Anything unusual — another path or method, a repeated query parameter, ``filter_path`` (applied
by node/api's ``respond``), a chunked body, a body over the limit, an unsupported content type —
falls through to Quart unchanged, so the answers
there (413, 406, 405, 404-as-400 ...) stay where they are written.

This module must never implement an OpenSearch API or translate errors itself: the handlers
(node/api/search.py) answer, with node/errors.py's one table.
"""

from __future__ import annotations

import itertools
import os
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable
from urllib.parse import parse_qsl

from node.http.app import ACCEPTED_BODY_MEDIA_TYPES, JSON_CONTENT_TYPE, compatible_response_type, media_type
from node.logs import request_id

FAST_ROUTES_KEY = "quidditch_fast_routes"
FAST_METHODS = frozenset({"GET", "POST"})
# query parameters node/api's ``respond`` applies to every answer (``filter_path``): a request
# carrying one is left to Quart, so the answer is shaped by that one implementation
RESPONSE_SHAPING_PARAMETERS = frozenset({"filter_path"})
JSON_CONTENT_TYPE_BYTES = JSON_CONTENT_TYPE.encode("latin-1")

# (index expression or None, query parameters, raw body) → (HTTP status, JSON body bytes)
FastHandler = Callable[[str | None, dict[str, str], bytes], Awaitable[tuple[int, bytes]]]


@dataclass(frozen=True, slots=True)
class FastRoute:
    """One action (the last path segment: ``_search``) served without Quart. The two rules are
    the Quart rules of the same handler, used as the metrics' endpoint label so a request counts
    under the same name whichever path served it."""

    action: str
    handler: FastHandler
    rule_without_index: str
    rule_with_index: str


def register_fast_route(app: Any, route: FastRoute) -> None:
    """Called by node/api when it registers the Quart routes of the same action."""
    app.extensions.setdefault(FAST_ROUTES_KEY, {})[route.action] = route


def registered_fast_routes(app: Any) -> dict[str, FastRoute]:
    return dict(getattr(app, "extensions", {}).get(FAST_ROUTES_KEY, {}))


class FastRouteApplication:
    """The ASGI callable hypercorn serves: the registered fast routes, then the Quart app."""

    def __init__(self, app: Any, context: Any) -> None:
        self.app = app
        self.routes = registered_fast_routes(app)
        config = context.config
        self.max_body_bytes = int(config.max_content_length_bytes)
        self.elastic_product_header = bool(config.elastic_product_header)
        self.metrics = context.metrics
        self.request_counter = itertools.count(1)
        self.request_id_prefix = os.urandom(4).hex() + "f"
        self.request_counters: dict[tuple[str, str, str], Any] = {}
        self.duration_histograms: dict[tuple[str, str], Any] = {}
        self.requests_served = 0          # by the fast path (tests and statistics)

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "http" and scope["method"] in FAST_METHODS:
            matched = self.match(scope)
            if matched is not None:
                await self.serve(scope, receive, send, *matched)
                return
        await self.app(scope, receive, send)

    def match(self, scope: dict) -> tuple[FastRoute, str | None, dict[str, str], dict[bytes, bytes]] | None:
        """(route, index expression, query parameters, the headers that matter) or None = Quart."""
        if not self.routes or scope.get("root_path"):
            return None
        path = scope["path"]
        parts = path.split("/")
        if len(parts) == 2:
            index_expression = None
        elif len(parts) == 3 and parts[1]:
            index_expression = parts[1]
        else:
            return None
        route = self.routes.get(parts[-1])
        if route is None:
            return None
        wanted: dict[bytes, bytes] = {}
        for name, value in scope["headers"]:
            if name in (b"content-length", b"content-type", b"accept", b"x-opaque-id"):
                if name in wanted:
                    return None           # a repeated header: let Quart's rules decide
                wanted[name] = value
            elif name == b"transfer-encoding":
                return None
        content_length_header = wanted.get(b"content-length")
        if content_length_header is not None:
            try:
                content_length = int(content_length_header)
            except ValueError:
                return None
            if content_length < 0 or content_length > self.max_body_bytes:
                return None
            if content_length:
                content_type = wanted.get(b"content-type")
                if content_type is not None and media_type(content_type.decode("latin-1")) \
                        not in ACCEPTED_BODY_MEDIA_TYPES:
                    return None
        query_string = scope.get("query_string") or b""
        query: dict[str, str] = {}
        if query_string:
            try:
                pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True,
                                  encoding="utf-8", errors="strict")
            except (UnicodeDecodeError, ValueError):
                return None
            for key, value in pairs:
                if key in query or key in RESPONSE_SHAPING_PARAMETERS:
                    return None           # repeated or response-shaping parameter: Quart's answer stands
                query[key] = value
        return route, index_expression, query, wanted

    async def serve(self, scope: dict, receive: Callable, send: Callable, route: FastRoute,
                    index_expression: str | None, query: dict[str, str], headers: dict[bytes, bytes]) -> None:
        started = time.perf_counter()
        opaque_id = headers.get(b"x-opaque-id")
        opaque_text = opaque_id.decode("latin-1") if opaque_id is not None else None
        request_id.set(opaque_text or f"{self.request_id_prefix}-{next(self.request_counter)}")
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            if chunk:
                chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        in_flight = self.metrics.http_requests_in_flight
        in_flight.inc()
        try:
            status, answer = await route.handler(index_expression, query, body)
        finally:
            in_flight.dec()
        content_type = JSON_CONTENT_TYPE_BYTES
        accept = headers.get(b"accept")
        request_content_type = headers.get(b"content-type")
        if (accept is not None and b"vnd." in accept) or (
                request_content_type is not None and b"vnd." in request_content_type):
            vendor_type = compatible_response_type(
                accept.decode("latin-1") if accept is not None else None,
                request_content_type.decode("latin-1") if request_content_type is not None else None)
            if vendor_type:
                content_type = vendor_type.encode("latin-1")
        response_headers = [(b"content-type", content_type), (b"content-length", str(len(answer)).encode())]
        if opaque_id:
            response_headers.append((b"x-opaque-id", opaque_id))
        if self.elastic_product_header:
            response_headers.append((b"x-elastic-product", b"Elasticsearch"))
        await send({"type": "http.response.start", "status": status, "headers": response_headers})
        await send({"type": "http.response.body", "body": answer, "more_body": False})
        self.requests_served += 1
        self.record(route, index_expression, scope["method"], status, started)

    def record(self, route: FastRoute, index_expression: str | None, method: str, status: int,
               started: float) -> None:
        endpoint = route.rule_without_index if index_expression is None else route.rule_with_index
        counter_key = (endpoint, method, str(status))
        counter = self.request_counters.get(counter_key)
        if counter is None:
            counter = self.request_counters[counter_key] = self.metrics.http_requests.labels(*counter_key)
        counter.inc()
        histogram_key = (endpoint, method)
        histogram = self.duration_histograms.get(histogram_key)
        if histogram is None:
            histogram = self.duration_histograms[histogram_key] = \
                self.metrics.http_request_duration.labels(endpoint, method)
        histogram.observe(time.perf_counter() - started)


def with_fast_routes(app: Any) -> Any:
    """The ASGI application to serve: ``app`` itself when nothing registered a fast route (or it
    has no node context), else ``app`` behind a ``FastRouteApplication``."""
    extensions = getattr(app, "extensions", None)
    if not extensions or not extensions.get(FAST_ROUTES_KEY) or "quidditch" not in extensions:
        return app
    return FastRouteApplication(app, extensions["quidditch"])
