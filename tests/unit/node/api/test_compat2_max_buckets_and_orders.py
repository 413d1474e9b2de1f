"""search.max_buckets as a cluster setting, and the deprecated `_time` key order."""

from __future__ import annotations


async def seed(node):
    await node.request("PUT", "/test", {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
                                        "mappings": {"properties": {"keyword": {"type": "keyword"},
                                                                    "date": {"type": "date"}}}})
    for number, (year, word) in enumerate(zip(range(2014, 2022), ["dgx", "dfs", "foobar", "foo", "bar", "baz",
                                                                   "qux", "quux"]), start=1):
        await node.request("PUT", f"/test/_doc/{number}", {"date": f"{year}-03-03T00:00:00", "keyword": word})
    await node.request("POST", "/test/_refresh")


async def terms_search(node):
    return await node.request("POST", "/test/_search", {"size": 0, "aggs": {"test": {"terms": {"field": "keyword"}}}})


async def test_search_max_buckets_set_in_the_cluster_settings_limits_the_buckets(api_node):
    await seed(api_node)
    status, _ = await terms_search(api_node)
    assert status == 200
    status, body = await api_node.request("PUT", "/_cluster/settings", {"transient": {"search.max_buckets": 3}})
    assert status == 200, body
    status, body = await terms_search(api_node)
    assert status >= 400
    assert "Trying to create too many buckets. Must be less than or equal to: [3]" in str(body)
    status, _ = await api_node.request("PUT", "/_cluster/settings", {"transient": {"search.max_buckets": None}})
    assert status == 200
    status, _ = await terms_search(api_node)
    assert status == 200


async def test_search_max_buckets_must_be_a_non_negative_integer(api_node):
    status, body = await api_node.request("PUT", "/_cluster/settings", {"persistent": {"search.max_buckets": "many"}})
    assert status == 400


async def test_the_deprecated_time_order_sorts_date_histogram_buckets_by_key(api_node):
    await seed(api_node)
    status, body = await api_node.request("POST", "/test/_search", {"size": 0, "aggs": {"h": {"date_histogram": {
        "field": "date", "calendar_interval": "year", "order": {"_time": "desc"}}}}})
    assert status == 200, body
    keys = [bucket["key_as_string"] for bucket in body["aggregations"]["h"]["buckets"]]
    assert keys[0] == "2021-01-01T00:00:00.000Z" and keys[-1] == "2014-01-01T00:00:00.000Z" and len(keys) == 8


async def composite(node, sources, **options):
    return await node.request("POST", "/test/_search", {"size": 0, "aggs": {"test": {"composite": {
        "sources": sources, **options}}}})


async def test_a_composite_size_over_max_buckets_is_refused_even_with_few_combinations(api_node):
    await seed(api_node)
    status, body = await composite(api_node, [{"keyword": {"terms": {"field": "keyword"}}}], size=1000000000)
    assert status >= 400 and "Trying to create too many buckets" in str(body)
    status, body = await composite(api_node, [{"keyword": {"terms": {"field": "keyword"}}}], size=100)
    assert status == 200 and len(body["aggregations"]["test"]["buckets"]) == 8


async def test_a_composite_date_histogram_prints_keys_in_the_iso8601_format(api_node):
    await seed(api_node)
    status, body = await composite(api_node, [{"date": {"date_histogram": {
        "field": "date", "calendar_interval": "1d", "offset": "4h", "format": "iso8601"}}}], size=2)
    assert status == 200, body
    keys = [bucket["key"]["date"] for bucket in body["aggregations"]["test"]["buckets"]]
    assert keys == ["2014-03-02T04:00:00.000Z", "2015-03-02T04:00:00.000Z"]
