"""The same searches over a real shard's on-disk segments and over reference segments agree:
same hits, same order, same scores and sort values (the query engine sees both only through the
SegmentReader protocol)."""

import random

import orjson
import pytest

from index.analysis import AnalysisRegistry
from index.mapping import Mapping
from index.operations import DeleteOperation, IndexOperation
from index.query import SearchContext, fetch_hits, parse_search_request, search_shard
from index.shard import Shard, ShardSettings
from index.testing import build_reference_searcher

WORDS = "alpha beta gamma delta epsilon zeta eta theta".split()
MAPPING = {"properties": {"body": {"type": "text"}, "tag": {"type": "keyword"}, "n": {"type": "long"},
                          "x": {"type": "double"}, "ok": {"type": "boolean"}, "day": {"type": "date"}}}


def corpus(seed=7, size=150):
    generator = random.Random(seed)
    documents = []
    for number in range(size):
        source = {"body": " ".join(generator.choice(WORDS) for _ in range(generator.randint(1, 10))),
                  "tag": generator.choice(WORDS[:4]), "n": generator.randint(0, 40), "x": generator.random(),
                  "ok": generator.random() < 0.5, "day": f"2024-01-{generator.randint(1, 28):02d}"}
        if generator.random() < 0.2:
            del source["n"]
        documents.append((str(number), source))
    return documents


@pytest.fixture(scope="module")
def searchers(tmp_path_factory):
    documents = corpus()
    parts = [documents[:60], documents[60:120], documents[120:]]
    shard = Shard.open(tmp_path_factory.mktemp("shard"), ShardSettings(refresh_interval_seconds=None),
                       Mapping.from_json(MAPPING), AnalysisRegistry.from_index_settings({}))
    for part in parts:
        shard.apply_as_primary([IndexOperation(document_id, orjson.dumps(source)) for document_id, source in part], 1)
        shard.refresh()
    shard.apply_as_primary([DeleteOperation("5"), DeleteOperation("70")], 1)
    shard.refresh()
    reference = build_reference_searcher(parts, MAPPING, deleted_document_ids=["5", "70"])
    yield shard.acquire_searcher(), reference
    shard.close()


QUERIES = [
    {"match": {"body": "alpha beta"}},
    {"match": {"body": {"query": "alpha beta gamma", "minimum_should_match": "2"}}},
    {"match_phrase": {"body": "alpha beta"}},
    {"match_phrase": {"body": {"query": "beta alpha", "slop": 3}}},
    {"match_phrase_prefix": {"body": "gamma del"}},
    {"range": {"n": {"gte": 10, "lt": 30}}},
    {"range": {"day": {"gte": "2024-01-10", "lte": "2024-01-20"}}},
    {"term": {"ok": True}},
    {"terms": {"tag": ["alpha", "gamma"]}},
    {"bool": {"must": [{"match": {"body": "gamma"}}], "filter": [{"term": {"tag": "beta"}}],
              "must_not": [{"exists": {"field": "n"}}]}},
    {"fuzzy": {"body": "alpah"}},
    {"wildcard": {"tag": "*ta"}},
    {"query_string": {"query": "body:(alpha AND NOT beta) OR tag:gamma"}},
    {"function_score": {"query": {"match": {"body": "theta"}}, "field_value_factor": {"field": "x"}}},
    {"ids": {"values": ["1", "5", "99"]}},
]
SORTS = [None, [{"n": {"order": "desc"}}, {"tag": "asc"}, "_doc"], [{"day": "asc"}, {"x": "desc"}]]


def summary(result):
    return [(hit.document_id, None if hit.score is None else round(hit.score, 9), hit.sort_values)
            for hit in result.hits], result.total_hits


@pytest.mark.parametrize("sort", SORTS, ids=["score", "number-keyword-doc", "date-double"])
@pytest.mark.parametrize("query", QUERIES, ids=lambda query: next(iter(query)))
def test_on_disk_segments_and_reference_segments_give_the_same_hits(searchers, query, sort):
    real, reference = searchers
    body = {"query": query, "size": 25, **({"sort": sort} if sort else {})}
    request = parse_search_request(body)
    context = SearchContext(now_millis=0)
    assert summary(search_shard(real, request, context)) == summary(search_shard(reference, request, context))


def test_fetch_over_on_disk_segments_returns_the_stored_source(searchers):
    real, reference = searchers
    request = parse_search_request({"query": {"ids": {"values": ["3"]}}, "_source": ["tag", "n"]})
    hits = search_shard(real, request, SearchContext()).hits
    expected = {key: value for key, value in dict(corpus())["3"].items() if key in ("tag", "n")}
    assert fetch_hits(real, request, hits)[0]["_source"] == expected


@pytest.mark.parametrize("query", [{"match_all": {}}, {"match_all": {"boost": 2.5}}], ids=["plain", "boosted"])
def test_a_pruned_match_all_returns_the_first_live_documents_as_scoring_every_doc_does(searchers, query):
    real, reference = searchers
    context = SearchContext(now_millis=0)
    # a window across two segments, past the deleted "5" and "70"
    pruned = parse_search_request({"query": query, "from": 50, "size": 25, "track_total_hits": False})
    counted = parse_search_request({"query": query, "from": 50, "size": 25, "track_total_hits": True})
    pruned_hits, _ = summary(search_shard(real, pruned, context))
    assert pruned_hits == summary(search_shard(real, counted, context))[0]
    assert pruned_hits == summary(search_shard(reference, counted, context))[0]
    # the shard answers the whole window (from + size); the coordinator cuts the page
    expected_ids = [str(number) for number in range(150) if number not in (5, 70)][:75]
    assert [document_id for document_id, _, _ in pruned_hits] == expected_ids
    assert search_shard(real, counted, context).total_hits == 148
