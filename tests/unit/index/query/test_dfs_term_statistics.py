"""dfs_query_then_fetch: with merged term statistics, every shard scores as one big shard would."""

import orjson
import pytest

from index.query import (
    SearchContext, TermStatistics, collect_term_statistics, merge_shard_results, merge_term_statistics,
    parse_search_request, search_shard,
)
from index.testing import build_reference_searcher

MAPPING = {"properties": {"body": {"type": "text"}}}
SHARD_A = [("1", {"body": "fox fox dog"}), ("2", {"body": "dog"})]
SHARD_B = [("3", {"body": "fox one two three"}), ("4", {"body": "cat"}), ("5", {"body": "cat cat fox"})]


def scores(results):
    return {hit.document_id: hit.score for result in results for hit in result.hits}


def test_merged_statistics_make_shard_scores_equal_to_a_single_shard():
    request = parse_search_request({"query": {"match": {"body": "fox dog"}}})
    shards = [build_reference_searcher([SHARD_A], MAPPING), build_reference_searcher([SHARD_B], MAPPING)]
    single = build_reference_searcher([SHARD_A + SHARD_B], MAPPING)
    collected = [collect_term_statistics(searcher, request, SearchContext(shard_index=index))
                 for index, searcher in enumerate(shards)]
    merged = merge_term_statistics([TermStatistics.from_wire(orjson.loads(orjson.dumps(part.to_wire())))
                                    for part in collected])
    assert merged.document_frequencies[("body", "fox")] == 3
    assert merged.field_statistics["body"] == (5, 3 + 1 + 4 + 1 + 3)
    with_dfs = [search_shard(searcher, request, SearchContext(shard_index=index, term_statistics=merged))
                for index, searcher in enumerate(shards)]
    expected = scores([search_shard(single, request, SearchContext())])
    assert scores(with_dfs) == pytest.approx(expected)
    without_dfs = [search_shard(searcher, request, SearchContext(shard_index=index))
                   for index, searcher in enumerate(shards)]
    assert scores(without_dfs) != pytest.approx(expected)
    merged_hits = merge_shard_results(with_dfs, request).hits
    assert [hit.document_id for hit in merged_hits] == sorted(expected, key=lambda key: -expected[key])
