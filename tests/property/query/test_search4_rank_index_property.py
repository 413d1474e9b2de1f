"""Property: postings entries found through the reader's rank index (bitset + ranks of a long
postings list, SegmentCore.postings_rank_index) equal those a binary search of the decoded postings
finds, and searches that use it (phrases, conjunctions, disjunctions) rank exactly as the
exhaustive reference — with the index's length thresholds lowered so small corpora use it.
"""

import tempfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import index.query.execution as execution
import index.segment.reader as reader
from index.query import SearchContext, parse_search_request, search_shard
from index.testing.segmented_corpus import reference_with_segments, shard_with_segments

WORDS = ["ant", "bee", "cat", "dog", "eel"]
MAPPING = {"properties": {"body": {"type": "text"}}}

word = st.sampled_from(WORDS[:2] * 4 + WORDS[2:])
# up to 200 docs: doc numbers cross several 64-bit words of the bitset
documents = st.lists(st.lists(word, min_size=0, max_size=8), min_size=1, max_size=200)


def sources(word_lists):
    return [(str(number), {"body": " ".join(words)}) for number, words in enumerate(word_lists)]


def real_shard(directory, word_lists, cut_points=(), deleted=()):
    return shard_with_segments(directory, MAPPING, sources(word_lists), cut_points, map(str, sorted(deleted)))


@pytest.fixture(autouse=True)
def rank_index_for_every_list(monkeypatch):
    monkeypatch.setattr(reader, "RANK_INDEX_MINIMUM_POSTINGS", 1)
    monkeypatch.setattr(execution, "RANK_LOOKUP_MINIMUM_DOCS", 0)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(word_lists=documents, picks=st.lists(st.integers(0, 10 ** 6), max_size=80), term=st.sampled_from(WORDS))
def test_entries_from_the_rank_index_equal_a_binary_search_of_the_postings(word_lists, picks, term):
    with tempfile.TemporaryDirectory() as directory:
        shard = real_shard(directory, word_lists)
        try:
            segment = shard.acquire_searcher().segments[0]
            assert segment.postings_rank_index("body", term) is not None or \
                segment.document_frequency("body", term) == 0
            docs = np.array(sorted({pick % segment.max_doc for pick in picks}), dtype=np.int64)
            found, entries = execution.postings_entries(segment, "body", term, docs)
            postings = segment.postings_docs("body", term).tolist()
            assert found.tolist() == [doc in postings for doc in docs.tolist()]
            assert entries.tolist() == [postings.index(doc) for doc in docs.tolist() if doc in postings]
        finally:
            shard.close()


queries = st.one_of(
    st.lists(st.sampled_from(WORDS), min_size=2, max_size=3).map(lambda some: {"match_phrase": {"body": " ".join(some)}}),
    st.lists(st.sampled_from(WORDS), min_size=2, max_size=3, unique=True).map(
        lambda some: {"bool": {"must": [{"term": {"body": one}} for one in some]}}),
    st.lists(st.sampled_from(WORDS), min_size=2, max_size=3, unique=True).map(lambda some: {"match": {"body": " ".join(some)}}),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(word_lists=documents, body=queries, size=st.integers(1, 6), cut=st.integers(1, 150),
       deleted=st.sets(st.integers(0, 199), max_size=20))
def test_searches_through_the_rank_index_rank_exactly_as_the_reference(word_lists, body, size, cut, deleted):
    deleted = {number for number in deleted if number < len(word_lists)}
    cut_points = [cut] if cut < len(word_lists) else []
    reference = reference_with_segments(MAPPING, sources(word_lists), cut_points, map(str, deleted))
    with tempfile.TemporaryDirectory() as directory:
        shard = real_shard(directory, word_lists, cut_points, deleted)
        try:
            request = parse_search_request({"query": body, "size": size, "track_total_hits": True})
            got = search_shard(shard.acquire_searcher(), request, SearchContext(now_millis=0))
            expected = search_shard(reference, request, SearchContext(now_millis=0))
            assert [(hit.document_id, hit.score) for hit in got.hits] == \
                [(hit.document_id, hit.score) for hit in expected.hits]
            assert got.total_hits == expected.total_hits
        finally:
            shard.close()


def test_short_postings_get_no_rank_index_at_the_default_threshold(tmp_path, monkeypatch):
    monkeypatch.setattr(reader, "RANK_INDEX_MINIMUM_POSTINGS", 100)
    shard = real_shard(tmp_path, [["ant"]] * 100 + [["bee"]] * 99)
    try:
        segment = shard.acquire_searcher().segments[0]
        assert segment.postings_rank_index("body", "ant") is not None
        assert segment.postings_rank_index("body", "bee") is None
        assert segment.postings_rank_index("body", "absent") is None
    finally:
        shard.close()
