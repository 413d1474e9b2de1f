"""max_score when sorting: kept when _score sorts descending first, null when it sorts ascending
first (OpenSearch 3.2+, search/400_max_score.yml), null for a field sort without track_scores."""

import pytest

from index.query import SearchContext, merge_shard_results, parse_search_request, search_shard
from index.testing import build_reference_searcher


@pytest.fixture(scope="module")
def searcher():
    return build_reference_searcher([[("1", {"foo": "bar"}), ("2", {"foo": "bar"})]],
                                    {"properties": {"foo": {"type": "keyword"}}})


def max_score(searcher, body):
    request = parse_search_request(body)
    return merge_shard_results([search_shard(searcher, request, SearchContext())], request).max_score


def test_score_descending_first_keeps_max_score(searcher):
    assert max_score(searcher, {"query": {"term": {"foo": "bar"}}, "sort": [{"_score": "desc"}, {"_doc": "desc"}]}) > 0


def test_score_ascending_first_reports_no_max_score(searcher):
    assert max_score(searcher, {"query": {"term": {"foo": "bar"}}, "sort": [{"_score": "asc"}, {"_doc": "desc"}]}) is None


def test_track_scores_keeps_max_score_whatever_the_sort(searcher):
    assert max_score(searcher, {"query": {"term": {"foo": "bar"}}, "sort": [{"_score": "asc"}],
                                "track_scores": True}) > 0
    assert max_score(searcher, {"query": {"term": {"foo": "bar"}}, "sort": [{"foo": "asc"}]}) is None
