"""WASM UDFs end to end against real node processes: register the shipped examples through
PUT /_udf, filter and score through _search, fail safely on runaway modules while other searches
keep succeeding, survive a restart, and work cluster-wide (register on one node, query another)."""

import json
import threading
import time
import urllib.error
import urllib.request

import pytest

import udf.examples as examples

pytestmark = pytest.mark.integration

DAY_MILLIS = 86_400_000
NOW = 1_700_000_000_000


def http(base_url, method, path, body=None):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    prepared = urllib.request.Request(base_url + path, data=data, method=method,
                                      headers={"Content-Type": "application/x-ndjson" if isinstance(body, bytes)
                                               else "application/json"})
    try:
        with urllib.request.urlopen(prepared, timeout=120) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def register_examples(base_url, names=("range_filter", "recency_scorer", "infinite_loop", "memory_hog")):
    for name in names:
        status, body = http(base_url, "PUT", f"/_udf/{name}", examples.wat_registration_body(name))
        assert status == 200, body
        assert body["acknowledged"] is True


def create_and_fill(base_url, index="docs", shards=2, count=40):
    status, body = http(base_url, "PUT", f"/{index}?wait_for_active_shards=1", {
        "settings": {"number_of_shards": shards, "number_of_replicas": 0},
        "mappings": {"properties": {"value": {"type": "long"}, "title": {"type": "text"},
                                    "published_at": {"type": "date"}}}})
    assert status == 200, body
    lines = b"".join(
        b'{"index":{"_index":"%s","_id":"%d"}}\n' % (index.encode(), n)
        + json.dumps({"value": n, "title": "alpha beta" if n % 2 else "alpha",
                      "published_at": NOW - n * DAY_MILLIS}).encode() + b"\n"
        for n in range(count))
    status, bulk = http(base_url, "POST", "/_bulk?refresh=true", lines)
    assert status == 200 and not bulk["errors"], bulk


def filter_ids(base_url, index="docs", lo=5, hi=12):
    status, response = http(base_url, "POST", f"/{index}/_search", {
        "size": 100, "query": {"wasm_udf": {"name": "range_filter", "params": {"lo": lo, "hi": hi}}}})
    assert status == 200, response
    return sorted(int(hit["_id"]) for hit in response["hits"]["hits"])


def recency_ranking(base_url, index="docs", weight=2.0):
    status, response = http(base_url, "POST", f"/{index}/_search", {"size": 10, "query": {"script_score": {
        "query": {"match": {"title": "alpha"}},
        "script": {"lang": "wasm", "source": "recency_scorer", "params": {"now_millis": NOW, "weight": weight}}}}})
    assert status == 200, response
    return response


@pytest.fixture(scope="module")
def udf_node(module_node_factory):
    node = module_node_factory.start_node("udf")
    register_examples(node.base_url)
    create_and_fill(node.base_url)
    status, _ = http(node.base_url, "PUT", "/empty?wait_for_active_shards=1",
                     {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
                      "mappings": {"properties": {"value": {"type": "long"}}}})
    assert status == 200
    return node


def test_registered_udfs_are_listed_and_described(udf_node):
    status, one = http(udf_node.base_url, "GET", "/_udf/range_filter")
    assert status == 200
    assert one["name"] == "range_filter" and one["kind"] == ["filter"]
    assert one["inputs"] == {"fields": ["value"], "params": [{"name": "lo"}, {"name": "hi"}]}
    assert "wasm" not in one
    status, with_module = http(udf_node.base_url, "GET", "/_udf/range_filter?include_module=true")
    assert status == 200 and with_module["wasm"]
    status, listed = http(udf_node.base_url, "GET", "/_udf")
    assert [entry["name"] for entry in listed["udfs"]] == ["infinite_loop", "memory_hog", "range_filter",
                                                          "recency_scorer"]
    status, missing = http(udf_node.base_url, "GET", "/_udf/nope")
    assert status == 404 and missing["error"]["type"] == "resource_not_found_exception"


def test_a_bad_module_is_refused_at_registration_with_the_reason(udf_node):
    status, body = http(udf_node.base_url, "PUT", "/_udf/broken", {"wat": "(module (func (export \"nothing\")))"})
    assert status == 400
    assert body["error"]["type"] == "illegal_argument_exception"
    assert "udf [broken]" in body["error"]["reason"]
    status, body = http(udf_node.base_url, "PUT", "/_udf/huge", {"wasm": "A" * (2 << 20)})
    assert status == 400 and "over the limit" in body["error"]["reason"]
    status, _ = http(udf_node.base_url, "GET", "/_udf/broken")
    assert status == 404


def test_wasm_udf_filters_inside_the_shards(udf_node):
    assert filter_ids(udf_node.base_url) == list(range(5, 13))
    status, response = http(udf_node.base_url, "POST", "/docs/_search", {"size": 100, "query": {"bool": {
        "must": [{"match": {"title": "beta"}}],
        "filter": [{"wasm_udf": {"name": "range_filter", "params": {"lo": 0, "hi": 10}}}]}}})
    assert status == 200
    assert sorted(int(hit["_id"]) for hit in response["hits"]["hits"]) == [1, 3, 5, 7, 9]
    status, counted = http(udf_node.base_url, "POST", "/docs/_count",
                           {"query": {"wasm_udf": {"name": "range_filter", "params": {"lo": 0, "hi": 9}}}})
    assert status == 200 and counted["count"] == 10


def test_script_score_ranking_matches_a_python_reference(udf_node):
    weight = 2.0
    status, plain = http(udf_node.base_url, "POST", "/docs/_search",
                         {"size": 100, "query": {"match": {"title": "alpha"}}})
    base_scores = {hit["_id"]: hit["_score"] for hit in plain["hits"]["hits"]}
    expected = {document_id: score * (1 + weight / (1 + int(document_id)))
                for document_id, score in base_scores.items()}
    response = recency_ranking(udf_node.base_url, weight=weight)
    hits = response["hits"]["hits"]
    top = sorted(expected.items(), key=lambda item: -item[1])[:10]
    assert [hit["_id"] for hit in hits] == [document_id for document_id, _ in top]
    for hit, (_, score) in zip(hits, top):
        assert hit["_score"] == pytest.approx(score, rel=1e-5)


def test_unknown_udfs_and_bad_params_are_400s_before_any_shard_runs(udf_node):
    status, body = http(udf_node.base_url, "POST", "/docs/_search", {"query": {"wasm_udf": {"name": "nope"}}})
    assert status == 400 and "udf [nope] is not registered" in json.dumps(body)
    status, body = http(udf_node.base_url, "POST", "/docs/_search",
                        {"query": {"wasm_udf": {"name": "range_filter", "params": {"lo": 1}}}})
    assert status == 400 and "param [hi] is required" in json.dumps(body)


def test_runaway_modules_fail_their_shards_with_script_exceptions_while_other_searches_succeed(udf_node):
    status, _ = http(udf_node.base_url, "PUT", "/_cluster/settings",
                     {"transient": {"quidditch.udf.fuel_per_query": 300_000_000}})
    assert status == 200
    outcomes = []
    stop = threading.Event()

    def ordinary_searches():
        while not stop.is_set():
            outcomes.append(filter_ids(udf_node.base_url))

    searcher = threading.Thread(target=ordinary_searches)
    searcher.start()
    try:
        # every shard holding documents fails: 400 search_phase_execution_exception
        status, body = http(udf_node.base_url, "POST", "/docs/_search", {"query": {"wasm_udf": {"name": "infinite_loop"}}})
        assert status == 400, body
        assert body["error"]["type"] == "search_phase_execution_exception"
        cause = body["error"]["root_cause"][0]
        assert cause["type"] == "script_exception"
        assert "udf [infinite_loop]" in cause["reason"] and "fuel" in cause["reason"]
        # an index whose shard has no candidates succeeds: 200 with the failures listed
        status, body = http(udf_node.base_url, "POST", "/docs,empty/_search",
                            {"query": {"wasm_udf": {"name": "infinite_loop"}}})
        assert status == 200, body
        assert body["_shards"]["total"] == 3 and body["_shards"]["failed"] == 2
        assert body["_shards"]["failures"][0]["reason"]["type"] == "script_exception"
        status, body = http(udf_node.base_url, "POST", "/docs/_search", {"query": {"wasm_udf": {"name": "memory_hog"}}})
        assert status == 400
        assert "udf [memory_hog]" in body["error"]["root_cause"][0]["reason"]
        assert "memory limit" in body["error"]["root_cause"][0]["reason"]
    finally:
        stop.set()
        searcher.join()
        http(udf_node.base_url, "PUT", "/_cluster/settings", {"transient": {"quidditch.udf.fuel_per_query": None}})
    assert outcomes and all(ids == list(range(5, 13)) for ids in outcomes)
    status, health = http(udf_node.base_url, "GET", "/_cluster/health")
    assert status == 200 and health["status"] == "green"


def test_udf_metrics_count_calls_fuel_and_failures(udf_node):
    filter_ids(udf_node.base_url)
    deadline = time.monotonic() + 30
    text = ""
    while time.monotonic() < deadline:
        with urllib.request.urlopen(udf_node.base_url + "/_prometheus/metrics", timeout=10) as response:
            text = response.read().decode()
        if 'quidditch_udf_calls_total{kind="filter",outcome="ok",udf="range_filter"}' in text:
            break
        time.sleep(0.5)
    assert 'quidditch_udf_calls_total{kind="filter",outcome="ok",udf="range_filter"}' in text
    assert 'quidditch_udf_fuel_total{udf="range_filter"}' in text
    assert "quidditch_udf_batch_seconds_bucket" in text


def test_deleting_a_udf_makes_queries_naming_it_fail(udf_node):
    status, _ = http(udf_node.base_url, "PUT", "/_udf/doomed", examples.wat_registration_body("range_filter"))
    assert status == 200
    status, body = http(udf_node.base_url, "DELETE", "/_udf/doomed")
    assert status == 200 and body == {"acknowledged": True}
    status, body = http(udf_node.base_url, "DELETE", "/_udf/doomed")
    assert status == 404
    status, body = http(udf_node.base_url, "POST", "/docs/_search", {"query": {"wasm_udf": {"name": "doomed",
                                                                                        "params": {"lo": 1, "hi": 2}}}})
    assert status == 400


def test_udfs_survive_a_restart(node_factory):
    node = node_factory.start_node("restarting")
    register_examples(node.base_url, ("range_filter", "recency_scorer"))
    create_and_fill(node.base_url)
    before = (filter_ids(node.base_url), [hit["_id"] for hit in recency_ranking(node.base_url)["hits"]["hits"]])
    node.restart()
    status, listed = http(node.base_url, "GET", "/_udf")
    assert [entry["name"] for entry in listed["udfs"]] == ["range_filter", "recency_scorer"]
    after = (filter_ids(node.base_url), [hit["_id"] for hit in recency_ranking(node.base_url)["hits"]["hits"]])
    assert after == before and before[0] == list(range(5, 13))


def test_a_udf_registered_on_one_node_runs_on_every_node(node_factory):
    members = node_factory.start_cluster(3)
    register_examples(members[0].base_url, ("range_filter", "recency_scorer"))
    create_and_fill(members[1].base_url, shards=6)
    status, shards = http(members[0].base_url, "GET", "/docs/_search_shards")
    assert len({copies[0]["node"] for copies in shards["shards"]}) > 1   # really spread over nodes
    expected = None
    for member in members:
        assert filter_ids(member.base_url) == list(range(5, 13))
        ranking = [hit["_id"] for hit in recency_ranking(member.base_url)["hits"]["hits"]]
        expected = expected or ranking
        assert ranking == expected


def test_the_c_example_built_with_clang_registers_and_filters(udf_node, tmp_path):
    import base64
    import shutil
    import subprocess

    if shutil.which("clang") is None or shutil.which("wasm-ld") is None:
        pytest.skip("the C example needs clang and lld (apt-get install -y clang lld)")
    subprocess.run(["bash", str(examples.C_BUILD_SCRIPT), str(tmp_path)], check=True, capture_output=True)
    module = base64.b64encode((tmp_path / "stock_filter.wasm").read_bytes()).decode()
    status, body = http(udf_node.base_url, "PUT", "/_udf/stock_filter",
                        examples.c_registration_body("stock_filter", module))
    assert status == 200, body
    status, _ = http(udf_node.base_url, "PUT", "/shop?wait_for_active_shards=1",
                     {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
                      "mappings": {"properties": {"price": {"type": "double"}, "stock": {"type": "integer"}}}})
    assert status == 200
    products = {"cheap-in-stock": (5.0, 3), "cheap-sold-out": (5.0, 0), "dear-in-stock": (50.0, 9), "no-stock-field": (1.0, None)}
    lines = b"".join(b'{"index":{"_index":"shop","_id":"%s"}}\n' % name.encode() + json.dumps(
        {"price": price, **({"stock": stock} if stock is not None else {})}).encode() + b"\n"
        for name, (price, stock) in products.items())
    status, bulk = http(udf_node.base_url, "POST", "/_bulk?refresh=true", lines)
    assert status == 200 and not bulk["errors"]
    status, response = http(udf_node.base_url, "POST", "/shop/_search", {"query": {"wasm_udf": {
        "name": "stock_filter", "params": {"max_price": 10, "min_stock": 1}}}})
    assert status == 200, response
    assert [hit["_id"] for hit in response["hits"]["hits"]] == ["cheap-in-stock"]


def test_an_index_fuel_setting_bounds_searches_on_that_index(udf_node):
    status, body = http(udf_node.base_url, "PUT", "/tight?wait_for_active_shards=1", {
        "settings": {"number_of_shards": 1, "number_of_replicas": 0, "index.udf.fuel_per_query": 1000}})
    assert status == 200, body
    status, _ = http(udf_node.base_url, "PUT", "/tight/_doc/1?refresh=true", {"value": 1})
    assert status in (200, 201)
    deadline = time.monotonic() + 30
    while True:   # the node writes the store after applying the index's state
        status, body = http(udf_node.base_url, "POST", "/tight/_search", {"query": {"wasm_udf": {"name": "infinite_loop"}}})
        if "used all 1000 units" in json.dumps(body) or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert status == 400
    assert "used all 1000 units of fuel" in body["error"]["root_cause"][0]["reason"]
