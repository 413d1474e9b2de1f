"""The fast _search/_count handlers node/api/search.py registers answer exactly what its Quart
routes answer (status and body, errors included); size beyond a Java int is a 400
input_coercion_exception; a sort that does not start with _score descending reports max_score
null unless track_scores."""

from __future__ import annotations

import orjson
import pytest

from node.http.fast_routes import registered_fast_routes


async def load(api_node) -> None:
    await api_node.request("PUT", "/books", {"settings": {"number_of_shards": 2, "number_of_replicas": 0},
                                             "mappings": {"properties": {"title": {"type": "text"},
                                                                         "year": {"type": "integer"}}}})
    lines = []
    for number, title in enumerate(["the quick fox", "a lazy dog", "the fox and the dog", "quick quick"]):
        lines.append(orjson.dumps({"index": {"_index": "books", "_id": str(number)}}))
        lines.append(orjson.dumps({"title": title, "year": 2000 + number}))
    status, _ = await api_node.request("POST", "/_bulk?refresh=true", raw=b"\n".join(lines) + b"\n",
                                       content_type="application/x-ndjson")
    assert status == 200


def without_took(body):
    if isinstance(body, dict):
        return {key: value for key, value in body.items() if key != "took"}
    return body


SEARCHES = [
    ("books", {}, {"query": {"match": {"title": "fox"}}}),
    ("books", {"size": "1"}, {"query": {"match": {"title": "quick"}}, "sort": [{"year": "desc"}]}),
    (None, {}, None),
    ("books", {"q": "title:dog"}, None),
    ("books", {}, {"query": {"no_such_query": {}}}),
    ("missing", {}, {"query": {"match_all": {}}}),
    ("books", {}, {"size": 2147483648}),
    ("books", {"search_type": "nonsense"}, {}),
    ("books", {}, {"aggs": {"years": {"terms": {"field": "year"}}}, "size": 0}),
]


@pytest.mark.parametrize("index, query, body", SEARCHES)
async def test_the_fast_search_handler_answers_what_the_quart_route_answers(api_node, index, query, body):
    await load(api_node)
    path = ("/_search" if index is None else f"/{index}/_search")
    if query:
        path += "?" + "&".join(f"{key}={value}" for key, value in query.items())
    quart_status, quart_body = await api_node.request("POST", path, body)
    handler = registered_fast_routes(api_node.app)["_search"].handler
    fast_status, fast_bytes = await handler(index, dict(query), orjson.dumps(body) if body is not None else b"")
    assert fast_status == quart_status
    assert without_took(orjson.loads(fast_bytes)) == without_took(quart_body)


async def test_the_fast_count_handler_answers_what_the_quart_route_answers(api_node):
    await load(api_node)
    handler = registered_fast_routes(api_node.app)["_count"].handler
    for index, body in [("books", {"query": {"match": {"title": "the"}}}), ("missing", None), ("books", b"{bad")]:
        raw = body if isinstance(body, bytes) else (orjson.dumps(body) if body is not None else b"")
        quart_status, quart_body = await api_node.request("POST", f"/{index}/_count", raw=raw or None)
        fast_status, fast_bytes = await handler(index, {}, raw)
        assert (fast_status, orjson.loads(fast_bytes)) == (quart_status, quart_body)


async def test_malformed_json_is_the_same_json_parse_exception_through_the_fast_handler(api_node):
    await load(api_node)
    handler = registered_fast_routes(api_node.app)["_search"].handler
    status, answer = await handler("books", {}, b'{"query": ')
    quart_status, quart_body = await api_node.request("POST", "/books/_search", raw=b'{"query": ')
    assert status == quart_status == 400
    assert orjson.loads(answer) == quart_body
    assert quart_body["error"]["type"] == "json_parse_exception"


async def test_a_size_beyond_a_java_int_is_an_input_coercion_exception(api_node):
    await load(api_node)
    status, body = await api_node.request("POST", "/books/_search", {"size": 2147483648})
    assert status == 400
    assert body["error"]["type"] == "input_coercion_exception"
    assert body["error"]["reason"].startswith("Numeric value (2147483648) out of range of int")
    assert body["error"]["root_cause"][0]["type"] == "input_coercion_exception"
    status, body = await api_node.request("POST", "/books/_search", {"from": -2147483649})
    assert status == 400 and body["error"]["type"] == "input_coercion_exception"
    status, body = await api_node.request("POST", "/books/_search", {"size": 2147483647})
    assert body["error"]["type"] != "input_coercion_exception"


async def test_max_score_is_null_when_the_sort_does_not_start_with_score_descending(api_node):
    await load(api_node)
    query = {"match": {"title": "fox"}}
    cases = [
        (None, False, True),
        ([{"_score": "desc"}], False, True),
        ([{"_score": "asc"}, {"year": "asc"}], False, False),
        ([{"_score": {"order": "asc"}}], False, False),
        ([{"year": "asc"}, "_score"], False, False),
        ([{"_score": "asc"}], True, True),
        ([{"year": "asc"}], True, True),
    ]
    for sort, track_scores, reported in cases:
        body = {"query": query, **({"sort": sort} if sort is not None else {}),
                **({"track_scores": True} if track_scores else {})}
        status, answer = await api_node.request("POST", "/books/_search", body)
        assert status == 200, answer
        assert answer["hits"]["hits"], body
        assert (answer["hits"]["max_score"] is not None) is reported, (body, answer["hits"]["max_score"])


async def test_a_remembered_index_resolution_follows_every_cluster_state_change(api_node):
    await load(api_node)
    status, answer = await api_node.request("POST", "/b*/_search", {"query": {"match_all": {}}})
    assert status == 200 and answer["hits"]["total"]["value"] == 4 and answer["_shards"]["total"] == 2
    await api_node.request("PUT", "/bo2", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    await api_node.request("PUT", "/bo2/_doc/x?refresh=true", {"title": "another fox"})
    status, answer = await api_node.request("POST", "/b*/_search", {"query": {"match_all": {}}})
    assert status == 200 and answer["hits"]["total"]["value"] == 5 and answer["_shards"]["total"] == 3
    status, _ = await api_node.request("POST", "/_aliases", {"actions": [
        {"add": {"index": "books", "alias": "foxes", "filter": {"match": {"title": "fox"}}}}]})
    assert status == 200
    status, answer = await api_node.request("POST", "/foxes/_search", {"query": {"match_all": {}}})
    assert status == 200 and answer["hits"]["total"]["value"] == 2
    status, count = await api_node.request("POST", "/foxes/_count", {"query": {"match_all": {}}})
    assert count["count"] == 2
    status, _ = await api_node.request("POST", "/bo2/_close")
    assert status == 200
    status, answer = await api_node.request("POST", "/bo2/_search", {"query": {"match_all": {}}})
    assert status == 400 and answer["error"]["type"] == "index_closed_exception"
    status, _ = await api_node.request("DELETE", "/bo2")
    status, answer = await api_node.request("POST", "/bo2/_search", {"query": {"match_all": {}}})
    assert status == 404 and answer["error"]["type"] == "index_not_found_exception"


async def test_a_whitespace_only_body_is_no_body_through_both_paths(api_node):
    await load(api_node)
    handler = registered_fast_routes(api_node.app)["_search"].handler
    status, answer = await handler("books", {}, b"  \n ")
    quart_status, quart_body = await api_node.request("POST", "/books/_search", raw=b"  \n ")
    assert status == quart_status == 200
    assert without_took(orjson.loads(answer)) == without_took(quart_body)
    assert quart_body["hits"]["total"]["value"] == 4
