"""Aggregations on a text field with `fielddata: true` see its analysed terms per document
(uninverted from the postings, as OpenSearch's fielddata); without fielddata they are refused."""

import pytest

from index.aggregations import collect_segment, merge_partials, parse_aggregations, render
from index.aggregations.collect import uninverted_text
from index.errors import AggregationError
from index.testing import build_reference_searcher

MAPPING = {"properties": {"body": {"type": "text", "fielddata": True}, "plain": {"type": "text"},
                          "tag": {"type": "keyword"}}}
DOCUMENTS = [("1", {"body": "The quick fox", "tag": "a"}), ("2", {"body": "quick quick dog", "tag": "a"}),
             ("3", {"body": "lazy dog", "tag": "b"}), ("4", {"tag": "b"})]


class Context:
    def __init__(self, mapping):
        self.mapping = mapping
        self.now_millis = 0


@pytest.fixture(scope="module")
def searcher():
    return build_reference_searcher([DOCUMENTS[:2], DOCUMENTS[2:]], MAPPING)


def aggregate(searcher, body):
    tree = parse_aggregations(body)
    context = Context(searcher.mapping)
    partials = [collect_segment(tree, segment, sorted(segment.live_docs()), context) for segment in searcher.segments]
    return render(merge_partials(partials, tree), tree)


def test_terms_on_a_fielddata_text_field_counts_documents_per_analysed_term(searcher):
    buckets = aggregate(searcher, {"t": {"terms": {"field": "body"}}})["t"]["buckets"]
    assert buckets == [{"key": "dog", "doc_count": 2}, {"key": "quick", "doc_count": 2},
                       {"key": "fox", "doc_count": 1}, {"key": "lazy", "doc_count": 1},
                       {"key": "the", "doc_count": 1}]


def test_terms_with_sub_aggregations_on_fielddata(searcher):
    buckets = aggregate(searcher, {"t": {"terms": {"field": "body", "size": 1},
                                         "aggs": {"tags": {"terms": {"field": "tag"}}}}})["t"]["buckets"]
    assert buckets[0]["key"] == "dog" and buckets[0]["tags"]["buckets"] == [
        {"key": "a", "doc_count": 1}, {"key": "b", "doc_count": 1}]


def test_a_text_field_without_fielddata_is_refused(searcher):
    with pytest.raises(AggregationError, match="fielddata=true"):
        aggregate(searcher, {"t": {"terms": {"field": "plain"}}})


def test_uninverted_doc_values_list_each_docs_distinct_terms_in_order(searcher):
    segment = searcher.segments[0]
    doc_values = uninverted_text(segment, "body")
    per_doc = [[doc_values.terms[ordinal] for ordinal in doc_values.ordinals[doc_values.offsets[doc]:
                                                                              doc_values.offsets[doc + 1]]]
               for doc in range(segment.max_doc)]
    assert per_doc == [["fox", "quick", "the"], ["dog", "quick"]]


def test_significant_terms_on_fielddata_reads_the_analysed_terms():
    one_segment = build_reference_searcher([DOCUMENTS], MAPPING)   # the background is the segment's docs
    body = {"tags": {"terms": {"field": "tag"}, "aggs": {
        "words": {"significant_terms": {"field": "body", "min_doc_count": 1}}}}}
    buckets = {bucket["key"]: bucket for bucket in aggregate(one_segment, body)["tags"]["buckets"]}
    words_of_a = {bucket["key"]: (bucket["doc_count"], bucket["bg_count"]) for bucket in buckets["a"]["words"]["buckets"]}
    assert words_of_a["quick"] == (2, 2)
    assert "lazy" not in words_of_a


def test_sorting_on_a_fielddata_text_field_uses_its_smallest_or_largest_term(searcher):
    from index.query import SearchContext, merge_shard_results, parse_search_request, search_shard

    request = parse_search_request({"sort": [{"body": "asc"}]})
    merged = merge_shard_results([search_shard(searcher, request, SearchContext())], request)
    assert [(hit.document_id, hit.sort_values) for hit in merged.hits] == [
        ("2", ("dog",)), ("3", ("dog",)), ("1", ("fox",)), ("4", (None,))]
