"""Search features that cross the front door (node/http/fast_routes.py) over real HTTP: terms-query
lookups resolved from another document, filter_path on _search and _count answers, index read
blocks (403), and typed_keys names for the newer field types."""


import pytest

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def loaded(node, call):
    url = node.base_url
    assert call(url, "PUT", "/lookup-users", {"mappings": {"properties": {
        "followers": {"type": "keyword"}}}})[0] == 200
    assert call(url, "PUT", "/lookup-users/_doc/u1?refresh=true", {"followers": ["a", "c"]})[0] == 201
    assert call(url, "PUT", "/lookup-tweets", {"mappings": {"properties": {
        "user": {"type": "keyword"}, "address": {"type": "ip"}, "big": {"type": "unsigned_long"}}}})[0] == 200
    for number, user in enumerate(["a", "b", "c", "d"]):
        assert call(url, "PUT", f"/lookup-tweets/_doc/{number}?refresh=true",
                    {"user": user, "address": f"10.0.0.{number}", "big": 2 ** 63 + number})[0] == 201
    return url


def test_a_terms_lookup_takes_its_values_from_another_document(loaded, call):
    lookup = {"terms": {"user": {"index": "lookup-users", "id": "u1", "path": "followers"}}}
    status, answer = call(loaded, "POST", "/lookup-tweets/_search", {"query": lookup, "sort": ["user"]})
    assert status == 200
    assert [hit["_source"]["user"] for hit in answer["hits"]["hits"]] == ["a", "c"]
    status, answer = call(loaded, "POST", "/lookup-tweets/_count", {"query": lookup})
    assert status == 200 and answer["count"] == 2
    missing = {"terms": {"user": {"index": "lookup-users", "id": "nobody", "path": "followers"}}}
    assert call(loaded, "POST", "/lookup-tweets/_count", {"query": missing})[1]["count"] == 0


def test_filter_path_applies_to_search_and_count_answers(loaded, call):
    status, answer = call(loaded, "POST", "/lookup-tweets/_search?filter_path=hits.hits._id,-took",
                          {"sort": ["user"], "size": 2})
    assert status == 200
    assert answer == {"hits": {"hits": [{"_id": "0"}, {"_id": "1"}]}}
    status, answer = call(loaded, "GET", "/lookup-tweets/_count?filter_path=count")
    assert status == 200 and answer == {"count": 4}


def test_typed_keys_name_ip_and_unsigned_long_terms(loaded, call):
    status, answer = call(loaded, "POST", "/lookup-tweets/_search?typed_keys=true", {"size": 0, "aggs": {
        "addresses": {"terms": {"field": "address"}}, "bigs": {"terms": {"field": "big"}}}})
    assert status == 200
    assert set(answer["aggregations"]) == {"sterms#addresses", "ulterms#bigs"}


def test_a_read_block_refuses_searches_with_403(node, call):
    url = node.base_url
    assert call(url, "PUT", "/read-blocked", {})[0] == 200
    assert call(url, "PUT", "/read-blocked/_block/read")[0] == 200
    status, answer = call(url, "POST", "/read-blocked/_search", {})
    assert status == 403 and answer["error"]["type"] == "cluster_block_exception"
    assert call(url, "GET", "/read-blocked/_count")[0] == 403
