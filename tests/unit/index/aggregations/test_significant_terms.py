"""significant_terms against the JLH formula computed by hand, split over segments."""

import orjson
import pytest

from aggregation_fakes import FakeContext, FakeMapping, FakeSegment, parse
from index.aggregations import AggregationPartial, collect_segment, merge_partials, render
from index.errors import AggregationError

FIELD_TYPES = {"crime": "keyword", "force": "keyword", "year": "long"}
# background: 20 documents; the "british transport police" subset is rich in bicycle theft
DOCUMENTS = (
    [{"force": "btp", "crime": "bicycle theft", "year": 2020}] * 4
    + [{"force": "btp", "crime": "assault", "year": 2021}] * 1
    + [{"force": "met", "crime": "bicycle theft", "year": 2020}] * 1
    + [{"force": "met", "crime": "assault", "year": 2021}] * 10
    + [{"force": "met", "crime": "burglary", "year": 2019}] * 4)


def run(aggs_json, predicate):
    tree = parse(aggs_json)
    partials = []
    for piece in range(3):
        segment = FakeSegment(DOCUMENTS[piece::3], FIELD_TYPES, name=f"s{piece}")
        partial = collect_segment(tree, segment, segment.matching_docs(predicate),
                                  FakeContext(FakeMapping(FIELD_TYPES)))
        partials.append(AggregationPartial.from_wire(orjson.loads(orjson.dumps(partial.to_wire()))))
    return render(merge_partials(partials, tree), tree)


def jlh(subset_count, subset_size, superset_count, superset_size):
    subset_probability = subset_count / subset_size
    superset_probability = superset_count / superset_size
    if subset_probability <= superset_probability:
        return 0.0
    return (subset_probability - superset_probability) * (subset_probability / superset_probability)


def test_terms_more_frequent_in_the_matching_documents_score_by_jlh():
    result = run({"s": {"significant_terms": {"field": "crime", "min_doc_count": 1}}},
                 lambda document: document["force"] == "btp")["s"]
    assert result["doc_count"] == 5 and result["bg_count"] == 20
    assert result["buckets"] == [{"key": "bicycle theft", "doc_count": 4,
                                  "score": pytest.approx(jlh(4, 5, 5, 20)), "bg_count": 5}]


def test_numeric_fields_percentage_heuristic_and_default_min_doc_count():
    result = run({"s": {"significant_terms": {"field": "year", "percentage": {}}}},
                 lambda document: document["force"] == "btp")["s"]
    # 2020: 4 of 5 in the background; 2021: 1 of 11 but below the default min_doc_count of 3
    assert result["buckets"] == [{"key": 2020, "doc_count": 4, "score": pytest.approx(0.8), "bg_count": 5}]


def test_unsupported_options_are_refused():
    with pytest.raises(AggregationError, match=r"not supported"):
        parse({"s": {"significant_terms": {"field": "crime", "chi_square": {}}}})
    with pytest.raises(AggregationError, match=r"not supported"):
        parse({"s": {"significant_terms": {"field": "crime"}, "aggs": {"c": {"value_count": {"field": "crime"}}}}})


def test_rare_terms_lists_terms_held_by_few_documents_rarest_first():
    documents = [{"crime": "arson"}, {"crime": "fraud"}, {"crime": "fraud"}, {"crime": "theft"},
                 {"crime": "theft"}, {"crime": "theft"}, {"crime": "bribery"}]
    tree = parse({"r": {"rare_terms": {"field": "crime", "max_doc_count": 2}}})
    partials = [collect_segment(tree, segment, segment.matching_docs(), FakeContext(FakeMapping(FIELD_TYPES)))
                for segment in (FakeSegment(documents[:4], FIELD_TYPES, name="a"),
                                FakeSegment(documents[4:], FIELD_TYPES, name="b"))]
    from index.aggregations import reduce_for_shard_response
    shard = reduce_for_shard_response(merge_partials(partials, tree), tree)
    assert render(merge_partials([shard], tree), tree)["r"]["buckets"] == [
        {"key": "arson", "doc_count": 1}, {"key": "bribery", "doc_count": 1}, {"key": "fraud", "doc_count": 2}]
