"""terms aggregation details found against OpenSearch's rest-api-spec (search.aggregation terms):
include/exclude on dates and booleans, partitions of numbers, value_type on an unmapped field."""

from __future__ import annotations

import pytest

MAPPINGS = {"properties": {"str": {"type": "keyword"}, "boolean": {"type": "boolean"}, "integer": {"type": "long"},
                           "double": {"type": "double"}, "date": {"type": "date"}}}


async def index_documents(node, *documents):
    status, _ = await node.request("PUT", "/test_1", {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
                                                      "mappings": MAPPINGS})
    assert status == 200
    for number, document in enumerate(documents, start=1):
        status, _ = await node.request("PUT", f"/test_1/_doc/{number}", document)
        assert status == 201
    await node.request("POST", "/test_1/_refresh")


async def terms(node, **options):
    status, body = await node.request("POST", "/test_1/_search", {"size": 0, "aggs": {"t": {"terms": options}}})
    assert status == 200, body
    return body["aggregations"]["t"]["buckets"]


DATES = ({"date": "2016-05-03"}, {"date": "2014-09-01"}, {"date": "2016-05-03"})


async def test_include_on_a_date_field_matches_the_formatted_date(api_node):
    await index_documents(api_node, *DATES)
    buckets = await terms(api_node, field="date", include=["2016-05-03"])
    assert [(bucket["key_as_string"], bucket["doc_count"]) for bucket in buckets] == \
        [("2016-05-03T00:00:00.000Z", 2)]


async def test_exclude_on_a_date_field_matches_the_formatted_date(api_node):
    await index_documents(api_node, *DATES)
    buckets = await terms(api_node, field="date", exclude=["2016-05-03"])
    assert [(bucket["key"], bucket["doc_count"]) for bucket in buckets] == [(1409529600000, 1)]


async def test_include_on_a_boolean_field_matches_true_and_false(api_node):
    await index_documents(api_node, {"boolean": True}, {"boolean": False}, {"boolean": True})
    buckets = await terms(api_node, field="boolean", include=["false"])
    assert [(bucket["key"], bucket["key_as_string"]) for bucket in buckets] == [(0, "false")]


@pytest.mark.parametrize(("partition", "expected"), [(0, [(5678, 1)]), (1, [(1234, 2)])])
async def test_partitions_of_a_long_field_follow_opensearchs_hash(api_node, partition, expected):
    await index_documents(api_node, {"integer": 1234}, {"integer": 5678}, {"integer": 1234})
    buckets = await terms(api_node, field="integer", include={"partition": partition, "num_partitions": 2})
    assert [(bucket["key"], bucket["doc_count"]) for bucket in buckets] == expected


@pytest.mark.parametrize(("partition", "expected"), [(0, [("bcd", 1)]), (1, [("abc", 2)])])
async def test_partitions_of_a_keyword_field_follow_opensearchs_hash(api_node, partition, expected):
    await index_documents(api_node, {"str": "abc"}, {"str": "abc"}, {"str": "bcd"})
    buckets = await terms(api_node, field="str", include={"partition": partition, "num_partitions": 2})
    assert [(bucket["key"], bucket["doc_count"]) for bucket in buckets] == expected


async def test_an_unmapped_date_with_value_type_renders_its_missing_value_as_a_date(api_node):
    await index_documents(api_node, {})
    buckets = await terms(api_node, field="unmapped_date", value_type="date", missing="2016-05-11")
    assert buckets == [{"key": 1462924800000, "key_as_string": "2016-05-11T00:00:00.000Z", "doc_count": 1}]


async def test_an_unmapped_boolean_with_value_type_renders_as_a_boolean(api_node):
    await index_documents(api_node, {})
    buckets = await terms(api_node, field="unmapped_boolean", value_type="boolean", missing=True)
    assert buckets == [{"key": 1, "key_as_string": "true", "doc_count": 1}]


@pytest.mark.parametrize(("value_type", "missing"), [("long", 3), ("double", 3.5), ("string", "abc")])
async def test_an_unmapped_field_with_value_type_keeps_the_missing_values_type(api_node, value_type, missing):
    await index_documents(api_node, {})
    buckets = await terms(api_node, field="unmapped", value_type=value_type, missing=missing)
    assert len(buckets) == 1
    assert buckets[0]["key"] == missing and type(buckets[0]["key"]) is type(missing)
    assert buckets[0]["doc_count"] == 1


async def test_an_unknown_value_type_is_a_400(api_node):
    await index_documents(api_node, {})
    status, body = await api_node.request("POST", "/test_1/_search", {
        "size": 0, "aggs": {"t": {"terms": {"field": "x", "value_type": "frobnicate"}}}})
    assert status == 400 and "frobnicate" in body["error"]["root_cause"][0]["reason"]


@pytest.mark.parametrize(("options", "expected"), [
    ({"size": 0}, "[size] must be greater than 0. Found [0] in [t]"),
    ({"shard_size": 0}, "[shardSize] must be greater than 0. Found [0] in [t]"),
    ({"min_doc_count": -1}, "[minDocCount] must be greater than or equal to 0. Found [-1] in [t]")])
async def test_terms_bounds_are_refused_with_opensearchs_wording(api_node, options, expected):
    await index_documents(api_node, {"str": "abc"})
    status, body = await api_node.request("POST", "/test_1/_search", {
        "size": 0, "aggs": {"t": {"terms": {"field": "str", **options}}}})
    assert status == 400 and body["error"]["root_cause"][0]["reason"] == expected


@pytest.mark.parametrize(("aggregation", "expected"), [
    ({"significant_terms": {"field": "str", "jlp": {}}}, "[significant_terms] unknown field [jlp] did you mean [jlh]?"),
    ({"terms": {"field": "str", "sizee": 3}}, "[terms] unknown field [sizee] did you mean [size]?")])
async def test_a_misspelt_aggregation_field_gets_did_you_mean(api_node, aggregation, expected):
    await index_documents(api_node, {"str": "abc"})
    status, body = await api_node.request("POST", "/test_1/_search", {"size": 0, "aggs": {"foo": aggregation}})
    assert status == 400 and expected in body["error"]["root_cause"][0]["reason"]
