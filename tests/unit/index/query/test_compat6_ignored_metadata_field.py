"""The `_ignored` metadata field over a real shard: the names of the fields a value was dropped
from (ignore_malformed, ignore_above) are searchable with exists/term/terms, aggregatable, shown in
each hit (with stored_fields too), survive a merge, and stay out of the mapping's field list."""

import orjson
import pytest

from index.aggregations import render_response
from index.analysis import AnalysisRegistry
from index.mapping import Mapping
from index.operations import IndexOperation
from index.query import SearchContext, fetch_hits, merge_shard_results, parse_search_request, search_shard
from index.shard import Shard, ShardSettings

MAPPING = {"properties": {"my_date": {"type": "date", "ignore_malformed": True},
                          "my_ip": {"type": "ip", "ignore_malformed": True},
                          "tag": {"type": "keyword", "ignore_above": 3}}}
DOCUMENTS = [("1", {"my_date": "2018-05-11", "my_ip": ":::1"}), ("2", {"my_date": "bar", "my_ip": "192.168.1.42"}),
             ("3", {"my_date": "bar", "my_ip": "quux", "tag": "long"}), ("4", {"my_date": "2018-05-11", "tag": "ok"})]


@pytest.fixture(scope="module")
def shard(tmp_path_factory):
    shard = Shard.open(tmp_path_factory.mktemp("ignored"), ShardSettings(refresh_interval_seconds=None),
                       Mapping.from_json(MAPPING), AnalysisRegistry.from_index_settings({}))
    shard.apply_as_primary([IndexOperation(i, orjson.dumps(s)) for i, s in DOCUMENTS[:2]], 1)
    shard.refresh()
    shard.apply_as_primary([IndexOperation(i, orjson.dumps(s)) for i, s in DOCUMENTS[2:]], 1)
    shard.refresh()
    yield shard
    shard.close()


def search(searcher, body):
    request = parse_search_request(body)
    context = SearchContext(index_name="test")
    merged = merge_shard_results([search_shard(searcher, request, context)], request)
    hits = fetch_hits(searcher, request, merged.hits, context)
    aggregations = render_response(request.aggregations, merged.aggregations) if request.aggregations else None
    return {hit["_id"]: hit for hit in hits}, aggregations


def test_ignored_field_names_are_searchable_and_shown_in_hits(shard):
    searcher = shard.acquire_searcher()
    hits, _ = search(searcher, {"query": {"exists": {"field": "_ignored"}}, "size": 10})
    assert {key: hit["_ignored"] for key, hit in hits.items()} == {
        "1": ["my_ip"], "2": ["my_date"], "3": ["my_date", "my_ip", "tag"]}
    hits, _ = search(searcher, {"query": {"term": {"_ignored": "my_date"}}})
    assert sorted(hits) == ["2", "3"]
    hits, _ = search(searcher, {"query": {"terms": {"_ignored": ["tag", "my_ip"]}}})
    assert sorted(hits) == ["1", "3"]
    hits, _ = search(searcher, {"query": {"ids": {"values": ["4"]}}})
    assert "_ignored" not in hits["4"]
    hits, _ = search(searcher, {"query": {"ids": {"values": ["3"]}}, "stored_fields": ["my_date"]})
    assert hits["3"]["_ignored"] == ["my_date", "my_ip", "tag"] and "_source" not in hits["3"]
    _, aggregations = search(searcher, {"size": 0, "aggs": {"by": {"terms": {"field": "_ignored"}}}})
    assert [(bucket["key"], bucket["doc_count"]) for bucket in aggregations["by"]["buckets"]] == \
        [("my_date", 2), ("my_ip", 2), ("tag", 1)]


def test_ignored_survives_a_merge_and_is_not_a_mapped_field(shard):
    shard.force_merge(max_num_segments=1)
    searcher = shard.acquire_searcher()
    assert len(searcher.segments) == 1
    hits, _ = search(searcher, {"query": {"term": {"_ignored": "my_ip"}}})
    assert sorted(hits) == ["1", "3"] and hits["1"]["_ignored"] == ["my_ip"]
    assert "_ignored" not in {field.path for field in searcher.mapping.fields()}
    assert "_ignored" not in orjson.dumps(searcher.mapping.to_json()).decode()
