"""Pipeline aggregations, computed at render from the final buckets, against hand computation."""

import pytest

from aggregation_fakes import FakeContext, FakeMapping, FakeSegment, parse
from index.aggregations import collect_segment, merge_partials, render
from index.errors import AggregationError

FIELD_TYPES = {"month": "long", "sales": "double", "shop": "keyword"}
DOCUMENTS = [{"month": 1, "sales": 10.0, "shop": "a"}, {"month": 1, "sales": 5.0, "shop": "b"},
             {"month": 2, "sales": 1.0, "shop": "a"}, {"month": 4, "sales": 30.0, "shop": "b"},
             {"month": 4, "sales": 2.0, "shop": "a"}]


def run(aggs_json):
    tree = parse(aggs_json)
    segments = [FakeSegment(DOCUMENTS[:2], FIELD_TYPES, name="s0"),
                FakeSegment(DOCUMENTS[2:], FIELD_TYPES, name="s1")]
    partials = [collect_segment(tree, segment, segment.matching_docs(), FakeContext(FakeMapping(FIELD_TYPES)))
                for segment in segments]
    return render(merge_partials(partials, tree), tree)


MONTHLY = {"histogram": {"field": "month", "interval": 1},
           "aggs": {"total": {"sum": {"field": "sales"}}}}


def test_sibling_pipelines_summarise_a_metric_over_the_buckets():
    result = run({"monthly": MONTHLY,
                  "best": {"max_bucket": {"buckets_path": "monthly>total"}},
                  "worst": {"min_bucket": {"buckets_path": "monthly>total"}},
                  "mean": {"avg_bucket": {"buckets_path": "monthly>total"}},
                  "all": {"sum_bucket": {"buckets_path": "monthly>_count"}},
                  "summary": {"stats_bucket": {"buckets_path": "monthly>total"}}})
    # months 1..4: totals 15, 1, a gap (the empty month 3: OpenSearch's resolveBucketValue skips
    # a bucket without documents, whatever its metric says), 32
    assert result["best"] == {"value": 32.0, "keys": ["4.0"]}
    assert result["worst"] == {"value": 1.0, "keys": ["2.0"]}
    assert result["mean"] == {"value": pytest.approx(48.0 / 3)}
    assert result["all"] == {"value": 5.0}
    assert result["summary"] == {"count": 3, "min": 1.0, "max": 32.0, "avg": 16.0, "sum": 48.0}


def test_parent_pipelines_add_running_sums_and_differences_to_each_bucket():
    result = run({"monthly": {"histogram": {"field": "month", "interval": 1},
                              "aggs": {"total": {"sum": {"field": "sales"}},
                                       "running": {"cumulative_sum": {"buckets_path": "total"}},
                                       "change": {"derivative": {"buckets_path": "total"}}}}})
    buckets = result["monthly"]["buckets"]
    assert [b["running"]["value"] for b in buckets] == [15.0, 16.0, 16.0, 48.0]
    assert "change" not in buckets[0]
    # month 3 is empty: a gap under the default `skip`, so its derivative and the next one are
    # NaN in OpenSearch (DerivativePipelineAggregator), rendered null
    assert [b["change"]["value"] for b in buckets[1:]] == [-14.0, None, None]


def test_bucket_sort_reorders_and_pages_terms_buckets():
    result = run({"shops": {"terms": {"field": "shop"},
                            "aggs": {"total": {"sum": {"field": "sales"}},
                                     "top": {"bucket_sort": {"sort": [{"total": {"order": "desc"}}],
                                                             "size": 1}}}}})
    assert [(b["key"], b["total"]["value"]) for b in result["shops"]["buckets"]] == [("b", 35.0)]


def test_pipelines_validate_their_paths_and_parents():
    with pytest.raises(AggregationError, match=r"No aggregation found for path"):
        parse({"best": {"max_bucket": {"buckets_path": "nope>total"}}})
    with pytest.raises(AggregationError, match=r"must have a histogram"):
        parse({"t": {"terms": {"field": "shop"}, "aggs": {"c": {"cumulative_sum": {"buckets_path": "_count"}}}}})
    with pytest.raises(AggregationError, match=r"not supported"):
        parse({"t": {"terms": {"field": "shop"}, "aggs": {
            "s": {"bucket_script": {"buckets_path": {"a": "_count"}, "script": "params.a"}}}}})
    with pytest.raises(AggregationError, match=r"gap policy"):
        parse({"m": MONTHLY, "b": {"max_bucket": {"buckets_path": "m>total", "gap_policy": "x"}}})
