"""Pipeline aggregation errors with OpenSearch's wording (search.aggregation pipeline tests)."""

from __future__ import annotations

import pytest

NESTED_TERMS = {"terms": {"field": "int_field"}, "aggs": {"the_terms_2": {"terms": {"field": "int_field"}}}}


async def error_reason(node, aggs):
    status, _ = await node.request("PUT", "/test_1", {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
                                                      "mappings": {"properties": {"int_field": {"type": "integer"}}}})
    for number in range(1, 5):
        await node.request("PUT", f"/test_1/_doc/{number}?refresh=true", {"int_field": number})
    status, body = await node.request("POST", "/test_1/_search", {"aggs": aggs})
    assert status >= 400, body
    return body["error"]["root_cause"][0]["reason"]


async def test_a_path_through_a_multi_bucket_aggregation_reaches_many_values(api_node):
    aggs = {"the_terms": {"terms": {"field": "int_field"}, "aggs": {"the_terms_2": {
        "terms": {"field": "int_field"}, "aggs": {"the_max": {"max": {"field": "int_field"}}}}}},
            "the_bad_max": {"max_bucket": {"buckets_path": "the_terms>the_terms_2>the_max"}}}
    assert "[Object[]] at aggregation [the_terms_2]" in await error_reason(api_node, aggs)


async def test_a_path_ending_at_a_terms_aggregation_names_its_class(api_node):
    aggs = {"the_terms": NESTED_TERMS, "the_bad_max": {"max_bucket": {"buckets_path": "the_terms>the_terms_2"}}}
    assert "[LongTerms] at aggregation [the_terms_2]" in await error_reason(api_node, aggs)


async def test_a_path_ending_at_a_multi_value_metric_asks_which_value(api_node):
    aggs = {"the_terms": {"terms": {"field": "int_field"}, "aggs": {"p": {"percentiles": {"field": "int_field"}}}},
            "the_bad_max": {"max_bucket": {"buckets_path": "the_terms>p"}}}
    assert await error_reason(api_node, aggs) == (
        "buckets_path must reference either a number value or a single value numeric metric aggregation, "
        "but [p] contains multiple values. Please specify which to use.")


@pytest.mark.parametrize(("pipeline", "expected"), [
    ({"bucket_sort": {"sort": ["the_terms>the_max"]}}, "must be declared inside of another aggregation"),
    ({"cumulative_sum": {"buckets_path": "the_terms>the_max"}}, "doesn't have a parent")])
async def test_a_parent_pipeline_at_the_top_level_is_refused(api_node, pipeline, expected):
    aggs = {"the_terms": {"terms": {"field": "int_field"}, "aggs": {"the_max": {"max": {"field": "int_field"}}}},
            "the_bad": pipeline}
    assert expected in await error_reason(api_node, aggs)
