"""Bucket aggregations against brute-force Python computations, and their response shapes."""

import collections
import math

import numpy as np
import pytest

from aggregation_fakes import FakeContext, FakeMapping, FakeSegment, parse, query_matches, TermQuery
from index.aggregations import collect_segment, merge_partials, render
from index.errors import AggregationError

FIELD_TYPES = {"tag": "keyword", "price": "double", "count": "long", "flag": "boolean",
               "when": "date", "text": "text"}
DOCUMENTS = [
    {"tag": ["red", "blue"], "price": 10.0, "count": 3, "flag": True, "when": 1_577_836_800_000},
    {"tag": "red", "price": 25.0, "count": 3, "flag": False, "when": 1_577_923_200_000},
    {"tag": "green", "price": 3.5, "count": [1, 9], "when": 1_580_515_200_000},
    {"tag": "red", "price": 47.0, "flag": True},
    {"price": 10.0, "count": 1},
    {"tag": ["blue"], "count": 9, "when": 1_583_020_800_000},
]


def run(aggs_json, documents=DOCUMENTS, mapping=True):
    segment = FakeSegment(documents, FIELD_TYPES)
    tree = parse(aggs_json)
    context = FakeContext(FakeMapping(FIELD_TYPES) if mapping else None)
    return render(merge_partials([collect_segment(tree, segment, segment.matching_docs(), context)], tree), tree)


def doc_values(document, field_name):
    value = document.get(field_name)
    return [] if value is None else (value if isinstance(value, list) else [value])


def brute_terms(field_name, documents=DOCUMENTS):
    counts = collections.Counter()
    for document in documents:
        for value in set(doc_values(document, field_name)):
            counts[value] += 1
    return counts


def test_keyword_terms_count_documents_per_term_ordered_by_count_then_key():
    result = run({"t": {"terms": {"field": "tag"}}})["t"]
    expected = sorted(brute_terms("tag").items(), key=lambda item: (-item[1], item[0]))
    assert result == {"doc_count_error_upper_bound": 0, "sum_other_doc_count": 0,
                      "buckets": [{"key": key, "doc_count": count} for key, count in expected]}


def test_terms_size_cuts_buckets_and_counts_the_rest_as_other():
    result = run({"t": {"terms": {"field": "tag", "size": 1}}})["t"]
    counts = brute_terms("tag")
    assert result["buckets"] == [{"key": "red", "doc_count": 3}]
    assert result["sum_other_doc_count"] == sum(counts.values()) - 3


def test_terms_order_by_key_and_by_a_sub_metric():
    by_key = run({"t": {"terms": {"field": "tag", "order": {"_key": "desc"}}}})["t"]["buckets"]
    assert [bucket["key"] for bucket in by_key] == ["red", "green", "blue"]
    by_metric = run({"t": {"terms": {"field": "tag", "order": {"m": "asc"}},
                           "aggs": {"m": {"max": {"field": "price"}}}}})["t"]["buckets"]
    assert [(bucket["key"], bucket["m"]["value"]) for bucket in by_metric] == [
        ("green", 3.5), ("blue", 10.0), ("red", 47.0)]


def test_terms_sub_aggregations_see_only_their_bucket_documents():
    result = run({"t": {"terms": {"field": "tag"}, "aggs": {"s": {"sum": {"field": "price"}}}}})["t"]
    for bucket in result["buckets"]:
        expected = sum(v for d in DOCUMENTS if bucket["key"] in doc_values(d, "tag")
                       for v in doc_values(d, "price"))
        assert bucket["s"]["value"] == pytest.approx(expected)


def test_terms_missing_puts_documents_without_a_value_in_their_own_bucket():
    result = run({"t": {"terms": {"field": "tag", "missing": "none"}}})["t"]["buckets"]
    assert {"key": "none", "doc_count": 1} in result


def test_terms_include_exclude_by_regex_and_by_list():
    regex = run({"t": {"terms": {"field": "tag", "include": "r.*|g.*", "exclude": "green"}}})["t"]
    assert [bucket["key"] for bucket in regex["buckets"]] == ["red"]
    listed = run({"t": {"terms": {"field": "tag", "include": ["blue", "green"]}}})["t"]
    assert [bucket["key"] for bucket in listed["buckets"]] == ["blue", "green"]


def test_terms_min_doc_count_drops_rare_terms():
    result = run({"t": {"terms": {"field": "tag", "min_doc_count": 2}}})["t"]["buckets"]
    assert [bucket["key"] for bucket in result] == ["red", "blue"]


def test_numeric_terms_keep_numeric_keys():
    result = run({"t": {"terms": {"field": "count"}}, "p": {"terms": {"field": "price"}}})
    counts = brute_terms("count")
    assert result["t"]["buckets"] == [{"key": key, "doc_count": count} for key, count in
                                      sorted(counts.items(), key=lambda item: (-item[1], item[0]))]
    assert result["p"]["buckets"][0] == {"key": 10.0, "doc_count": 2}


def test_boolean_and_date_terms_have_key_as_string():
    result = run({"b": {"terms": {"field": "flag"}}, "d": {"terms": {"field": "when", "size": 1,
                                                                     "order": {"_key": "asc"}}}})
    assert result["b"]["buckets"] == [{"key": 1, "key_as_string": "true", "doc_count": 2},
                                      {"key": 0, "key_as_string": "false", "doc_count": 1}]
    assert result["d"]["buckets"] == [{"key": 1_577_836_800_000,
                                       "key_as_string": "2020-01-01T00:00:00.000Z", "doc_count": 1}]


def test_terms_on_a_text_field_is_refused_like_opensearch():
    with pytest.raises(AggregationError, match=r"Text fields are not optimised"):
        run({"t": {"terms": {"field": "text"}}})


def test_terms_on_an_unmapped_field_are_empty():
    assert run({"t": {"terms": {"field": "nope"}}})["t"] == {
        "doc_count_error_upper_bound": 0, "sum_other_doc_count": 0, "buckets": []}


def test_histogram_fills_empty_buckets_between_the_first_and_last():
    result = run({"h": {"histogram": {"field": "price", "interval": 10}}})["h"]["buckets"]
    counts = collections.Counter(math.floor(v / 10) * 10.0 for d in DOCUMENTS for v in doc_values(d, "price"))
    assert result == [{"key": key, "doc_count": counts.get(key, 0)} for key in
                      [0.0, 10.0, 20.0, 30.0, 40.0]]


def test_histogram_min_doc_count_offset_and_keyed():
    result = run({"h": {"histogram": {"field": "price", "interval": 10, "offset": 5,
                                      "min_doc_count": 1, "keyed": True}}})["h"]["buckets"]
    assert result == {"-5.0": {"key": -5.0, "doc_count": 1}, "5.0": {"key": 5.0, "doc_count": 2},
                      "25.0": {"key": 25.0, "doc_count": 1}, "45.0": {"key": 45.0, "doc_count": 1}}


def test_histogram_extended_and_hard_bounds():
    extended = run({"h": {"histogram": {"field": "price", "interval": 20,
                                        "extended_bounds": {"min": -40, "max": 70}}}})["h"]["buckets"]
    assert [bucket["key"] for bucket in extended] == [-40.0, -20.0, 0.0, 20.0, 40.0, 60.0]
    hard = run({"h": {"histogram": {"field": "price", "interval": 10,
                                    "hard_bounds": {"min": 10, "max": 30}}}})["h"]["buckets"]
    assert hard == [{"key": 10.0, "doc_count": 2}, {"key": 20.0, "doc_count": 1}]


def test_histogram_of_no_documents_is_an_empty_list():
    assert run({"h": {"histogram": {"field": "price", "interval": 5}}}, documents=[{}])["h"] == {"buckets": []}


def test_date_histogram_monthly_with_gaps_and_key_as_string():
    result = run({"d": {"date_histogram": {"field": "when", "calendar_interval": "month"}}})["d"]
    assert result == {"buckets": [
        {"key_as_string": "2020-01-01T00:00:00.000Z", "key": 1_577_836_800_000, "doc_count": 2},
        {"key_as_string": "2020-02-01T00:00:00.000Z", "key": 1_580_515_200_000, "doc_count": 1},
        {"key_as_string": "2020-03-01T00:00:00.000Z", "key": 1_583_020_800_000, "doc_count": 1}]}


def test_date_histogram_format_time_zone_and_extended_bounds():
    result = run({"d": {"date_histogram": {
        "field": "when", "calendar_interval": "day", "time_zone": "-01:00", "format": "yyyy-MM-dd",
        "min_doc_count": 0, "extended_bounds": {"min": "2019-12-30", "max": "2020-01-02"}}}},
        documents=DOCUMENTS[:2])["d"]["buckets"]
    assert [(b["key_as_string"], b["doc_count"]) for b in result] == [
        ("2019-12-30", 0), ("2019-12-31", 1), ("2020-01-01", 1), ("2020-01-02", 0)]
    assert result[0]["key"] == 1_577_667_600_000    # 2019-12-30T00:00-01:00


def test_date_histogram_fixed_interval_keyed():
    result = run({"d": {"date_histogram": {"field": "when", "fixed_interval": "12h", "keyed": True,
                                           "min_doc_count": 1}}}, documents=DOCUMENTS[:2])["d"]
    assert list(result["buckets"]) == ["2020-01-01T00:00:00.000Z", "2020-01-02T00:00:00.000Z"]


def test_range_buckets_are_from_inclusive_to_exclusive_with_java_style_keys():
    result = run({"r": {"range": {"field": "price", "ranges": [
        {"from": 10, "to": 25}, {"to": 10}, {"from": 25, "key": "expensive"}]}}})["r"]["buckets"]
    assert result == [{"key": "*-10.0", "to": 10.0, "doc_count": 1},
                      {"key": "10.0-25.0", "from": 10.0, "to": 25.0, "doc_count": 2},
                      {"key": "expensive", "from": 25.0, "doc_count": 2}]


def test_range_keyed_and_sub_aggregations():
    result = run({"r": {"range": {"field": "count", "keyed": True, "ranges": [{"from": 2}]},
                        "aggs": {"c": {"value_count": {"field": "count"}}}}})["r"]["buckets"]
    assert result == {"2.0-*": {"from": 2.0, "doc_count": 4, "c": {"value": 5}}}


def test_a_multi_valued_document_counts_once_per_range():
    result = run({"r": {"range": {"field": "count", "ranges": [{"from": 0}]}}})["r"]["buckets"]
    assert result[0]["doc_count"] == 5


def test_date_range_parses_dates_and_prints_them():
    result = run({"r": {"date_range": {"field": "when", "format": "yyyy-MM", "ranges": [
        {"to": "2020-02"}, {"from": "2020-02"}]}}})["r"]["buckets"]
    assert result == [
        {"key": "*-2020-02", "to": 1_580_515_200_000.0, "to_as_string": "2020-02", "doc_count": 2},
        {"key": "2020-02-*", "from": 1_580_515_200_000.0, "from_as_string": "2020-02", "doc_count": 2}]


def test_filter_and_filters_ask_the_context_for_bitmaps():
    result = run({"f": {"filter": {"term": {"tag": "red"}}, "aggs": {"m": {"max": {"field": "price"}}}},
                  "fs": {"filters": {"filters": {"r": {"term": {"tag": "red"}},
                                                 "b": {"term": {"tag": "blue"}}},
                                     "other_bucket_key": "rest"}},
                  "anon": {"filters": {"filters": [{"term": {"tag": "green"}}]}}})
    assert result["f"] == {"doc_count": 3, "m": {"value": 47.0}}
    assert result["fs"] == {"buckets": {"b": {"doc_count": 2}, "r": {"doc_count": 3},
                                        "rest": {"doc_count": 2}}}
    assert result["anon"] == {"buckets": [{"doc_count": 1}]}


def test_missing_and_global_buckets():
    segment = FakeSegment(DOCUMENTS, FIELD_TYPES)
    tree = parse({"m": {"missing": {"field": "tag"}}, "g": {"global": {}, "aggs": {
        "c": {"value_count": {"field": "price"}}}}})
    only_first_two = np.asarray([0, 1])
    result = render(collect_segment(tree, segment, only_first_two, FakeContext(FakeMapping(FIELD_TYPES))), tree)
    assert result["m"] == {"doc_count": 0}
    assert result["g"] == {"doc_count": len(DOCUMENTS), "c": {"value": 5}}


def test_meta_is_echoed_in_the_response():
    result = run({"a": {"avg": {"field": "price"}, "meta": {"k": 1}}})
    assert result["a"]["meta"] == {"k": 1}


def test_too_many_histogram_buckets_is_a_typed_error():
    with pytest.raises(AggregationError, match=r"too many buckets"):
        run({"h": {"histogram": {"field": "price", "interval": 0.0001}}})


def test_without_a_mapping_types_are_inferred_from_doc_values():
    result = run({"t": {"terms": {"field": "tag", "size": 1}}, "n": {"terms": {"field": "count", "size": 1}}},
                 mapping=False)
    assert result["t"]["buckets"] == [{"key": "red", "doc_count": 3}]
    assert result["n"]["buckets"][0]["key"] in (1, 3, 9)


def test_terms_order_through_a_single_bucket_path_and_by_its_doc_count():
    result = run({"t": {"terms": {"field": "tag", "order": {"cheap>m": "desc"}},
                        "aggs": {"cheap": {"filter": {"term": {"price": 10.0}},
                                           "aggs": {"m": {"max": {"field": "count"}}}}}},
                  "u": {"terms": {"field": "tag", "order": [{"cheap": "desc"}, {"_key": "desc"}]},
                        "aggs": {"cheap": {"filter": {"term": {"price": 10.0}}}}}})
    # only doc 0 (red, blue; count 3) has price 10.0 among tagged docs
    assert [b["key"] for b in result["t"]["buckets"]] == ["blue", "red", "green"]
    assert [(b["key"], b["cheap"]["doc_count"]) for b in result["u"]["buckets"]] == [
        ("red", 1), ("blue", 1), ("green", 0)]


def test_order_paths_must_go_through_single_bucket_aggregations():
    with pytest.raises(AggregationError, match=r"must be a single-bucket"):
        parse({"t": {"terms": {"field": "tag", "order": {"inner>m": "desc"}},
                     "aggs": {"inner": {"terms": {"field": "tag"}, "aggs": {"m": {"max": {"field": "count"}}}}}}})


def test_terms_min_doc_count_zero_lists_unmatched_values_of_the_segment():
    segment = FakeSegment(DOCUMENTS, FIELD_TYPES)
    tree = parse({"k": {"terms": {"field": "tag", "min_doc_count": 0}},
                  "n": {"terms": {"field": "count", "min_doc_count": 0}}})
    first_doc_only = np.asarray([0])
    result = render(collect_segment(tree, segment, first_doc_only, FakeContext(FakeMapping(FIELD_TYPES))), tree)
    assert result["k"]["buckets"] == [{"key": "blue", "doc_count": 1}, {"key": "red", "doc_count": 1},
                                      {"key": "green", "doc_count": 0}]
    assert result["n"]["buckets"] == [{"key": 3, "doc_count": 1}, {"key": 1, "doc_count": 0},
                                      {"key": 9, "doc_count": 0}]


def test_numeric_terms_refuse_regex_include_but_accept_value_lists():
    with pytest.raises(AggregationError, match=r"cannot support regular expression"):
        run({"n": {"terms": {"field": "count", "include": "1.*"}}})
    result = run({"n": {"terms": {"field": "count", "include": [1, 9]}}})["n"]["buckets"]
    assert sorted(bucket["key"] for bucket in result) == [1, 9]


def test_buckets_of_nested_aggregations_count_toward_the_response_limit(monkeypatch):
    import importlib
    render_module = importlib.import_module("index.aggregations.render")
    monkeypatch.setattr(render_module, "MAX_BUCKETS", 5)
    assert len(run({"t": {"terms": {"field": "tag"}}})["t"]["buckets"]) == 3
    with pytest.raises(AggregationError, match=r"too many buckets"):
        run({"t": {"terms": {"field": "tag"}, "aggs": {"u": {"terms": {"field": "count"}}}}})


def test_date_histogram_extended_bounds_fill_buckets_even_with_no_segments():
    from index.aggregations import empty_partial
    tree = parse({"d": {"date_histogram": {"field": "when", "calendar_interval": "day",
                                           "extended_bounds": {"min": "2020-01-01", "max": "2020-01-03"}}}})
    result = render(empty_partial(tree), tree)["d"]["buckets"]
    assert [(b["key_as_string"], b["doc_count"]) for b in result] == [
        ("2020-01-01T00:00:00.000Z", 0), ("2020-01-02T00:00:00.000Z", 0), ("2020-01-03T00:00:00.000Z", 0)]


def test_terms_on_the_index_metadata_field_counts_every_document():
    result = run({"i": {"terms": {"field": "_index"}}})
    assert result["i"]["buckets"] == [{"key": "test-index", "doc_count": len(DOCUMENTS)}]


@pytest.mark.parametrize("field_name", ["tag", "count", "price"])
def test_partitioned_include_splits_the_terms_into_disjoint_parts(field_name):
    everything = {b["key"] for b in run({"t": {"terms": {"field": field_name, "size": 100}}})["t"]["buckets"]}
    parts = []
    for partition in range(3):
        result = run({"t": {"terms": {"field": field_name, "size": 100,
                                      "include": {"partition": partition, "num_partitions": 3}}}})
        parts.append({b["key"] for b in result["t"]["buckets"]})
    assert set().union(*parts) == everything
    assert sum(len(part) for part in parts) == len(everything)


def test_partitioned_include_is_validated():
    with pytest.raises(AggregationError, match=r"partition"):
        parse({"t": {"terms": {"field": "tag", "include": {"partition": 3, "num_partitions": 3}}}})
    with pytest.raises(AggregationError, match=r"Cannot specify any excludes"):
        parse({"t": {"terms": {"field": "tag", "include": {"partition": 0, "num_partitions": 3},
                               "exclude": ["a"]}}})


def test_a_numeric_histogram_over_a_date_field_prints_keys_as_dates():
    day = 86_400_000
    result = run({"h": {"histogram": {"field": "when", "interval": day, "min_doc_count": 1}}})["h"]["buckets"]
    assert result[0] == {"key_as_string": "2020-01-01T00:00:00.000Z", "key": 1_577_836_800_000.0, "doc_count": 1}


def test_date_histogram_time_zone_example_from_the_opensearch_documentation():
    documents = [{"when": 1_443_659_400_000}, {"when": 1_443_663_000_000}]   # 00:30Z and 01:30Z, 2015-10-01
    result = run({"by_day": {"date_histogram": {"field": "when", "calendar_interval": "day",
                                                "time_zone": "-01:00"}}}, documents=documents)
    assert result["by_day"]["buckets"] == [
        {"key_as_string": "2015-09-30T00:00:00.000-01:00", "key": 1_443_574_800_000, "doc_count": 1},
        {"key_as_string": "2015-10-01T00:00:00.000-01:00", "key": 1_443_661_200_000, "doc_count": 1}]


def test_date_histogram_offset_example_from_the_opensearch_documentation():
    documents = [{"when": 1_443_677_400_000}, {"when": 1_443_681_000_000}]   # 05:30Z and 06:30Z, 2015-10-01
    result = run({"by_day": {"date_histogram": {"field": "when", "calendar_interval": "day",
                                                "offset": "+6h"}}}, documents=documents)
    assert result["by_day"]["buckets"] == [
        {"key_as_string": "2015-09-30T06:00:00.000Z", "key": 1_443_592_800_000, "doc_count": 1},
        {"key_as_string": "2015-10-01T06:00:00.000Z", "key": 1_443_679_200_000, "doc_count": 1}]
