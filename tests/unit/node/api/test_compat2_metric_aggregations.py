"""Metric aggregation details found against OpenSearch's rest-api-spec (percentiles, cardinality)."""

from __future__ import annotations

import pytest


async def seed(node):
    await node.request("PUT", "/test_1", {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
                                          "mappings": {"properties": {"int_field": {"type": "integer"}}}})
    for number, value in enumerate([1, 51, 101, 151], start=1):
        await node.request("PUT", f"/test_1/_doc/{number}?refresh=true", {"int_field": value})


async def search(node, aggs):
    return await node.request("POST", "/test_1/_search", {"size": 0, "aggs": aggs})


@pytest.mark.parametrize("aggregation", [
    {"percentiles": {"field": "int_field", "tdigest": {"compression": -1}}},
    {"median_absolute_deviation": {"field": "int_field", "compression": -1}}])
async def test_a_negative_compression_is_refused_with_opensearchs_bound(api_node, aggregation):
    await seed(api_node)
    status, body = await search(api_node, {"p": aggregation})
    assert status == 400
    assert "[compression] must be greater than or equal to 0. Found [-1.0]" in body["error"]["root_cause"][0]["reason"]


async def test_a_compression_below_one_is_accepted(api_node):
    await seed(api_node)
    status, body = await search(api_node, {"p": {"percentiles": {"field": "int_field", "percents": [50],
                                                                 "tdigest": {"compression": 0.5}}}})
    assert status == 200, body
    assert body["aggregations"]["p"]["values"]["50.0"] is not None


async def test_cardinality_of_an_unmapped_field_with_a_string_missing_counts_one_value(api_node):
    await seed(api_node)
    status, body = await search(api_node, {"c": {"cardinality": {"field": "missing_field", "missing": "x"}}})
    assert status == 200, body
    assert body["aggregations"]["c"]["value"] == 1


async def test_a_negative_precision_threshold_names_the_java_field_as_opensearch(api_node):
    await seed(api_node)
    status, body = await search(api_node, {"distinct_int": {"cardinality": {"field": "int_field",
                                                                            "precision_threshold": -1}}})
    assert status == 400
    assert body["error"]["root_cause"][0]["reason"] == (
        "[precisionThreshold] must be greater than or equal to 0. Found [-1] in [distinct_int]")
