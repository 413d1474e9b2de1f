"""Property: exact phrases pruned by their frequency bound (PhrasePlan.top_candidates) give exactly
the hits, scores, order and max_score of the exhaustive reference path — on real on-disk segments
with deletes and several segments, with the pruning thresholds lowered so that small corpora go
through the chunked, bound-ordered evaluation.

The reference is the in-memory ReferenceSegment searcher over the same documents (no fast paths:
every phrase there is evaluated on every doc).
"""

import tempfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import index.query.execution as execution
from index.query import SearchContext, parse_search_request, search_shard
from index.testing.segmented_corpus import ranked, reference_with_segments, shard_with_segments

# few words, skewed: phrases of them occur often, with repeats ("ant ant") and at many lengths
WORDS = ["ant", "bee", "cat", "dog", "eel"]
MAPPING = {"properties": {"body": {"type": "text"}, "n": {"type": "long"}}}

word = st.sampled_from(WORDS[:2] * 4 + WORDS[2:])
documents = st.lists(st.lists(word, min_size=0, max_size=12), min_size=1, max_size=90)


@st.composite
def corpora(draw):
    word_lists = draw(documents)
    cut_points = sorted(draw(st.sets(st.integers(1, max(1, len(word_lists) - 1)), max_size=2)))
    deleted = draw(st.sets(st.integers(0, len(word_lists) - 1), max_size=len(word_lists) // 3))
    return word_lists, cut_points, deleted


phrases = st.lists(st.sampled_from(WORDS), min_size=2, max_size=3).map(" ".join)


def sources(word_lists):
    return [(str(number), {"body": " ".join(words), "n": number}) for number, words in enumerate(word_lists)]


def real_shard(directory, word_lists, cut_points, deleted):
    return shard_with_segments(directory, MAPPING, sources(word_lists), cut_points, map(str, sorted(deleted)))


def reference_searcher(word_lists, cut_points, deleted):
    return reference_with_segments(MAPPING, sources(word_lists), cut_points, map(str, deleted))


@pytest.fixture(autouse=True)
def prune_every_phrase_in_small_chunks(monkeypatch):
    monkeypatch.setattr(execution, "PHRASE_PRUNING_MINIMUM_CANDIDATES", 0)
    monkeypatch.setattr(execution, "PHRASE_PRUNING_FIRST_CHUNK", 1)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(corpus=corpora(), queries=st.lists(phrases, min_size=1, max_size=4),
       size=st.integers(1, 5), from_=st.integers(0, 2), track=st.sampled_from([False, True, 3, None]))
def test_pruned_exact_phrases_rank_exactly_as_the_exhaustive_reference(corpus, queries, size, from_, track):
    word_lists, cut_points, deleted = corpus
    reference = reference_searcher(word_lists, cut_points, deleted)
    with tempfile.TemporaryDirectory() as directory:
        shard = real_shard(directory, word_lists, cut_points, deleted)
        try:
            real = shard.acquire_searcher()
            context = SearchContext(now_millis=0)
            for phrase in queries:
                request = parse_search_request({"query": {"match_phrase": {"body": phrase}}, "size": size,
                                                "from": from_,
                                                **({} if track is None else {"track_total_hits": track})})
                got = search_shard(real, request, context)
                expected = search_shard(reference, request, context)
                assert ranked(got) == ranked(expected), phrase
                if track is False:
                    assert got.total_hits <= expected.total_hits
                else:
                    assert (got.total_hits, got.total_relation) == (expected.total_hits, expected.total_relation)
        finally:
            shard.close()


def test_a_phrase_with_many_candidates_reads_positions_of_only_some_of_them(tmp_path, monkeypatch):
    """Pruning really prunes: among 600 docs holding both words (in the wrong order in most), the
    short docs with the phrase come back while most candidates' positions are never read."""
    word_lists = ([["bee", "ant"] + ["cat"] * 6 for _ in range(580)]
                  + [["ant", "bee"] for _ in range(5)] + [["ant", "bee"] + ["cat"] * 9 for _ in range(15)])
    shard = real_shard(tmp_path, word_lists, [], set())
    evaluated = []
    original = execution.PhrasePlan._frequencies_among

    def counting(self, segment_execution, candidates, known_entries):
        evaluated.append(len(candidates))
        return original(self, segment_execution, candidates, known_entries)

    monkeypatch.setattr(execution.PhrasePlan, "_frequencies_among", counting)
    try:
        request = parse_search_request({"query": {"match_phrase": {"body": "ant bee"}}, "size": 3,
                                        "track_total_hits": False})
        result = search_shard(shard.acquire_searcher(), request, SearchContext())
        assert [hit.document_id for hit in result.hits] == ["580", "581", "582"]
        assert 0 < sum(evaluated) < 600 // 2
    finally:
        shard.close()


def test_a_phrase_asked_for_its_exact_total_is_evaluated_whole_and_counted_exactly(tmp_path):
    word_lists = [["ant", "bee"] if number % 3 == 0 else ["bee", "ant"] for number in range(300)]
    shard = real_shard(tmp_path, word_lists, [150], {0, 3})
    try:
        request = parse_search_request({"query": {"match_phrase": {"body": "ant bee"}}, "size": 2,
                                        "track_total_hits": True})
        result = search_shard(shard.acquire_searcher(), request, SearchContext())
        assert (result.total_hits, result.total_relation) == (98, "eq")
        assert [hit.document_id for hit in result.hits] == ["6", "9"]
    finally:
        shard.close()


def test_a_short_doc_with_one_occurrence_beats_docs_whose_bounds_rank_first(tmp_path):
    """The first chunk holds the docs with the highest bounds (each word three times, the phrase
    once); the best exact score belongs to a doc ranked below them by bound, which must still be
    evaluated because its bound reaches the threshold those docs set."""
    word_lists = ([["ant", "bee", "bee", "bee", "ant", "ant"] for _ in range(9)] + [["ant", "bee"]]
                  + [["cat", "dog", "eel", "cat", "dog"] for _ in range(6)])
    reference = reference_searcher(word_lists, [], set())
    shard = real_shard(tmp_path, word_lists, [], set())
    try:
        for size in (1, 2):
            request = parse_search_request({"query": {"match_phrase": {"body": "ant bee"}}, "size": size,
                                            "track_total_hits": False})
            got = search_shard(shard.acquire_searcher(), request, SearchContext(now_millis=0))
            expected = search_shard(reference, request, SearchContext(now_millis=0))
            assert got.hits[0].document_id == "9"
            assert ranked(got) == ranked(expected)
    finally:
        shard.close()
