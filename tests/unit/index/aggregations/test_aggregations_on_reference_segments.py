"""Aggregations over the query team's reference segments with a real Mapping, and filter
aggregations evaluated by the real query planner — the integration the search path uses."""

import numpy as np
import pytest

from index.aggregations import collect_segment, merge_partials, parse_aggregations, render

reference_segment = pytest.importorskip("index.testing.reference_segment")
execution = pytest.importorskip("index.query.execution")
planner_module = pytest.importorskip("index.query.planner")
context_module = pytest.importorskip("index.query.context")

MAPPING = {"properties": {
    "tag": {"type": "keyword"}, "price": {"type": "double"}, "stock": {"type": "integer"},
    "sold": {"type": "date"}, "active": {"type": "boolean"}, "title": {"type": "text"},
    "day": {"type": "date", "format": "yyyy-MM-dd"}}}

SEGMENTS = [
    [("1", {"tag": ["a", "b"], "price": 10.0, "stock": 3, "sold": "2021-03-01T10:00:00Z", "active": True,
            "title": "red shoe", "day": "2021-03-01"}),
     ("2", {"tag": "a", "price": 20.5, "stock": 0, "sold": "2021-03-02T23:30:00Z", "active": False,
            "title": "blue shoe"})],
    [("3", {"tag": "c", "price": 7.25, "sold": "2021-04-15T00:00:00Z", "title": "red hat", "day": "2021-04-15"}),
     ("4", {"tag": "b", "stock": 12, "active": True, "title": "green hat"}),
     ("5", {"tag": "a", "price": 99.0, "title": "deleted one"})],
]


class PlannerAggregationContext:
    """What search_shard is expected to pass: mapping, clock, names and a filter evaluator."""

    def __init__(self, searcher):
        self.search_context = context_module.SearchContext(now_millis=1_620_000_000_000, index_name="shop")
        self.shard = execution.ShardExecution(searcher, self.search_context)
        self.mapping = searcher.mapping
        self.now_millis = self.search_context.now_millis
        self.index_name = "shop"
        self.shard_index = 0
        self.segment_indexes = {id(segment): index for index, segment in enumerate(searcher.segments)}

    def filter_bitmap(self, query_node, segment):
        plan = planner_module.Planner(self.shard).plan(query_node)
        segment_execution = execution.SegmentExecution(self.shard, segment, self.segment_indexes[id(segment)])
        return segment_execution.run_matches(plan)


def run(aggs_json):
    searcher = reference_segment.build_reference_searcher(SEGMENTS, MAPPING, deleted_document_ids={"5"})
    tree = parse_aggregations(aggs_json)
    context = PlannerAggregationContext(searcher)
    partials = []
    for segment in searcher.segments:
        live = np.asarray(segment.live_docs().to_array(), dtype=np.int64)
        partials.append(collect_segment(tree, segment, live, context))
    return render(merge_partials(partials, tree), tree)


def test_terms_with_sub_metrics_over_two_segments_skip_deleted_documents():
    result = run({"t": {"terms": {"field": "tag"}, "aggs": {"p": {"sum": {"field": "price"}}}}})["t"]
    assert [(b["key"], b["doc_count"], b["p"]["value"]) for b in result["buckets"]] == [
        ("a", 2, 30.5), ("b", 2, 10.0), ("c", 1, 7.25)]


def test_dates_use_the_mapping_format_and_booleans_print_true_false():
    result = run({"d": {"date_histogram": {"field": "sold", "calendar_interval": "month"}},
                  "days": {"terms": {"field": "day"}},
                  "b": {"terms": {"field": "active"}}})
    assert [(b["key_as_string"], b["doc_count"]) for b in result["d"]["buckets"]] == [
        ("2021-03-01T00:00:00.000Z", 2), ("2021-04-01T00:00:00.000Z", 1)]
    assert [b["key_as_string"] for b in result["days"]["buckets"]] == ["2021-03-01", "2021-04-15"]
    assert result["b"]["buckets"] == [{"key": 1, "key_as_string": "true", "doc_count": 2},
                                      {"key": 0, "key_as_string": "false", "doc_count": 1}]


def test_filter_aggregations_run_real_queries_through_the_planner():
    result = run({"red": {"filter": {"match": {"title": "red"}},
                          "aggs": {"avg_price": {"avg": {"field": "price"}}}},
                  "kinds": {"filters": {"filters": {"shoes": {"term": {"title": "shoe"}},
                                                    "cheap": {"range": {"price": {"lt": 15}}}},
                                        "other_bucket": True}}})
    assert result["red"] == {"doc_count": 2, "avg_price": {"value": pytest.approx((10.0 + 7.25) / 2)}}
    assert result["kinds"]["buckets"] == {"cheap": {"doc_count": 2}, "shoes": {"doc_count": 2},
                                          "_other_": {"doc_count": 1}}


def test_date_range_with_date_math_uses_the_request_clock():
    result = run({"r": {"date_range": {"field": "sold", "ranges": [{"from": "now-60d/d"}]}}})
    assert result["r"]["buckets"][0]["doc_count"] == 1     # only 2021-04-15 is within 60 days


def test_terms_on_a_text_field_are_refused():
    from index.errors import AggregationError
    with pytest.raises(AggregationError, match="Text fields are not optimised"):
        run({"t": {"terms": {"field": "title"}}})
