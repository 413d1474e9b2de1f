"""unsigned_long values past 2^63 stay exact: stored as uint64, read back as uint64 even after a
segment merge carried them as int64 bit patterns; term, range, sort, terms keys and doc values
(search/280_unsigned_long, search/340_doc_values_field)."""

import orjson
import pytest

from index.aggregations import render_response
from index.analysis import AnalysisRegistry
from index.mapping import Mapping
from index.operations import IndexOperation
from index.query import SearchContext, fetch_hits, merge_shard_results, parse_search_request, search_shard
from index.shard import Shard, ShardSettings

BASE = 13835058055282163712   # 1.5 * 2^63
DOCUMENTS = [("1", {"u": [BASE, 1]}), ("2", {"u": [BASE + 1, 2]}), ("3", {"u": [BASE + 2, 3]}),
             ("4", {"u": 2 ** 64 - 1}), ("5", {"u": 7})]


def open_shard(path, merged):
    shard = Shard.open(path, ShardSettings(refresh_interval_seconds=None),
                       Mapping.from_json({"properties": {"u": {"type": "unsigned_long"}}}),
                       AnalysisRegistry.from_index_settings({}))
    for part in (DOCUMENTS[:2], DOCUMENTS[2:]):
        shard.apply_as_primary([IndexOperation(i, orjson.dumps(s)) for i, s in part], 1)
        shard.refresh()
    if merged:
        shard.force_merge(1)
    return shard


@pytest.fixture(scope="module", params=[False, True], ids=["two segments", "merged"])
def searcher(request, tmp_path_factory):
    shard = open_shard(tmp_path_factory.mktemp("unsigned"), request.param)
    yield shard.acquire_searcher()
    shard.close()


def search(searcher, body):
    request = parse_search_request(body)
    context = SearchContext(index_name="test")
    merged = merge_shard_results([search_shard(searcher, request, context)], request)
    hits = fetch_hits(searcher, request, merged.hits, context)
    return hits, (render_response(request.aggregations, merged.aggregations) if request.aggregations else None)


def test_sort_by_the_largest_value_is_exact(searcher):
    hits, _ = search(searcher, {"sort": [{"u": {"mode": "max", "order": "desc"}}]})
    assert [(hit["_id"], hit["sort"]) for hit in hits] == [
        ("4", [2 ** 64 - 1]), ("3", [BASE + 2]), ("2", [BASE + 1]), ("1", [BASE]), ("5", [7])]


def test_term_and_range_past_two_to_the_63_are_exact(searcher):
    assert [hit["_id"] for hit in search(searcher, {"query": {"term": {"u": BASE + 1}}})[0]] == ["2"]
    hits, _ = search(searcher, {"query": {"range": {"u": {"gt": BASE, "lt": 2 ** 64 - 1}}}})
    assert sorted(hit["_id"] for hit in hits) == ["2", "3"]
    assert sorted(hit["_id"] for hit in search(searcher, {"query": {"terms": {"u": [BASE, 2 ** 64 - 1, 7]}}})[0]) == [
        "1", "4", "5"]


def test_terms_keys_and_doc_values_are_exact(searcher):
    hits, aggregations = search(searcher, {"query": {"ids": {"values": ["4"]}}, "docvalue_fields": ["u"],
                                           "aggs": {"t": {"terms": {"field": "u", "size": 20}}}})
    assert hits[0]["fields"] == {"u": [2 ** 64 - 1]}
    keys = sorted(bucket["key"] for bucket in aggregations["t"]["buckets"])
    assert keys == [2 ** 64 - 1]
