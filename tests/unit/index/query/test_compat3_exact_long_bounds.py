"""Integers in term and range queries on long fields stay exact past 2^53 (a double would round
9007199254740993 to ...992 and match the wrong document)."""

import orjson
import pytest

from index.analysis import AnalysisRegistry
from index.mapping import Mapping
from index.operations import IndexOperation
from index.query import SearchContext, merge_shard_results, parse_search_request, search_shard
from index.shard import Shard, ShardSettings

BIG = 2 ** 53


@pytest.fixture(scope="module")
def searcher(tmp_path_factory):
    shard = Shard.open(tmp_path_factory.mktemp("long"), ShardSettings(refresh_interval_seconds=None),
                       Mapping.from_json({"properties": {"n": {"type": "long"}}}), AnalysisRegistry.from_index_settings({}))
    shard.apply_as_primary([IndexOperation(str(offset), orjson.dumps({"n": BIG + offset})) for offset in range(4)], 1)
    shard.refresh()
    yield shard.acquire_searcher()
    shard.close()


def ids(searcher, query):
    request = parse_search_request({"query": query})
    merged = merge_shard_results([search_shard(searcher, request, SearchContext())], request)
    return sorted(hit.document_id for hit in merged.hits)


@pytest.mark.parametrize("value", [BIG + 1, str(BIG + 1)])
def test_a_term_past_two_to_the_53_matches_only_its_document(searcher, value):
    assert ids(searcher, {"term": {"n": value}}) == ["1"]


def test_terms_past_two_to_the_53_are_exact(searcher):
    assert ids(searcher, {"terms": {"n": [BIG + 1, BIG + 3]}}) == ["1", "3"]


def test_range_bounds_past_two_to_the_53_are_exact(searcher):
    assert ids(searcher, {"range": {"n": {"gt": BIG + 1, "lte": BIG + 2}}}) == ["2"]


def test_a_value_outside_the_long_range_matches_nothing(searcher):
    assert ids(searcher, {"term": {"n": 2 ** 63}}) == []


def sorted_hits(searcher, body):
    request = parse_search_request(body)
    merged = merge_shard_results([search_shard(searcher, request, SearchContext())], request)
    return [(hit.document_id, list(hit.sort_values)) for hit in merged.hits]


def test_sorting_past_two_to_the_53_orders_neighbours_exactly(searcher):
    assert sorted_hits(searcher, {"sort": [{"n": "desc"}]}) == [
        ("3", [BIG + 3]), ("2", [BIG + 2]), ("1", [BIG + 1]), ("0", [BIG])]


def test_search_after_past_two_to_the_53_resumes_after_the_exact_value(searcher):
    assert sorted_hits(searcher, {"sort": [{"n": "asc"}], "search_after": [BIG + 1]}) == [
        ("2", [BIG + 2]), ("3", [BIG + 3])]
    assert sorted_hits(searcher, {"sort": [{"n": "asc"}], "search_after": [str(BIG + 2)]}) == [("3", [BIG + 3])]
