"""node/http/fast_routes.py: _search/_count requests of the ordinary shape are answered by the
registered fast handler with the same status line, headers and body Quart would send; every
other shape of request falls through to Quart unchanged."""

import logging
from types import SimpleNamespace

import orjson
import trio
from quart import request

from node.config import NodeConfig
from node.http.app import create_app, json_response
from node.http.context import NodeContext
from node.http.fast_routes import FastRoute, FastRouteApplication, register_fast_route, with_fast_routes
from node.http.serving import serve_http
from node.metrics import NodeMetrics
from raft.state import initial_cluster_state


def echo_bytes(index, query, body: bytes) -> bytes:
    return orjson.dumps({"index": index, "query": query, "body": body.decode()})


def make_app(with_fast: bool, elastic_product_header: bool = False):
    config = NodeConfig(node_name="n1", workers=1, elastic_product_header=elastic_product_header)
    metrics = NodeMetrics()
    context = NodeContext(
        config=config, node_id="id-1", node_name="n1", cluster_name="c1", started_at_millis=0,
        metadata=SimpleNamespace(state=initial_cluster_state("c1")), workers=None,
        metrics=metrics, logger=logging.getLogger("test.http"), background=None,
        transport_handlers=None, peers=None)
    app = create_app(context, register_api=False)
    fast_calls = []

    async def quart_search(index=None):
        status = 400 if request.args.get("fail") else 200
        return json_response(echo_bytes(index, dict(request.args.items()), await request.get_data()), status)

    app.add_url_rule("/_search", "search_all", quart_search, methods=["GET", "POST"])
    app.add_url_rule("/<index>/_search", "search_index", quart_search, methods=["GET", "POST"])

    async def fast_search(index, query, body):
        fast_calls.append((index, query, body))
        return (400 if query.get("fail") else 200), echo_bytes(index, query, body)

    if with_fast:
        register_fast_route(app, FastRoute("_search", fast_search, "/_search", "/<index>/_search"))
    return app, fast_calls, metrics


async def read_response(stream, buffer: bytearray) -> tuple[bytes, bytes, bytearray]:
    while b"\r\n\r\n" not in buffer:
        buffer += await stream.receive_some(65536)
    head, _, rest = bytes(buffer).partition(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    rest = bytearray(rest)
    while len(rest) < length:
        rest += await stream.receive_some(65536)
    return head, bytes(rest[:length]), rest[length:]


def comparable(head: bytes) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    """The status line and the headers (lower-cased names, sorted), without the Date header."""
    lines = head.split(b"\r\n")
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() != b"date":
            headers.append((name.strip().lower(), value.strip()))
    return lines[0], sorted(headers)


REQUESTS = [
    b"POST /bench/_search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 10\r\n\r\n"
    b'{"size":1}',
    b"GET /_search?q=a%20b&size=3 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /bench/_search?fail=1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b"Content-Length: 2\r\n\r\n{}",
    b"POST /bench/_search HTTP/1.1\r\nHost: x\r\nContent-Type: application/vnd.elasticsearch+json; "
    b"compatible-with=7\r\nAccept: application/vnd.elasticsearch+json; compatible-with=7\r\n"
    b"X-Opaque-Id: my-request\r\nContent-Length: 2\r\n\r\n{}",
]
# each answered by Quart even when fast routes are registered
FALL_THROUGH_REQUESTS = [
    b"HEAD /bench/_search HTTP/1.1\r\nHost: x\r\n\r\n",
    b"POST /bench/_search HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n{}",
    b"POST /bench/_search HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    b"Transfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
    b"GET /_search?size=1&size=2 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /bench/_search?filter_path=hits.total HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /a/b/_search HTTP/1.1\r\nHost: x\r\n\r\n",
    b"DELETE /bench/_search HTTP/1.1\r\nHost: x\r\n\r\n",
]


async def exchange(app, raw_requests: list[bytes]) -> list[tuple[bytes, bytes]]:
    answers = []
    stop = trio.Event()
    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            host, port = await nursery.start(serve_http, app, "127.0.0.1", 0, stop.wait)
            for raw in raw_requests:
                # one connection per request: a fall-through error may close the connection
                stream = await trio.open_tcp_stream(host, port)
                await stream.send_all(raw)
                if raw.startswith(b"HEAD"):
                    head = bytearray()
                    while b"\r\n\r\n" not in head:
                        head += await stream.receive_some(65536)
                    answers.append((bytes(head).partition(b"\r\n\r\n")[0], b""))
                else:
                    head, body, _ = await read_response(stream, bytearray())
                    answers.append((head, body))
                await stream.aclose()
            stop.set()
    return answers


async def test_ordinary_searches_get_the_same_status_headers_and_body_from_the_fast_route_as_from_quart():
    quart_app, _, _ = make_app(with_fast=False)
    fast_app, fast_calls, _ = make_app(with_fast=True)
    through_quart = await exchange(quart_app, REQUESTS)
    through_fast = await exchange(fast_app, REQUESTS)
    assert len(fast_calls) == len(REQUESTS)
    for (quart_head, quart_body), (fast_head, fast_body) in zip(through_quart, through_fast):
        assert comparable(fast_head) == comparable(quart_head)
        assert fast_body == quart_body
    assert fast_calls[0] == ("bench", {}, b'{"size":1}')
    assert fast_calls[1] == (None, {"q": "a b", "size": "3"}, b"")
    assert through_fast[2][0].startswith(b"HTTP/1.1 400")
    vendor_headers = dict(comparable(through_fast[3][0])[1])
    assert vendor_headers[b"content-type"] == b"application/vnd.elasticsearch+json; compatible-with=7"
    assert vendor_headers[b"x-opaque-id"] == b"my-request"


async def test_unusual_requests_fall_through_to_quart_with_its_answers():
    quart_app, _, _ = make_app(with_fast=False)
    fast_app, fast_calls, _ = make_app(with_fast=True)
    through_quart = await exchange(quart_app, FALL_THROUGH_REQUESTS)
    through_fast = await exchange(fast_app, FALL_THROUGH_REQUESTS)
    assert fast_calls == []
    for (quart_head, quart_body), (fast_head, fast_body) in zip(through_quart, through_fast):
        assert comparable(fast_head) == comparable(quart_head)
        assert fast_body == quart_body
    statuses = [head.split(b"\r\n")[0] for head, _ in through_fast]
    assert statuses[1].startswith(b"HTTP/1.1 406")
    assert statuses[6].startswith(b"HTTP/1.1 405")


async def test_the_fast_route_counts_requests_under_the_quart_rule_and_sets_the_elastic_product_header():
    fast_app, fast_calls, metrics = make_app(with_fast=True, elastic_product_header=True)
    answers = await exchange(fast_app, REQUESTS[:3])
    assert len(fast_calls) == 3
    assert dict(comparable(answers[0][0])[1])[b"x-elastic-product"] == b"Elasticsearch"
    assert metrics.http_requests.labels("/<index>/_search", "POST", "200")._value.get() == 1
    assert metrics.http_requests.labels("/_search", "GET", "200")._value.get() == 1
    assert metrics.http_requests.labels("/<index>/_search", "POST", "400")._value.get() == 1
    assert metrics.http_requests_in_flight._value.get() == 0


def test_an_app_without_fast_routes_is_served_as_it_is():
    app, _, _ = make_app(with_fast=False)
    assert with_fast_routes(app) is app
    fast_app, _, _ = make_app(with_fast=True)
    assert isinstance(with_fast_routes(fast_app), FastRouteApplication)
