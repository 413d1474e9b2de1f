"""End to end with the query engine: search_shard on several shards (reference searchers),
partials through the wire, merge_shard_results at the coordinator, render_response."""

import orjson
import pytest

from index.aggregations import render_response

search_module = pytest.importorskip("index.query.search")
merge_module = pytest.importorskip("index.query.merge")
request_module = pytest.importorskip("index.query.request")
results_module = pytest.importorskip("index.query.results")
context_module = pytest.importorskip("index.query.context")
reference_segment = pytest.importorskip("index.testing.reference_segment")

MAPPING = {"properties": {"tag": {"type": "keyword"}, "price": {"type": "double"},
                          "title": {"type": "text"}}}
SHARDS = [
    [[("1", {"tag": "a", "price": 1.0, "title": "red"}), ("2", {"tag": "b", "price": 2.0, "title": "blue"})],
     [("3", {"tag": "a", "price": 3.0, "title": "red red"})]],
    [[("4", {"tag": "c", "price": 4.0, "title": "red"}), ("5", {"tag": "a", "price": 5.0, "title": "green"})]],
    [[("6", {"tag": "b", "price": 6.0, "title": "red"})]],
]


def search(body):
    request = request_module.parse_search_request(body)
    shard_results = []
    for shard_index, segments in enumerate(SHARDS):
        searcher = reference_segment.build_reference_searcher(segments, MAPPING)
        context = context_module.SearchContext(now_millis=0, shard_index=shard_index, index_name="idx")
        result = search_module.search_shard(searcher, request, context)
        wire = orjson.loads(orjson.dumps(result.to_wire()))
        shard_results.append(results_module.ShardSearchResult.from_wire(wire))
    merged = merge_module.merge_shard_results(shard_results, request)
    return render_response(body.get("aggs"), merged.aggregations)


def test_terms_filter_and_top_hits_over_three_shards_of_a_matching_query():
    result = search({"query": {"match": {"title": "red"}}, "size": 0, "aggs": {
        "tags": {"terms": {"field": "tag"}, "aggs": {"total": {"sum": {"field": "price"}}}},
        "expensive": {"filter": {"range": {"price": {"gte": 3}}}},
        "best": {"top_hits": {"size": 1, "_source": ["price"]}}}})
    assert [(b["key"], b["doc_count"], b["total"]["value"]) for b in result["tags"]["buckets"]] == [
        ("a", 2, 4.0), ("b", 1, 6.0), ("c", 1, 4.0)]
    assert result["expensive"] == {"doc_count": 3}
    best = result["best"]["hits"]
    assert best["total"] == {"value": 4, "relation": "eq"}
    assert best["hits"][0]["_index"] == "idx"
    assert best["hits"][0]["_score"] == best["max_score"]


def test_no_aggregations_requested_renders_none_and_no_partials_render_empty():
    assert render_response(None, None) is None
    assert render_response({"a": {"avg": {"field": "price"}}}, None) == {"a": {"value": None}}
