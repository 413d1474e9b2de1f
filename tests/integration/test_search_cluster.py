"""Search across a three-node cluster: shards on other nodes are reached over the transport
(``shard/call``) for the query and fetch phases, scrolls and points in time."""

import json
import urllib.request

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def http(base_url, method, path, body=None):
    data = None
    headers = {}
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers["Content-Type"] = "application/x-ndjson" if isinstance(body, bytes) else "application/json"
    prepared = urllib.request.Request(base_url + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(prepared, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def test_every_node_answers_a_search_over_shards_spread_across_the_cluster(node_factory):
    members = node_factory.start_cluster(3)
    first = members[0].base_url
    status, _ = http(first, "PUT", "/spread?wait_for_active_shards=1",
                     {"settings": {"number_of_shards": 6, "number_of_replicas": 0}})
    assert status == 200
    lines = b"".join(b'{"index":{"_index":"spread","_id":"%d"}}\n{"n":%d,"word":"w%d"}\n' % (n, n, n % 4)
                     for n in range(60))
    status, bulk = http(first, "POST", "/_bulk?refresh=true", lines)
    assert status == 200 and not bulk["errors"]
    status, shards = http(first, "GET", "/spread/_search_shards")
    assert len({copies[0]["node"] for copies in shards["shards"]}) > 1   # really spread over nodes
    for member in members:
        status, response = http(member.base_url, "POST", "/spread/_search",
                                {"sort": [{"n": "desc"}], "size": 5, "query": {"term": {"word": "w1"}}})
        assert status == 200
        assert response["_shards"] == {"total": 6, "successful": 6, "skipped": 0, "failed": 0}
        assert response["hits"]["total"]["value"] == 15
        assert [hit["_id"] for hit in response["hits"]["hits"]] == ["57", "53", "49", "45", "41"]
        assert response["hits"]["hits"][0]["_source"] == {"n": 57, "word": "w1"}
    status, page = http(members[1].base_url, "POST", "/spread/_search?scroll=1m", {"size": 7, "sort": ["_doc"]})
    seen = [hit["_id"] for hit in page["hits"]["hits"]]
    while page["hits"]["hits"]:
        status, page = http(members[2].base_url, "POST", "/_search/scroll",
                            {"scroll": "1m", "scroll_id": page["_scroll_id"]})
        assert status == 200
        seen += [hit["_id"] for hit in page["hits"]["hits"]]
    assert sorted(seen, key=int) == [str(n) for n in range(60)]
    status, cleared = http(members[0].base_url, "DELETE", "/_search/scroll", {"scroll_id": page["_scroll_id"]})
    assert status == 200 and cleared["num_freed"] == 6
    status, opened = http(members[2].base_url, "POST", "/spread/_search/point_in_time?keep_alive=1m")
    status, response = http(members[0].base_url, "POST", "/_search",
                            {"pit": {"id": opened["pit_id"]}, "size": 0, "aggs": {"words": {"terms": {"field": "word.keyword"}}}})
    assert status == 200
    assert sorted(bucket["doc_count"] for bucket in response["aggregations"]["words"]["buckets"]) == [15, 15, 15, 15]
