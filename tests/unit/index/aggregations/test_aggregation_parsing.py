"""parse_aggregations: the OpenSearch JSON shape, and errors that name the offending key."""

import pytest

from aggregation_fakes import TermQuery, parse
from index.aggregations import parse_aggregations
from index.errors import AggregationError


def test_nested_sub_aggregations_and_meta_are_parsed_into_a_tree():
    tree = parse({"by_tag": {"terms": {"field": "tag", "size": 5}, "meta": {"owner": "me"},
                             "aggregations": {"avg_price": {"avg": {"field": "price"}}}}})
    node = tree.node("by_tag")
    assert node.type == "terms"
    assert node.meta == {"owner": "me"}
    assert node.spec.size == 5
    assert node.spec.shard_size == int(5 * 1.5 + 10)
    assert node.sub_aggregations.node("avg_price").spec.field == "price"


def test_none_or_empty_aggregations_give_an_empty_tree():
    assert len(parse_aggregations(None)) == 0
    assert len(parse_aggregations({})) == 0


def test_unknown_aggregation_type_is_named_in_the_error():
    with pytest.raises(AggregationError, match=r"Unknown aggregation type \[termz\]"):
        parse({"x": {"termz": {"field": "a"}}})


def test_missing_field_is_reported_like_opensearch():
    with pytest.raises(AggregationError, match=r"Required one of fields \[field, script\]"):
        parse({"x": {"avg": {}}})


def test_unknown_parameter_is_named():
    with pytest.raises(AggregationError, match=r"unknown field \[sizee\]"):
        parse({"x": {"terms": {"field": "a", "sizee": 3}}})


def test_two_types_in_one_aggregation_are_refused():
    with pytest.raises(AggregationError, match=r"two aggregation type definitions"):
        parse({"x": {"avg": {"field": "a"}, "max": {"field": "a"}}})


def test_metrics_cannot_have_sub_aggregations():
    with pytest.raises(AggregationError, match=r"cannot accept sub-aggregations"):
        parse({"x": {"avg": {"field": "a"}, "aggs": {"y": {"max": {"field": "a"}}}}})


def test_histogram_needs_a_positive_interval():
    with pytest.raises(AggregationError, match=r"interval"):
        parse({"x": {"histogram": {"field": "a", "interval": 0}}})
    with pytest.raises(AggregationError, match=r"Missing required field \[interval\]"):
        parse({"x": {"histogram": {"field": "a"}}})


def test_date_histogram_rejects_bad_intervals_and_zones():
    with pytest.raises(AggregationError, match=r"calendar interval"):
        parse({"x": {"date_histogram": {"field": "d", "calendar_interval": "2d"}}})
    with pytest.raises(AggregationError, match=r"fixed_interval"):
        parse({"x": {"date_histogram": {"field": "d", "fixed_interval": "1M"}}})
    with pytest.raises(AggregationError, match=r"Unknown time-zone ID"):
        parse({"x": {"date_histogram": {"field": "d", "calendar_interval": "day",
                                        "time_zone": "Mars/Olympus"}}})
    with pytest.raises(AggregationError, match=r"more than one"):
        parse({"x": {"date_histogram": {"field": "d", "calendar_interval": "day",
                                        "fixed_interval": "1d"}}})


def test_order_by_an_unknown_sub_aggregation_is_refused():
    with pytest.raises(AggregationError, match=r"Unknown aggregation \[nope\]"):
        parse({"x": {"terms": {"field": "a", "order": {"nope": "desc"}}}})


def test_order_on_a_multi_value_metric_needs_a_metric_name():
    with pytest.raises(AggregationError, match=r"metric name must be specified"):
        parse({"x": {"terms": {"field": "a", "order": {"s": "desc"}},
                     "aggs": {"s": {"stats": {"field": "b"}}}}})
    tree = parse({"x": {"terms": {"field": "a", "order": {"s.max": "desc"}},
                        "aggs": {"s": {"stats": {"field": "b"}}}}})
    assert tree.node("x").spec.order[0].path == "s.max"


def test_filters_named_and_anonymous_use_the_injected_query_parser():
    named = parse({"f": {"filters": {"filters": {"b": {"term": {"t": "x"}}, "a": {"match_all": {}}}}}})
    assert [key for key, _ in named.node("f").spec.filters] == ["a", "b"]
    anonymous = parse({"f": {"filters": {"filters": [{"term": {"t": "x"}}]}}})
    assert anonymous.node("f").spec.filters == (("0", TermQuery("t", "x")),)
    assert anonymous.node("f").spec.named is False


def test_global_is_refused_below_the_top_level():
    with pytest.raises(AggregationError, match=r"global must be top level"):
        parse({"t": {"terms": {"field": "a"}, "aggs": {"g": {"global": {}}}}})


def test_script_is_refused_with_a_clear_error():
    with pytest.raises(AggregationError, match=r"\[script\] is not supported"):
        parse({"x": {"avg": {"script": "doc.a.value"}}})


def test_invalid_aggregation_names_are_refused():
    with pytest.raises(AggregationError, match=r"Invalid aggregation name"):
        parse({"a>b": {"avg": {"field": "a"}}})


def test_top_hits_window_is_limited_to_one_hundred():
    with pytest.raises(AggregationError, match=r"Top hits result window is too large"):
        parse({"t": {"top_hits": {"size": 90, "from": 20}}})


def test_tree_needs_scores_only_for_top_hits_ranked_by_score():
    from index.aggregations import tree_needs_scores
    assert tree_needs_scores(parse({"t": {"terms": {"field": "a"}, "aggs": {"h": {"top_hits": {}}}}}))
    assert not tree_needs_scores(parse({"h": {"top_hits": {"sort": ["price"]}}, "a": {"avg": {"field": "p"}}}))
    assert tree_needs_scores(parse({"h": {"top_hits": {"sort": ["price"], "track_scores": True}}}))
