"""terms across shards: shard_size cuts, doc_count_error_upper_bound and sum_other_doc_count
computed as OpenSearch's InternalTerms.reduce does, on a crafted three-shard example."""

import orjson

from aggregation_fakes import FakeContext, FakeMapping, FakeSegment, parse
from index.aggregations import (
    AggregationPartial, collect_segment, merge_partials, reduce_for_shard_response, render)

FIELD_TYPES = {"product": "keyword"}

# Per shard: term → number of documents. Each shard also has one rare term below its top 5.
SHARD_COUNTS = [
    {"A": 25, "B": 18, "C": 6, "D": 3, "E": 2, "X": 1},
    {"A": 30, "B": 25, "F": 17, "Z": 16, "C": 6, "Y": 1},
    {"A": 45, "C": 44, "Z": 36, "G": 30, "E": 29, "W": 1},
]


def shard_partial(tree, counts, shard_index, segments=2):
    documents = [{"product": term} for term, count in counts.items() for _ in range(count)]
    partials = []
    for segment_number in range(segments):   # split each shard over segments: merged exactly
        part = documents[segment_number::segments]
        segment = FakeSegment(part, FIELD_TYPES, name=f"s{shard_index}-{segment_number}")
        partials.append(collect_segment(tree, segment, segment.matching_docs(),
                                        FakeContext(FakeMapping(FIELD_TYPES), shard_index=shard_index)))
    shard = reduce_for_shard_response(merge_partials(partials, tree), tree)
    return AggregationPartial.from_wire(orjson.loads(orjson.dumps(shard.to_wire())))


def coordinate(aggs_json, shard_counts=SHARD_COUNTS):
    tree = parse(aggs_json)
    partials = [shard_partial(tree, counts, index) for index, counts in enumerate(shard_counts)]
    return render(merge_partials(partials, tree), tree)


def test_three_shards_report_opensearch_error_bounds_per_bucket_and_overall():
    result = coordinate({"p": {"terms": {"field": "product", "size": 5, "shard_size": 5,
                                         "show_term_doc_count_error": True}}})["p"]
    # Shard errors are the smallest returned count of each cut shard: 2 + 6 + 29.
    assert result["doc_count_error_upper_bound"] == 37
    assert [(b["key"], b["doc_count"], b["doc_count_error_upper_bound"]) for b in result["buckets"]] == [
        ("A", 100, 0), ("C", 56, 0), ("Z", 52, 2), ("B", 43, 29), ("E", 31, 6)]
    # One rare term per shard never left the shards, and G (30), F (17), D (3) were cut here.
    assert result["sum_other_doc_count"] == 3 + 30 + 17 + 3


def test_a_shard_that_returns_fewer_than_shard_size_buckets_adds_no_error():
    result = coordinate({"p": {"terms": {"field": "product", "size": 3, "shard_size": 10}}})["p"]
    assert result["doc_count_error_upper_bound"] == 0
    assert result["sum_other_doc_count"] == sum(sum(c.values()) for c in SHARD_COUNTS) - (100 + 56 + 52)


def test_a_single_shard_reports_no_error_even_when_cut():
    result = coordinate({"p": {"terms": {"field": "product", "size": 2, "shard_size": 2}}},
                        shard_counts=SHARD_COUNTS[:1])["p"]
    assert result["doc_count_error_upper_bound"] == 0
    assert result["buckets"] == [{"key": "A", "doc_count": 25}, {"key": "B", "doc_count": 18}]
    assert result["sum_other_doc_count"] == 6 + 3 + 2 + 1


def test_ordering_by_key_never_has_an_error():
    result = coordinate({"p": {"terms": {"field": "product", "size": 3, "shard_size": 3,
                                         "order": {"_key": "asc"}}}})["p"]
    assert result["doc_count_error_upper_bound"] == 0
    assert [bucket["key"] for bucket in result["buckets"]] == ["A", "B", "C"]


def test_ordering_by_a_sub_aggregation_makes_the_error_unbounded():
    result = coordinate({"p": {"terms": {"field": "product", "size": 2, "shard_size": 2,
                                         "order": {"c": "desc"}},
                               "aggs": {"c": {"value_count": {"field": "product"}}}}})["p"]
    assert result["doc_count_error_upper_bound"] == -1


def test_without_a_shard_cut_partials_are_exact():
    tree = parse({"p": {"terms": {"field": "product", "size": 5}}})
    partials = []
    for index, counts in enumerate(SHARD_COUNTS):
        documents = [{"product": term} for term, count in counts.items() for _ in range(count)]
        segment = FakeSegment(documents, FIELD_TYPES)
        partials.append(collect_segment(tree, segment, segment.matching_docs(), FakeContext(FakeMapping(FIELD_TYPES))))
    result = render(merge_partials(partials, tree), tree)["p"]
    assert result["doc_count_error_upper_bound"] == 0
    assert [(b["key"], b["doc_count"]) for b in result["buckets"]] == [
        ("A", 100), ("C", 56), ("Z", 52), ("B", 43), ("E", 31)]


def test_a_field_mapped_as_keyword_and_as_number_in_two_indices_cannot_be_merged():
    import pytest
    from index.errors import AggregationError
    tree = parse({"p": {"terms": {"field": "f"}}})
    keyword_segment = FakeSegment([{"f": "x"}], {"f": "keyword"})
    number_segment = FakeSegment([{"f": 1}], {"f": "long"})
    partials = [collect_segment(tree, segment, segment.matching_docs(), FakeContext(FakeMapping(types)))
                for segment, types in ((keyword_segment, {"f": "keyword"}), (number_segment, {"f": "long"}))]
    with pytest.raises(AggregationError, match=r"two different types in two different indices"):
        merge_partials(partials, tree)
