"""rare_terms details found against OpenSearch's rest-api-spec (search.aggregation rare_terms):
sub-aggregations, a sibling pipeline over it, value_type."""

from __future__ import annotations


async def seed(node):
    await node.request("PUT", "/test", {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
                                        "mappings": {"properties": {"str": {"type": "keyword"}}}})
    for number, (word, value) in enumerate([("foo", 1), ("foo", 2), ("foo", 3), ("bar", 4), ("bar", 5),
                                            ("baz", 6)], start=1):
        await node.request("PUT", f"/test/_doc/{number}", {"str": word, "v": value})
    await node.request("POST", "/test/_refresh")


async def aggregate(node, aggs):
    status, body = await node.request("POST", "/test/_search", {"size": 0, "aggs": aggs})
    assert status == 200, body
    return body["aggregations"]


async def test_rare_terms_with_sub_aggregations_and_a_sibling_pipeline(api_node):
    await seed(api_node)
    aggregations = await aggregate(api_node, {
        "str_terms": {"rare_terms": {"field": "str", "max_doc_count": 2}, "aggs": {"v": {"sum": {"field": "v"}}}},
        "str_terms_avg_v": {"avg_bucket": {"buckets_path": "str_terms.v"}}})
    assert [(b["key"], b["doc_count"], b["v"]["value"]) for b in aggregations["str_terms"]["buckets"]] == [
        ("baz", 1, 6.0), ("bar", 2, 9.0)]
    assert aggregations["str_terms_avg_v"]["value"] == 7.5


async def test_rare_terms_without_sub_aggregations_are_unchanged(api_node):
    await seed(api_node)
    aggregations = await aggregate(api_node, {"t": {"rare_terms": {"field": "str", "max_doc_count": 1}}})
    assert aggregations["t"]["buckets"] == [{"key": "baz", "doc_count": 1}]


async def test_rare_terms_accepts_value_type_on_an_unmapped_field(api_node):
    await seed(api_node)
    aggregations = await aggregate(api_node, {"t": {"rare_terms": {"field": "unmapped_long", "value_type": "long"}}})
    assert aggregations["t"]["buckets"] == []
