"""Named queries: `_name` on any clause is kept through parsing and the wire, never changes what
matches, and each hit reports the named clauses it matches (`matched_queries`), with
`include_named_queries_score` as {name: score}."""

import pytest

from index.errors import QueryParsingError
from index.query import SearchContext, SearchRequest, fetch_hits, merge_shard_results, parse_query, parse_search_request
from index.query import search_shard
from index.query.nodes import NamedQuery, named_queries
from index.testing import build_reference_searcher


@pytest.fixture(scope="module")
def searcher():
    return build_reference_searcher([[("1", {"field": 1, "foo": "bar"})],
                                     [("2", {"field": [1, 2], "foo": "bar", "foo2": "bar2"}), ("3", {"foo": "baz"})]])


def search(searcher, body, params=None):
    request = parse_search_request(body, params)
    request = SearchRequest.from_wire(request.to_wire())   # what a shard receives
    context = SearchContext(index_name="test")
    merged = merge_shard_results([search_shard(searcher, request, context)], request)
    return [(hit["_id"], hit.get("matched_queries")) for hit in fetch_hits(searcher, request, merged.hits, context)]


SHOULD_TWO_NAMED = {"query": {"bool": {"should": [
    {"match": {"field": {"query": 1, "_name": "match_field_1"}}},
    {"match": {"field": {"query": 2, "_name": "match_field_2", "boost": 10}}}]}}}


@pytest.mark.parametrize("query_json", [
    {"term": {"foo": {"value": "bar", "_name": "n"}}},
    {"terms": {"foo": ["bar"], "_name": "n"}},
    {"bool": {"must": [{"match_all": {}}], "_name": "n"}},
    {"match": {"foo": {"query": "bar", "_name": "n"}}},
    {"exists": {"field": "foo", "_name": "n"}},
    {"range": {"field": {"gte": 1, "_name": "n"}}},
    {"match_all": {"_name": "n"}},
])
def test_a_name_wraps_the_clause_and_survives_to_json(query_json):
    node = parse_query(query_json)
    assert isinstance(node, NamedQuery) and node.name == "n"
    assert parse_query(node.to_json()) == node


def test_a_name_must_be_a_string():
    with pytest.raises(QueryParsingError, match="_name"):
        parse_query({"term": {"foo": {"value": "bar", "_name": 3}}})


def test_named_queries_lists_every_name_in_query_order():
    node = parse_query(SHOULD_TWO_NAMED["query"])
    assert [named.name for named in named_queries(node)] == ["match_field_1", "match_field_2"]


def test_hits_list_the_named_clauses_they_match(searcher):
    assert search(searcher, SHOULD_TWO_NAMED) == [("2", ["match_field_1", "match_field_2"]),
                                                  ("1", ["match_field_1"])]


def test_with_include_named_queries_score_hits_map_each_name_to_its_clause_score(searcher):
    assert search(searcher, SHOULD_TWO_NAMED, {"include_named_queries_score": "true"}) == [
        ("2", {"match_field_1": 1.0, "match_field_2": 10.0}), ("1", {"match_field_1": 1.0})]


def test_scored_names_carry_the_clause_bm25_score(searcher):
    hits = search(searcher, {"include_named_queries_score": True, "query": {"bool": {"should": [
        {"match": {"foo": {"query": "bar", "_name": "foo_query", "boost": 5}}},
        {"match": {"foo2": {"query": "bar2", "_name": "foo2_query", "boost": 20}}}]}}})
    assert [hit_id for hit_id, _ in hits] == ["2", "1"]
    assert set(hits[0][1]) == {"foo_query", "foo2_query"} and all(score > 0 for score in hits[0][1].values())
    assert list(hits[1][1]) == ["foo_query"]
    assert hits[0][1]["foo_query"] == hits[1][1]["foo_query"]   # the same clause scores the same


def test_a_hit_matching_no_named_clause_has_no_matched_queries_key(searcher):
    hits = search(searcher, {"query": {"bool": {"should": [{"term": {"foo": {"value": "baz", "_name": "baz"}}},
                                                            {"term": {"foo": "bar"}}]}}})
    assert dict(hits) == {"1": None, "2": None, "3": ["baz"]}


def test_post_filter_names_are_reported_too(searcher):
    hits = search(searcher, {"query": {"bool": {"must": {"match_all": {}}, "_name": "outer"}},
                             "post_filter": {"terms": {"field": [2], "_name": "pf"}}})
    assert hits == [("2", ["outer", "pf"])]


def test_a_name_never_changes_what_matches(searcher):
    named = search(searcher, {"query": {"term": {"foo": {"value": "bar", "_name": "x"}}}})
    plain = search(searcher, {"query": {"term": {"foo": {"value": "bar"}}}})
    assert [hit_id for hit_id, _ in named] == [hit_id for hit_id, _ in plain]
