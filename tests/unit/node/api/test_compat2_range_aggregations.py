"""range / date_range and sibling-pipeline details found against OpenSearch's rest-api-spec
(search.aggregation range tests): numbers on an epoch_second field, ranges of an index with no
documents, a sibling path written "agg.metric"."""

from __future__ import annotations


async def make_index(node, name, properties, *documents):
    status, _ = await node.request("PUT", f"/{name}", {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
                                                       "mappings": {"properties": properties}})
    assert status == 200
    for number, document in enumerate(documents, start=1):
        await node.request("PUT", f"/{name}/_doc/{number}", document)
    await node.request("POST", f"/{name}/_refresh")


async def aggregate(node, name, aggs, query=None):
    body = {"size": 0, "aggs": aggs}
    if query is not None:
        body["query"] = query
    status, response = await node.request("POST", f"/{name}/_search", body)
    assert status == 200, response
    return response["aggregations"]


async def test_date_range_numbers_on_an_epoch_second_field_are_seconds(api_node):
    await make_index(api_node, "test", {"date": {"type": "date", "format": "epoch_second"}},
                     {"date": 1000}, {"date": 2000}, {"date": 3000})
    aggregations = await aggregate(api_node, "test", {"r": {"date_range": {
        "field": "date", "ranges": [{"from": 1000, "to": 3000}, {"from": 3000, "to": 4000}]}}})
    buckets = aggregations["r"]["buckets"]
    assert [(b["key"], b["from"], b["to"], b["doc_count"]) for b in buckets] == [
        ("1000-3000", 1000000.0, 3000000.0, 2), ("3000-4000", 3000000.0, 4000000.0, 1)]


async def test_a_date_range_over_an_index_without_documents_still_formats_its_bounds(api_node):
    status, _ = await api_node.request("PUT", "/empty", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    assert status == 200
    aggregations = await aggregate(api_node, "empty", {"date_range": {
        "date_range": {"field": "date", "ranges": [{"from": "2020-01-01T00:00:00Z"}]},
        "aggs": {"sounds": {"cardinality": {"field": "sound.keyword"}}}}}, query={"terms": {"animal": []}})
    (bucket,) = aggregations["date_range"]["buckets"]
    assert bucket["key"] == "2020-01-01T00:00:00.000Z-*"
    assert bucket["doc_count"] == 0 and "to" not in bucket
    assert bucket["sounds"]["value"] == 0


async def test_a_sibling_pipeline_path_with_a_dot_after_a_multi_bucket_aggregation(api_node):
    await make_index(api_node, "test", {"double": {"type": "double"}}, {"double": 42}, {"double": 100}, {"double": 50})
    aggregations = await aggregate(api_node, "test", {
        "r": {"range": {"field": "double", "ranges": [{"to": 50}, {"from": 50, "to": 150}, {"from": 150}]},
              "aggs": {"v": {"sum": {"field": "double"}}}},
        "r_avg_v": {"avg_bucket": {"buckets_path": "r.v"}}})
    assert [bucket["v"]["value"] for bucket in aggregations["r"]["buckets"]] == [42.0, 150.0, 0.0]
    # the empty bucket is a gap, not a 0.0 (OpenSearch: mean of 42 and 150)
    assert aggregations["r_avg_v"]["value"] == 96.0


async def test_a_sibling_path_naming_no_aggregation_is_still_refused(api_node):
    await make_index(api_node, "test", {"double": {"type": "double"}}, {"double": 42})
    status, response = await api_node.request("POST", "/test/_search", {"size": 0, "aggs": {
        "r": {"terms": {"field": "double"}}, "x": {"avg_bucket": {"buckets_path": "nope.v"}}}})
    assert status == 400
    assert "No aggregation found for path [nope.v]" in response["error"]["root_cause"][0]["reason"]


async def test_a_histogram_format_is_a_decimal_pattern_for_key_as_string(api_node):
    await make_index(api_node, "test", {"number": {"type": "integer"}},
                     {"number": 1}, {"number": 51}, {"number": 101}, {"number": 151})
    aggregations = await aggregate(api_node, "test", {"h": {"histogram": {
        "field": "number", "interval": 50, "format": "Value is ##0.0"}}})
    assert [(b["key"], b["key_as_string"], b["doc_count"]) for b in aggregations["h"]["buckets"]] == [
        (0.0, "Value is 0.0", 1), (50.0, "Value is 50.0", 1), (100.0, "Value is 100.0", 1), (150.0, "Value is 150.0", 1)]


def test_decimal_patterns_print_as_java_decimal_format():
    from index.aggregations.render import format_decimal
    assert format_decimal(1, "#.0") == "1.0"
    assert format_decimal(1234567.891, "#,##0.00") == "1,234,567.89"
    assert format_decimal(2.5, "0") == "2"          # half-even
    assert format_decimal(7, "000") == "007"
    assert format_decimal(-3.25, "0.0") == "-3.2"


async def test_derivative_over_an_empty_bucket_is_null_unless_gaps_are_zeros(api_node):
    await make_index(api_node, "test", {"n": {"type": "long"}, "v": {"type": "double"}},
                     {"n": 1, "v": 10.0}, {"n": 2, "v": 4.0}, {"n": 4, "v": 7.0})

    async def changes(gap_policy):
        aggregations = await aggregate(api_node, "test", {"h": {"histogram": {"field": "n", "interval": 1},
                                                                "aggs": {"s": {"sum": {"field": "v"}},
                                                                         "d": {"derivative": {"buckets_path": "s",
                                                                                              "gap_policy": gap_policy}}}}})
        return [bucket.get("d", {}).get("value", "absent") for bucket in aggregations["h"]["buckets"]]

    assert await changes("skip") == ["absent", -6.0, None, None]
    assert await changes("insert_zeros") == ["absent", -6.0, -4.0, 7.0]
