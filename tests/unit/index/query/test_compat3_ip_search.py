"""Searching and aggregating `ip` fields over a real shard's segments: term (exact and CIDR),
terms, range, exists, sort and search_after, docvalue_fields, terms and ip_range aggregations."""

import orjson
import pytest

from index.aggregations import render_response
from index.analysis import AnalysisRegistry
from index.errors import AggregationError, QueryShardError
from index.mapping import Mapping
from index.operations import IndexOperation
from index.query import SearchContext, fetch_hits, merge_shard_results, parse_search_request, search_shard
from index.shard import Shard, ShardSettings

MAPPING = {"properties": {"ip": {"type": "ip"}, "v": {"type": "long"}}}
DOCUMENTS = [("1", {"ip": "::1", "v": 1}), ("2", {"ip": "192.168.0.1", "v": 2}), ("3", {"ip": "192.168.0.7", "v": 3}),
             ("4", {"ip": ["10.0.0.1", "2001:db8::1"]}), ("5", {"v": 9})]


@pytest.fixture(scope="module")
def searcher(tmp_path_factory):
    shard = Shard.open(tmp_path_factory.mktemp("ip"), ShardSettings(refresh_interval_seconds=None),
                       Mapping.from_json(MAPPING), AnalysisRegistry.from_index_settings({}))
    # two segments, so ordinals differ per segment and the merge sees stored forms
    shard.apply_as_primary([IndexOperation(i, orjson.dumps(s)) for i, s in DOCUMENTS[:2]], 1)
    shard.refresh()
    shard.apply_as_primary([IndexOperation(i, orjson.dumps(s)) for i, s in DOCUMENTS[2:]], 1)
    shard.refresh()
    yield shard.acquire_searcher()
    shard.close()


def search(searcher, body):
    request = parse_search_request(body)
    context = SearchContext(index_name="test")
    merged = merge_shard_results([search_shard(searcher, request, context)], request)
    hits = fetch_hits(searcher, request, merged.hits, context)
    aggregations = render_response(request.aggregations, merged.aggregations) if request.aggregations else None
    return hits, aggregations


def ids(hits):
    return sorted(hit["_id"] for hit in hits)


def test_term_on_an_address_matches_exactly_with_a_constant_score(searcher):
    hits, _ = search(searcher, {"query": {"term": {"ip": "192.168.0.1"}}})
    assert [(hit["_id"], hit["_score"]) for hit in hits] == [("2", 1.0)]


def test_term_on_a_cidr_block_matches_every_address_inside(searcher):
    assert ids(search(searcher, {"query": {"term": {"ip": "192.168.0.0/16"}}})[0]) == ["2", "3"]
    assert ids(search(searcher, {"query": {"term": {"ip": "2001:db8::/32"}}})[0]) == ["4"]


def test_terms_mixes_addresses_and_blocks(searcher):
    assert ids(search(searcher, {"query": {"terms": {"ip": ["::1", "10.0.0.0/8"]}}})[0]) == ["1", "4"]


def test_range_bounds_are_compared_as_addresses_not_strings(searcher):
    hits, _ = search(searcher, {"query": {"range": {"ip": {"gte": "10.0.0.0", "lt": "192.168.0.7"}}}})
    assert ids(hits) == ["2", "4"]
    hits, _ = search(searcher, {"query": {"range": {"ip": {"gt": "192.168.0.1", "lte": "192.168.0.7"}}}})
    assert ids(hits) == ["3"]


def test_exists_finds_documents_with_an_address(searcher):
    assert ids(search(searcher, {"query": {"exists": {"field": "ip"}}})[0]) == ["1", "2", "3", "4"]


def test_a_bad_address_in_a_query_is_a_query_shard_error(searcher):
    with pytest.raises(QueryShardError, match="is not an IP string literal"):
        search(searcher, {"query": {"term": {"ip": "nope"}}})


def test_sort_orders_by_address_and_shows_addresses_as_sort_values_and_doc_values(searcher):
    hits, _ = search(searcher, {"sort": [{"ip": "asc"}], "docvalue_fields": ["ip"]})
    assert [hit["sort"] for hit in hits] == [["::1"], ["10.0.0.1"], ["192.168.0.1"], ["192.168.0.7"], [None]]
    assert hits[1]["fields"] == {"ip": ["10.0.0.1", "2001:db8::1"]}
    assert hits[0]["_source"] == {"ip": "::1", "v": 1}


def test_search_after_takes_an_address(searcher):
    hits, _ = search(searcher, {"sort": [{"ip": "desc"}], "search_after": ["192.168.0.7"]})
    assert [hit["_id"] for hit in hits] == ["2", "1", "5"]


def test_terms_aggregation_keys_are_addresses_in_address_order(searcher):
    _, aggregations = search(searcher, {"size": 0, "aggs": {"t": {"terms": {"field": "ip"}, "aggs": {
        "s": {"sum": {"field": "v"}}}}}})
    buckets = aggregations["t"]["buckets"]
    assert [bucket["key"] for bucket in buckets] == ["::1", "10.0.0.1", "192.168.0.1", "192.168.0.7", "2001:db8::1"]
    assert all("key_as_string" not in bucket for bucket in buckets)
    assert buckets[2]["s"] == {"value": 2.0}


def test_terms_aggregation_missing_takes_an_address(searcher):
    _, aggregations = search(searcher, {"size": 0, "aggs": {"t": {"terms": {"field": "ip", "missing": "1.2.3.4"}}}})
    assert {"key": "1.2.3.4", "doc_count": 1} in aggregations["t"]["buckets"]


def test_ip_range_aggregation_renders_from_to_keys_and_feeds_bucket_pipelines(searcher):
    _, aggregations = search(searcher, {"size": 0, "aggs": {
        "r": {"ip_range": {"field": "ip", "ranges": [{"from": "192.169.0.0"}, {"to": "192.168.0.0"},
                                                     {"from": "192.168.0.0", "to": "192.169.0.0"}]},
              "aggs": {"v": {"sum": {"field": "v"}}}},
        "average": {"avg_bucket": {"buckets_path": "r.v"}}}})
    assert aggregations["r"]["buckets"] == [
        {"key": "*-192.168.0.0", "to": "192.168.0.0", "doc_count": 2, "v": {"value": 1.0}},
        {"key": "192.168.0.0-192.169.0.0", "from": "192.168.0.0", "to": "192.169.0.0", "doc_count": 2,
         "v": {"value": 5.0}},
        {"key": "192.169.0.0-*", "from": "192.169.0.0", "doc_count": 1, "v": {"value": 0.0}}]
    assert aggregations["average"] == {"value": 2.0}


def test_ip_range_masks_are_keyed_by_the_mask_with_an_exclusive_upper_address(searcher):
    _, aggregations = search(searcher, {"size": 0, "aggs": {"r": {"ip_range": {
        "field": "ip", "keyed": True, "ranges": [{"mask": "::/24"}, {"mask": "192.168.0.0/16"}]}}}})
    assert aggregations["r"]["buckets"] == {
        "::/24": {"from": "::", "to": "0:100::", "doc_count": 4},
        "192.168.0.0/16": {"from": "192.168.0.0", "to": "192.169.0.0", "doc_count": 2}}


def test_ip_range_refuses_a_bad_address_at_parse_time():
    with pytest.raises(AggregationError, match="is not an IP string literal"):
        parse_search_request({"aggs": {"r": {"ip_range": {"field": "ip", "ranges": [{"from": "x"}]}}}})


def test_terms_aggregation_include_and_exclude_take_addresses(searcher):
    _, included = search(searcher, {"size": 0, "aggs": {"t": {"terms": {"field": "ip", "include": ["192.168.0.1"]}}}})
    assert included["t"]["buckets"] == [{"key": "192.168.0.1", "doc_count": 1}]
    _, excluded = search(searcher, {"size": 0, "aggs": {"t": {"terms": {"field": "ip", "exclude": ["::1", "10.0.0.1"]}}}})
    assert [bucket["key"] for bucket in excluded["t"]["buckets"]] == ["192.168.0.1", "192.168.0.7", "2001:db8::1"]


def test_a_regex_include_on_an_ip_field_is_refused(searcher):
    with pytest.raises(AggregationError, match="regular expression"):
        search(searcher, {"size": 0, "aggs": {"t": {"terms": {"field": "ip", "exclude": "127.*"}}}})


def test_terms_with_sub_aggregations_over_more_addresses_than_the_shard_size(tmp_path):
    shard = Shard.open(tmp_path, ShardSettings(refresh_interval_seconds=None), Mapping.from_json(MAPPING),
                       AnalysisRegistry.from_index_settings({}))
    try:
        operations = [IndexOperation(str(number), orjson.dumps({"ip": f"10.0.0.{number % 20}", "v": number}))
                      for number in range(60)]
        shard.apply_as_primary(operations, 1)
        shard.refresh()
        _, aggregations = search(shard.acquire_searcher(), {"size": 0, "aggs": {"t": {
            "terms": {"field": "ip", "size": 2, "order": {"_key": "asc"}}, "aggs": {"s": {"sum": {"field": "v"}}}}}})
    finally:
        shard.close()
    assert aggregations["t"]["buckets"] == [{"key": "10.0.0.0", "doc_count": 3, "s": {"value": 60.0}},
                                            {"key": "10.0.0.1", "doc_count": 3, "s": {"value": 63.0}}]


def test_composite_terms_on_ip_pages_by_address_with_an_address_after_key(searcher):
    body = {"size": 0, "aggs": {"c": {"composite": {"size": 2, "sources": [{"a": {"terms": {"field": "ip"}}}]}}}}
    _, first = search(searcher, body)
    assert [bucket["key"]["a"] for bucket in first["c"]["buckets"]] == ["::1", "10.0.0.1"]
    assert first["c"]["after_key"] == {"a": "10.0.0.1"}
    body["aggs"]["c"]["composite"]["after"] = first["c"]["after_key"]
    _, second = search(searcher, body)
    assert [bucket["key"]["a"] for bucket in second["c"]["buckets"]] == ["192.168.0.1", "192.168.0.7"]


def test_significant_terms_on_ip_shows_addresses_and_takes_address_lists(searcher):
    body = {"query": {"term": {"ip": "192.168.0.0/16"}}, "size": 0,
            "aggs": {"s": {"significant_terms": {"field": "ip", "min_doc_count": 1}}}}
    _, aggregations = search(searcher, body)
    assert sorted(bucket["key"] for bucket in aggregations["s"]["buckets"]) == ["192.168.0.1", "192.168.0.7"]
    body["aggs"]["s"]["significant_terms"]["exclude"] = ["192.168.0.1"]
    _, aggregations = search(searcher, body)
    assert [bucket["key"] for bucket in aggregations["s"]["buckets"]] == ["192.168.0.7"]


def test_a_regex_on_ip_names_the_aggregation_as_opensearch(searcher):
    with pytest.raises(AggregationError, match=r"^Aggregation \[s\] cannot support regular expression style"):
        search(searcher, {"size": 0, "aggs": {"s": {"significant_terms": {"field": "ip", "exclude": "127.*"}}}})


def test_the_fields_option_shows_ip_values_as_canonical_addresses(searcher):
    hits, _ = search(searcher, {"query": {"ids": {"values": ["4"]}}, "fields": ["ip"]})
    assert hits[0]["fields"] == {"ip": ["10.0.0.1", "2001:db8::1"]}


def test_rare_terms_on_ip_shows_addresses(searcher):
    _, aggregations = search(searcher, {"size": 0, "aggs": {"r": {"rare_terms": {"field": "ip", "exclude": ["::1"]}}}})
    assert [bucket["key"] for bucket in aggregations["r"]["buckets"]] == [
        "10.0.0.1", "192.168.0.1", "192.168.0.7", "2001:db8::1"]
    _, with_sub = search(searcher, {"size": 0, "aggs": {"r": {"rare_terms": {"field": "ip", "include": ["::1"]},
                                                               "aggs": {"s": {"sum": {"field": "v"}}}}}})
    assert with_sub["r"]["buckets"] == [{"key": "::1", "doc_count": 1, "s": {"value": 1.0}}]
