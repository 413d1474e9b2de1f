"""The app factory in-process: GET/HEAD /, product header, request ids, metrics by route rule."""

import logging
from types import SimpleNamespace

import orjson

from node.config import NodeConfig
from node.http.app import compatible_response_type, create_app, json_response
from node.http.context import NodeContext
from node.logs import request_id
from node.metrics import NodeMetrics
from raft.state import initial_cluster_state


def make_app(**config_overrides):
    config = NodeConfig(node_name="n1", workers=1, **config_overrides)
    context = NodeContext(
        config=config, node_id="id-1", node_name="n1", cluster_name="c1", started_at_millis=0,
        metadata=SimpleNamespace(state=initial_cluster_state("c1")), workers=None,
        metrics=NodeMetrics(), logger=logging.getLogger("test.api"), background=None,
        transport_handlers=None, peers=None)
    app = create_app(context, register_api=False)
    seen_request_ids = []

    @app.route("/_test/<name>", methods=["GET"])
    async def echo(name):
        seen_request_ids.append(request_id.get())
        return json_response({"name": name})

    return app, context, seen_request_ids


async def test_get_root_reports_the_configured_version_and_head_has_no_body():
    app, _, _ = make_app(version_number="7.9.0")
    client = app.test_client()
    response = await client.get("/")
    body = orjson.loads(await response.get_data())
    assert body["version"]["number"] == "7.9.0"
    assert body["cluster_name"] == "c1"
    head = await client.head("/_test/x")
    assert head.status_code == 200
    assert await head.get_data() == b""


async def test_the_elastic_product_header_is_sent_only_when_enabled():
    app, _, _ = make_app(elastic_product_header=True)
    response = await app.test_client().get("/")
    assert response.headers["X-Elastic-Product"] == "Elasticsearch"
    app, _, _ = make_app()
    response = await app.test_client().get("/")
    assert "X-Elastic-Product" not in response.headers


async def test_handlers_see_the_opaque_id_as_request_id_or_a_generated_one():
    app, _, seen = make_app()
    client = app.test_client()
    await client.get("/_test/a", headers={"X-Opaque-Id": "abc"})
    await client.get("/_test/b")
    assert seen[0] == "abc"
    assert seen[1] and seen[1] != "abc"


async def test_metrics_use_the_route_rule_not_the_raw_path():
    app, context, _ = make_app()
    client = app.test_client()
    await client.get("/_test/one")
    await client.get("/_test/two")
    text = context.metrics.exposition().decode()
    assert 'quidditch_http_requests_total{endpoint="/_test/<name>",method="GET",status="200"} 2.0' in text
    assert "/_test/one" not in text


def test_compatible_media_types_are_answered_in_kind():
    assert compatible_response_type("application/vnd.opensearch+json", None) == "application/vnd.opensearch+json"
    assert compatible_response_type(None, "application/vnd.elasticsearch+x-ndjson; compatible-with=8") == \
        "application/vnd.elasticsearch+json; compatible-with=8"
    assert compatible_response_type("application/json", "application/json") is None
