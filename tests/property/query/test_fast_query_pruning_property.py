"""Property: top-k pruning (block-max for terms, MaxScore for disjunctions), conjunctions scored on
their intersection and phrases read on their candidates give exactly the hits, scores, order and
max_score of the exhaustive reference path — on real on-disk segments with deletes, several
segments and tiny impact blocks so that pruning really skips blocks.

The reference is the in-memory ReferenceSegment searcher over the same documents: it has none of
the reader's fast paths (no decoded postings, no impacts, no bulk positions), so every query runs
exhaustively there.
"""

import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import index.query.execution as execution
import index.segment.reader as reader
from index.query import SearchContext, parse_search_request, search_shard
from index.testing.segmented_corpus import ranked, reference_with_segments, shard_with_segments

# skewed vocabulary: early words are frequent, so some postings lists are long and others short
WORDS = ["ant", "bee", "cat", "dog", "eel", "fox", "gnu", "hen"]
MAPPING = {"properties": {"body": {"type": "text"}, "n": {"type": "long"}}}

word = st.sampled_from(WORDS[:2] * 6 + WORDS[2:4] * 3 + WORDS[4:])
documents = st.lists(st.lists(word, min_size=0, max_size=9), min_size=1, max_size=70)


@st.composite
def corpora(draw):
    word_lists = draw(documents)
    cut_points = sorted(draw(st.sets(st.integers(1, max(1, len(word_lists) - 1)), max_size=2)))
    deleted = draw(st.sets(st.integers(0, len(word_lists) - 1), max_size=len(word_lists) // 3))
    return word_lists, cut_points, deleted


def query_bodies():
    term = st.sampled_from(WORDS)
    terms = st.lists(term, min_size=2, max_size=4, unique=True)
    return st.one_of(
        term.map(lambda one: {"term": {"body": one}}),
        terms.map(lambda some: {"bool": {"should": [{"term": {"body": one}} for one in some],
                                         "minimum_should_match": 1}}),
        terms.map(lambda some: {"match": {"body": " ".join(some)}}),
        terms.map(lambda some: {"bool": {"must": [{"term": {"body": one}} for one in some]}}),
        terms.map(lambda some: {"match_phrase": {"body": " ".join(some[:2])}}),
        st.tuples(terms, st.integers(0, 3)).map(
            lambda pair: {"match_phrase": {"body": {"query": " ".join(pair[0]), "slop": pair[1]}}}),
        st.tuples(term, st.integers(0, 40)).map(lambda pair: {"bool": {
            "must": [{"term": {"body": pair[0]}}], "filter": [{"range": {"n": {"gte": pair[1], "lte": pair[1] + 30}}}]}}),
        st.tuples(term, term).map(lambda pair: {"bool": {
            "should": [{"term": {"body": {"value": pair[0], "boost": 2.0}}}, {"term": {"body": pair[1]}}]}}),
    )


def sources(word_lists):
    return [(str(number), {"body": " ".join(words), "n": number}) for number, words in enumerate(word_lists)]


def real_searcher(directory, word_lists, cut_points, deleted):
    return shard_with_segments(directory, MAPPING, sources(word_lists), cut_points, map(str, sorted(deleted)))


def reference_searcher(word_lists, cut_points, deleted):
    return reference_with_segments(MAPPING, sources(word_lists), cut_points, map(str, deleted))


@pytest.fixture(autouse=True)
def tiny_impact_blocks(monkeypatch):
    monkeypatch.setattr(reader, "IMPACT_BLOCK_SIZE", 4)
    monkeypatch.setattr(execution, "PRUNING_MINIMUM_ENTRIES", 0)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(corpus=corpora(), bodies=st.lists(query_bodies(), min_size=1, max_size=4),
       size=st.integers(1, 6), from_=st.integers(0, 3), track=st.sampled_from([False, True, 5, None]))
def test_pruned_search_on_real_segments_ranks_exactly_as_the_exhaustive_reference(corpus, bodies, size, from_, track):
    word_lists, cut_points, deleted = corpus
    reference = reference_searcher(word_lists, cut_points, deleted)
    with tempfile.TemporaryDirectory() as directory:
        shard = real_searcher(directory, word_lists, cut_points, deleted)
        try:
            real = shard.acquire_searcher()
            context = SearchContext(now_millis=0)
            for body in bodies:
                request = parse_search_request({"query": body, "size": size, "from": from_,
                                                **({} if track is None else {"track_total_hits": track})})
                got = search_shard(real, request, context)
                expected = search_shard(reference, request, context)
                assert ranked(got) == ranked(expected), body
                if track is False:
                    # a pruned total is a lower bound ("gte"); the merge drops it for track_total_hits false
                    assert got.total_hits <= expected.total_hits
                else:
                    assert (got.total_hits, got.total_relation) == (expected.total_hits, expected.total_relation)
        finally:
            shard.close()


def test_a_term_query_over_many_blocks_scores_only_some_of_them(tmp_path, monkeypatch):
    """Pruning really prunes: with one rare high-frequency doc among many, the top hit comes back
    while most postings entries are never scored."""
    word_lists = [["ant", "bee", "cat", "dog"] for _ in range(400)] + [["ant"] * 5]
    shard = real_searcher(tmp_path, word_lists, [], set())
    scored_entries = []
    original = execution.TermPlan._entries_scored

    def counting(self, segment_execution, docs, entries, allowed=None):
        scored_entries.append(len(entries))
        return original(self, segment_execution, docs, entries, allowed)

    monkeypatch.setattr(execution.TermPlan, "_entries_scored", counting)
    try:
        request = parse_search_request({"query": {"term": {"body": "ant"}}, "size": 1, "track_total_hits": True})
        result = search_shard(shard.acquire_searcher(), request, SearchContext())
        assert [hit.document_id for hit in result.hits] == ["400"]
        assert result.total_hits == 401
        assert 0 < sum(scored_entries) < 401 // 2
    finally:
        shard.close()


def test_later_segments_pruned_against_the_shards_best_so_far_still_contribute_their_better_docs(tmp_path):
    """Three segments whose best docs interleave: the second and third segments prune against the
    window-th best score of the segments before them, and the hits still equal the exhaustive ones."""
    word_lists = []
    for number in range(900):
        length = 1 + (number * 7919) % 23           # lengths spread so scores differ finely
        frequency = 1 + (number * 104729) % 3
        word_lists.append(["ant"] * frequency + ["bee"] * length + (["cat"] if number % 5 == 0 else []))
    cut_points = [300, 600]
    reference = reference_searcher(word_lists, cut_points, set())
    shard = real_searcher(tmp_path, word_lists, cut_points, set())
    try:
        real = shard.acquire_searcher()
        assert len(real.segments) == 3
        for body in ({"term": {"body": "ant"}}, {"match": {"body": "ant cat"}},
                     {"bool": {"must": [{"term": {"body": "ant"}}], "filter": [{"range": {"n": {"gte": 100}}}]}}):
            for size in (1, 10, 25):
                request = parse_search_request({"query": body, "size": size, "track_total_hits": False})
                got = search_shard(real, request, SearchContext(now_millis=0))
                expected = search_shard(reference, request, SearchContext(now_millis=0))
                assert ranked(got) == ranked(expected), (body, size)
    finally:
        shard.close()
