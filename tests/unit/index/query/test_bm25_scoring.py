"""BM25 as OpenSearch computes it: shard-wide statistics, exact field lengths, (k1 + 1) numerator."""

import math

import pytest

from index.query import SearchContext, parse_search_request, search_shard
from index.testing import build_reference_searcher

MAPPING = {"properties": {"body": {"type": "text"}, "tag": {"type": "keyword"}}}


def scores_by_id(searcher, query):
    request = parse_search_request({"query": query, "size": 100})
    return {hit.document_id: hit.score for hit in search_shard(searcher, request, SearchContext()).hits}


def bm25(term_frequency, document_frequency, document_count, length, average_length, boost=1.0):
    idf = math.log(1 + (document_count - document_frequency + 0.5) / (document_frequency + 0.5))
    tf = term_frequency / (term_frequency + 1.2 * (1 - 0.75 + 0.75 * length / average_length))
    return boost * 2.2 * idf * tf


def test_a_lone_match_in_a_one_document_index_scores_like_opensearch():
    searcher = build_reference_searcher([[("1", {"body": "hello"})]], MAPPING)
    assert scores_by_id(searcher, {"match": {"body": "hello"}})["1"] == 0.2876821      # float32, shortest form


def test_term_score_uses_statistics_summed_over_segments_and_exact_lengths():
    segments = [[("1", {"body": "fox fox dog"}), ("2", {"body": "dog"})],
                [("3", {"body": "fox one two three four five"}), ("4", {"body": "cat"})]]
    searcher = build_reference_searcher(segments, MAPPING)
    scores = scores_by_id(searcher, {"match": {"body": "fox"}})
    average_length = (3 + 1 + 6 + 1) / 4
    assert scores["1"] == pytest.approx(bm25(2, 2, 4, 3, average_length))
    assert scores["3"] == pytest.approx(bm25(1, 2, 4, 6, average_length))


def test_deleted_documents_still_count_in_statistics_as_in_lucene():
    segments = [[("1", {"body": "fox"}), ("2", {"body": "fox dog"})]]
    searcher = build_reference_searcher(segments, MAPPING, deleted_document_ids=["2"])
    assert scores_by_id(searcher, {"match": {"body": "fox"}})["1"] == pytest.approx(bm25(1, 2, 2, 1, 1.5))


def test_boost_multiplies_the_score():
    searcher = build_reference_searcher([[("1", {"body": "fox"}), ("2", {"body": "dog"})]], MAPPING)
    plain = scores_by_id(searcher, {"match": {"body": "fox"}})["1"]
    boosted = scores_by_id(searcher, {"match": {"body": {"query": "fox", "boost": 3}}})["1"]
    assert boosted == pytest.approx(3 * plain)


def test_multi_term_match_sums_term_scores():
    searcher = build_reference_searcher([[("1", {"body": "fox dog"}), ("2", {"body": "fox"}),
                                          ("3", {"body": "cat"})]], MAPPING)
    both = scores_by_id(searcher, {"match": {"body": "fox dog"}})["1"]
    fox = scores_by_id(searcher, {"term": {"body": "fox"}})["1"]
    dog = scores_by_id(searcher, {"term": {"body": "dog"}})["1"]
    assert both == pytest.approx(fox + dog)


def test_keyword_fields_score_without_length_normalisation():
    searcher = build_reference_searcher([[("1", {"tag": "a"}), ("2", {"tag": "b"}), ("3", {"tag": "b"})]], MAPPING)
    assert scores_by_id(searcher, {"term": {"tag": "a"}})["1"] == pytest.approx(bm25(1, 1, 3, 1, 1.0))


def test_phrase_score_uses_the_sum_of_term_idfs_and_the_phrase_frequency():
    segments = [[("1", {"body": "big red dog and big red cat"}), ("2", {"body": "red big"}), ("3", {"body": "big"})]]
    searcher = build_reference_searcher(segments, MAPPING)
    score = scores_by_id(searcher, {"match_phrase": {"body": "big red"}})["1"]
    idf_sum = math.log(1 + (3 - 3 + 0.5) / 3.5) + math.log(1 + (3 - 2 + 0.5) / 2.5)
    average_length = (7 + 2 + 1) / 3
    tf = 2 / (2 + 1.2 * (1 - 0.75 + 0.75 * 7 / average_length))
    assert score == pytest.approx(2.2 * idf_sum * tf)
