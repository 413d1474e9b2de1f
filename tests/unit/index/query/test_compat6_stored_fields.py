"""stored_fields returns the fields mapped with `store: true` (names or wildcards), rendered as
OpenSearch renders stored values — dates in the field's format, ip as addresses, numbers as
numbers — and nothing for fields that are not stored; `_source` only when listed."""

import orjson
import pytest

from index.analysis import AnalysisRegistry
from index.mapping import Mapping
from index.operations import IndexOperation
from index.query import SearchContext, fetch_hits, merge_shard_results, parse_search_request, search_shard
from index.shard import Shard, ShardSettings

MAPPING = {"properties": {
    "title": {"type": "text", "store": True, "fields": {"raw": {"type": "keyword", "store": True}}},
    "count": {"type": "long", "store": True},
    "when": {"type": "date", "store": True, "format": "yyyy-MM-dd"},
    "address": {"type": "ip", "store": True},
    "flag": {"type": "boolean", "store": "true"},
    "plain": {"type": "keyword"}}}
DOCUMENT = {"title": "Hello World", "count": "7", "when": "2024-03-05", "address": "::ffff:10.0.0.1", "flag": "true",
            "plain": "not stored"}


@pytest.fixture(scope="module")
def searcher(tmp_path_factory):
    shard = Shard.open(tmp_path_factory.mktemp("stored"), ShardSettings(refresh_interval_seconds=None),
                       Mapping.from_json(MAPPING), AnalysisRegistry.from_index_settings({}))
    shard.apply_as_primary([IndexOperation("1", orjson.dumps(DOCUMENT))], 1)
    shard.refresh()
    yield shard.acquire_searcher()
    shard.close()


def fetched(searcher, body):
    request = parse_search_request(body)
    context = SearchContext(index_name="test")
    merged = merge_shard_results([search_shard(searcher, request, context)], request)
    (hit,) = fetch_hits(searcher, request, merged.hits, context)
    return hit


def test_stored_fields_render_each_stored_field_by_its_type(searcher):
    hit = fetched(searcher, {"stored_fields": ["title", "title.raw", "count", "when", "address", "flag", "plain"]})
    assert hit["fields"] == {"title": ["Hello World"], "title.raw": ["Hello World"], "count": [7],
                             "when": ["2024-03-05"], "address": ["10.0.0.1"], "flag": [True]}
    assert "_source" not in hit and hit["_id"] == "1"


def test_wildcards_and_source_together(searcher):
    hit = fetched(searcher, {"stored_fields": ["t*", "_source"]})
    assert hit["fields"] == {"title": ["Hello World"], "title.raw": ["Hello World"]}
    assert hit["_source"]["plain"] == "not stored"


def test_fields_that_are_not_stored_give_no_fields_section(searcher):
    hit = fetched(searcher, {"stored_fields": ["plain"]})
    assert "fields" not in hit and "_source" not in hit
    hit = fetched(searcher, {"stored_fields": "_none_"})
    assert "fields" not in hit and "_id" not in hit
