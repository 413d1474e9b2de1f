"""Metric aggregations against brute-force Python computations over the same documents."""

import math
import statistics

import numpy as np
import orjson
import pytest

from aggregation_fakes import FakeContext, FakeMapping, FakeSegment, parse
from index.aggregations import AggregationPartial, collect_segment, merge_partials, render
from index.errors import AggregationError

FIELD_TYPES = {"price": "double", "count": "long", "tag": "keyword", "when": "date",
               "flag": "boolean", "weight": "long"}
DOCUMENTS = [
    {"price": 10.5, "count": [3, 1], "tag": ["red", "blue"], "when": 1_600_000_000_000, "weight": 2},
    {"price": 2.0, "count": 7, "tag": "red", "flag": True, "weight": 1},
    {"price": -4.25, "tag": "green", "when": 1_500_000_000_000},
    {"count": 7, "flag": False},
    {},
    {"price": 100.0, "count": [2, 2], "tag": ["blue"], "weight": 3},
]


def run(aggs_json, documents=DOCUMENTS, deleted=frozenset(), scores=None):
    segment = FakeSegment(documents, FIELD_TYPES, deleted=deleted)
    tree = parse(aggs_json)
    partial = collect_segment(tree, segment, segment.matching_docs(), FakeContext(FakeMapping(FIELD_TYPES)),
                              scores=scores)
    return render(merge_partials([partial], tree), tree)


def values_of(field_name, documents=DOCUMENTS):
    result = []
    for document in documents:
        value = document.get(field_name)
        if value is not None:
            result.extend(value if isinstance(value, list) else [value])
    return result


@pytest.mark.parametrize("field_name", ["price", "count"])
def test_avg_min_max_sum_value_count_match_brute_force(field_name):
    values = values_of(field_name)
    result = run({"a": {"avg": {"field": field_name}}, "mi": {"min": {"field": field_name}},
                  "ma": {"max": {"field": field_name}}, "s": {"sum": {"field": field_name}},
                  "c": {"value_count": {"field": field_name}}})
    assert result["a"]["value"] == pytest.approx(sum(values) / len(values))
    assert result["mi"]["value"] == min(values)
    assert result["ma"]["value"] == max(values)
    assert result["s"]["value"] == pytest.approx(sum(values))
    assert result["c"]["value"] == len(values)


def test_metrics_of_no_documents_render_null_values_and_zero_sum():
    result = run({"a": {"avg": {"field": "price"}}, "mi": {"min": {"field": "price"}},
                  "ma": {"max": {"field": "price"}}, "s": {"sum": {"field": "price"}},
                  "st": {"stats": {"field": "price"}}, "c": {"value_count": {"field": "price"}}},
                 documents=[{}, {"tag": "x"}])
    assert result == {"a": {"value": None}, "mi": {"value": None}, "ma": {"value": None},
                      "s": {"value": 0.0}, "c": {"value": 0},
                      "st": {"count": 0, "min": None, "max": None, "avg": None, "sum": 0.0}}


def test_metrics_on_an_unmapped_field_render_as_empty():
    result = run({"a": {"avg": {"field": "nope"}}, "c": {"cardinality": {"field": "nope"}}})
    assert result == {"a": {"value": None}, "c": {"value": 0}}


def test_stats_and_extended_stats_match_the_statistics_module():
    values = values_of("price")
    result = run({"s": {"extended_stats": {"field": "price", "sigma": 3}}})["s"]
    assert result["count"] == len(values)
    assert result["avg"] == pytest.approx(statistics.fmean(values))
    assert result["sum_of_squares"] == pytest.approx(sum(v * v for v in values))
    assert result["variance"] == pytest.approx(statistics.pvariance(values))
    assert result["variance_sampling"] == pytest.approx(statistics.variance(values))
    assert result["std_deviation"] == pytest.approx(statistics.pstdev(values))
    assert result["std_deviation_sampling"] == pytest.approx(statistics.stdev(values))
    bounds = result["std_deviation_bounds"]
    assert bounds["upper"] == pytest.approx(statistics.fmean(values) + 3 * statistics.pstdev(values))
    assert bounds["lower_sampling"] == pytest.approx(statistics.fmean(values) - 3 * statistics.stdev(values))


def test_extended_stats_of_no_documents_are_null():
    result = run({"s": {"extended_stats": {"field": "price"}}}, documents=[{}])["s"]
    assert result["count"] == 0 and result["sum"] == 0.0
    assert result["variance"] is None and result["std_deviation"] is None
    assert result["std_deviation_bounds"]["upper"] is None


def test_missing_parameter_fills_documents_without_a_value():
    result = run({"s": {"sum": {"field": "price", "missing": 1000}},
                  "c": {"value_count": {"field": "price", "missing": 0}}})
    assert result["s"]["value"] == pytest.approx(sum(values_of("price")) + 2 * 1000)
    assert result["c"]["value"] == len(values_of("price")) + 2


def test_deleted_documents_are_not_counted():
    result = run({"c": {"value_count": {"field": "count"}}}, deleted={0})
    assert result["c"]["value"] == len(values_of("count", DOCUMENTS[1:]))


def test_value_count_and_cardinality_work_on_keywords():
    result = run({"c": {"value_count": {"field": "tag"}}, "d": {"cardinality": {"field": "tag"}}})
    assert result["c"]["value"] == len(values_of("tag"))
    assert result["d"]["value"] == len(set(values_of("tag")))


def test_numeric_metrics_refuse_keyword_fields():
    with pytest.raises(AggregationError, match=r"Field \[tag\] of type \[keyword\] is not supported"):
        run({"a": {"avg": {"field": "tag"}}})


def test_min_and_max_of_dates_carry_value_as_string():
    result = run({"mi": {"min": {"field": "when"}}, "ma": {"max": {"field": "when"}}})
    assert result["mi"] == {"value": 1.5e12, "value_as_string": "2017-07-14T02:40:00.000Z"}
    assert result["ma"]["value_as_string"] == "2020-09-13T12:26:40.000Z"


def test_weighted_avg_matches_brute_force():
    pairs = [(d["price"], d["weight"]) for d in DOCUMENTS if "price" in d and "weight" in d]
    expected = sum(v * w for v, w in pairs) / sum(w for _, w in pairs)
    result = run({"w": {"weighted_avg": {"value": {"field": "price"}, "weight": {"field": "weight"}}}})
    assert result["w"]["value"] == pytest.approx(expected)


def test_percentiles_of_a_small_set_interpolate_between_exact_values():
    documents = [{"price": float(v)} for v in [1, 2, 3, 4, 5]]
    result = run({"p": {"percentiles": {"field": "price", "percents": [0, 50, 100, 25]}}}, documents)
    assert result["p"]["values"] == {"0.0": 1.0, "50.0": 3.0, "100.0": 5.0, "25.0": 1.75}


def test_percentiles_keyed_false_is_a_list_and_empty_is_null():
    result = run({"p": {"percentiles": {"field": "price", "percents": [50], "keyed": False}}},
                 documents=[{}])
    assert result["p"] == {"values": [{"key": 50.0, "value": None}]}


def test_percentiles_stay_within_the_stated_rank_bound_on_many_values():
    rng = np.random.default_rng(7)
    values = rng.lognormal(size=20_000)
    documents = [{"price": float(v)} for v in values]
    percents = [1, 10, 50, 90, 99]
    result = run({"p": {"percentiles": {"field": "price", "percents": percents}}}, documents)
    ordered = np.sort(values)
    for percent in percents:
        estimate = result["p"]["values"][f"{float(percent)}"]
        rank = np.searchsorted(ordered, estimate) / ordered.size
        assert abs(rank - percent / 100) <= math.pi / 100


def test_percentile_ranks_report_percent_at_or_below_each_value():
    documents = [{"price": float(v)} for v in range(1, 101)]
    result = run({"r": {"percentile_ranks": {"field": "price", "values": [0, 50.5, 1000]}}}, documents)
    values = result["r"]["values"]
    assert values["0.0"] == 0.0 and values["1000.0"] == 100.0
    assert values["50.5"] == pytest.approx(50.0, abs=1.5)


def test_top_hits_by_score_returns_the_best_documents_with_their_source():
    scores = np.asarray([0.5, 3.0, 1.0, 2.0, 0.1, 0.2])
    result = run({"t": {"top_hits": {"size": 2, "_source": ["price"]}}}, scores=scores)["t"]["hits"]
    assert result["total"] == {"value": 6, "relation": "eq"}
    assert result["max_score"] == 3.0
    assert [(hit["_id"], hit["_score"], hit["_source"]) for hit in result["hits"]] == [
        ("seg0-1", 3.0, {"price": 2.0}), ("seg0-3", 2.0, {})]


def test_top_hits_sorted_by_a_field_carry_sort_values_and_no_score():
    result = run({"t": {"top_hits": {"size": 3, "sort": [{"price": {"order": "desc"}}],
                                     "_source": False}}})["t"]["hits"]
    assert result["max_score"] is None
    assert [(hit["_id"], hit["sort"], hit["_score"]) for hit in result["hits"]] == [
        ("seg0-5", [100.0], None), ("seg0-0", [10.5], None), ("seg0-1", [2.0], None)]
    assert "_source" not in result["hits"][0]


def test_top_hits_keyword_sort_ascending_puts_missing_last():
    result = run({"t": {"top_hits": {"size": 6, "sort": ["tag"], "_source": False}}})["t"]["hits"]
    assert [hit["sort"] for hit in result["hits"]] == [["blue"], ["blue"], ["green"], ["red"],
                                                       [None], [None]]


def test_partials_survive_the_wire_unchanged():
    segment = FakeSegment(DOCUMENTS, FIELD_TYPES)
    tree = parse({"s": {"stats": {"field": "price"}}, "c": {"cardinality": {"field": "tag"}},
                  "p": {"percentiles": {"field": "price"}}, "t": {"top_hits": {"size": 1}},
                  "w": {"weighted_avg": {"value": {"field": "price"}, "weight": {"field": "weight"}}}})
    partial = collect_segment(tree, segment, segment.matching_docs(), FakeContext(FakeMapping(FIELD_TYPES)))
    wire = orjson.loads(orjson.dumps(partial.to_wire()))
    assert render(AggregationPartial.from_wire(wire), tree) == render(partial, tree)


def test_median_absolute_deviation_of_a_small_set_is_exact():
    documents = [{"price": float(v)} for v in [1, 1, 2, 2, 4, 6, 9]]
    result = run({"m": {"median_absolute_deviation": {"field": "price"}},
                  "e": {"median_absolute_deviation": {"field": "nope"}}}, documents)
    assert result == {"m": {"value": 1.0}, "e": {"value": None}}


def test_median_absolute_deviation_of_a_normal_sample_is_near_its_theoretical_value():
    values = np.random.default_rng(3).normal(0, 10, 20_000)
    result = run({"m": {"median_absolute_deviation": {"field": "price"}}},
                 [{"price": float(v)} for v in values])
    expected = float(np.median(np.abs(values - np.median(values))))
    assert result["m"]["value"] == pytest.approx(expected, rel=0.02)


def test_top_hits_can_carry_version_and_sequence_numbers():
    result = run({"t": {"top_hits": {"size": 1, "sort": [{"price": "desc"}], "_source": False,
                                     "version": True, "seq_no_primary_term": True}}})["t"]["hits"]["hits"]
    assert result == [{"_index": "test-index", "_id": "seg0-5", "_version": 6, "_seq_no": 105,
                       "_primary_term": 1, "_score": None, "sort": [100.0]}]


def test_top_hits_refuses_what_it_cannot_return():
    with pytest.raises(AggregationError, match=r"\[highlight\] is not supported"):
        parse({"t": {"top_hits": {"highlight": {"fields": {"a": {}}}}}})
