"""Property: match and bool queries score and rank exactly as a brute-force BM25 over plain lists.

The reference below knows nothing of bitmaps, numpy or plans: it walks every document's word
list with the textbook formula (OpenSearch's: idf = ln(1 + (N - n + 0.5) / (n + 0.5)),
tf = f / (f + k1 (1 - b + b dl / avgdl)), score = boost (k1 + 1) idf tf, statistics over every
segment including deleted docs, as Lucene keeps them until a merge).
"""

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from index.query import SearchContext, parse_search_request, search_shard
from index.testing import build_reference_searcher

WORDS = ["ant", "bee", "cat", "dog", "eel", "fox"]
MAPPING = {"properties": {"body": {"type": "text"}}}

documents = st.lists(st.lists(st.sampled_from(WORDS), min_size=0, max_size=7), min_size=1, max_size=12)


@st.composite
def corpora(draw):
    word_lists = draw(documents)
    cut_points = sorted(draw(st.sets(st.integers(1, max(1, len(word_lists) - 1)), max_size=2)))
    deleted = draw(st.sets(st.integers(0, len(word_lists) - 1), max_size=len(word_lists) // 2))
    return word_lists, cut_points, deleted


def build(word_lists, cut_points, deleted):
    documents_with_ids = [(str(index), {"body": " ".join(words)}) for index, words in enumerate(word_lists)]
    segments, start = [], 0
    for cut in cut_points + [len(documents_with_ids)]:
        if cut > start:
            segments.append(documents_with_ids[start:cut])
            start = cut
    return build_reference_searcher(segments, MAPPING, deleted_document_ids=[str(index) for index in deleted])


class BruteForceBm25:
    def __init__(self, word_lists, deleted):
        self.word_lists = word_lists
        self.live = [index for index in range(len(word_lists)) if index not in deleted]
        with_field = [words for words in word_lists if words]
        self.document_count = len(with_field)
        self.average_length = sum(len(words) for words in with_field) / len(with_field) if with_field else 1.0

    def term_score(self, index, term, boost=1.0):
        words = self.word_lists[index]
        frequency = words.count(term)
        if frequency == 0:
            return None
        document_frequency = sum(1 for other in self.word_lists if term in other)
        idf = math.log(1 + (self.document_count - document_frequency + 0.5) / (document_frequency + 0.5))
        tf = frequency / (frequency + 1.2 * (1 - 0.75 + 0.75 * len(words) / self.average_length))
        return boost * 2.2 * idf * tf


def engine_scores(searcher, query):
    request = parse_search_request({"query": query, "size": 1000})
    hits = search_shard(searcher, request, SearchContext()).hits
    scores = [hit.score for hit in hits]
    assert scores == sorted(scores, reverse=True), "hits must come best first"
    return {int(hit.document_id): hit.score for hit in hits}


def assert_same_scores(engine, reference):
    assert set(engine) == set(reference)
    for index, score in reference.items():
        # hits report float32 scores, as Lucene computes them: 7 significant digits
        assert math.isclose(engine[index], score, rel_tol=1e-6, abs_tol=1e-12), (index, engine[index], score)


@settings(max_examples=60, deadline=None)
@given(corpora(), st.lists(st.sampled_from(WORDS), min_size=1, max_size=3), st.sampled_from(["or", "and"]))
def test_match_query_scores_equal_brute_force_bm25(corpus, query_words, operator):
    word_lists, cut_points, deleted = corpus
    searcher = build(word_lists, cut_points, deleted)
    model = BruteForceBm25(word_lists, deleted)
    reference = {}
    for index in model.live:
        parts = [model.term_score(index, word) for word in query_words]
        matched = [part for part in parts if part is not None]
        if (operator == "and" and len(matched) == len(parts)) or (operator == "or" and matched):
            reference[index] = sum(matched)
    query = {"match": {"body": {"query": " ".join(query_words), "operator": operator}}}
    assert_same_scores(engine_scores(searcher, query), reference)


clause_terms = st.lists(st.sampled_from(WORDS), max_size=3)


@settings(max_examples=60, deadline=None)
@given(corpora(), clause_terms, clause_terms, clause_terms, clause_terms,
       st.one_of(st.none(), st.integers(0, 3)), st.floats(0.5, 3.0))
def test_bool_query_scores_equal_brute_force_bm25(corpus, must, should, filters, must_not, minimum_should_match, boost):
    word_lists, cut_points, deleted = corpus
    searcher = build(word_lists, cut_points, deleted)
    model = BruteForceBm25(word_lists, deleted)
    required_should = minimum_should_match if minimum_should_match is not None else (
        1 if should and not must and not filters else 0)
    if should and not must and not filters:
        required_should = max(required_should, 1)   # Lucene: a pure disjunction needs one match
    reference = {}
    for index in model.live:
        if not (must or should or filters or must_not):
            reference[index] = 1.0 * boost      # OpenSearch: a bool without clauses is match_all
            continue
        words = model.word_lists[index]
        if any(term not in words for term in must + filters) or any(term in words for term in must_not):
            continue
        should_scores = [score for term in should if (score := model.term_score(index, term)) is not None]
        if len(should_scores) < required_should:
            continue
        reference[index] = boost * (sum(model.term_score(index, term) for term in must) + sum(should_scores))
    query = {"bool": {"must": [{"term": {"body": term}} for term in must],
                      "should": [{"term": {"body": term}} for term in should],
                      "filter": [{"term": {"body": term}} for term in filters],
                      "must_not": [{"term": {"body": term}} for term in must_not], "boost": boost}}
    if minimum_should_match is not None:
        query["bool"]["minimum_should_match"] = minimum_should_match
    assert_same_scores(engine_scores(searcher, query), reference)
