"""Single-document details found against OpenSearch's rest-api-spec: reads without a required
routing, doc_as_upsert with an upsert document too."""

from __future__ import annotations

import orjson


async def test_a_read_without_routing_on_an_index_that_requires_it_is_a_400(api_node):
    await api_node.request("PUT", "/rr", {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
                                          "mappings": {"_routing": {"required": True}}})
    status, _ = await api_node.request("PUT", "/rr/_doc/1?routing=5&refresh=true", {"a": 1})
    assert status == 201
    status, body = await api_node.request("GET", "/rr/_doc/1")
    assert status == 400 and body["error"]["type"] == "routing_missing_exception"
    assert body["error"]["reason"] == "routing is required for [rr]/[1]"
    status, body = await api_node.request("GET", "/rr/_source/1")
    assert status == 400
    status, body = await api_node.request("GET", "/rr/_doc/1?routing=5")
    assert status == 200 and body["found"] is True


async def test_doc_as_upsert_upserts_the_doc_even_when_an_upsert_is_given(api_node):
    await api_node.request("PUT", "/u", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    status, _ = await api_node.request("POST", "/u/_update/1", {"doc": {"a": 1}, "upsert": {"b": 1},
                                                                "doc_as_upsert": True})
    assert status == 201
    status, body = await api_node.request("GET", "/u/_doc/1")
    assert body["_source"] == {"a": 1}


async def test_a_bulk_doc_as_upsert_upserts_the_doc_even_when_an_upsert_is_given(api_node):
    await api_node.request("PUT", "/u", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    body = b"".join(orjson.dumps(line) + b"\n" for line in (
        {"update": {"_index": "u", "_id": "2"}}, {"doc": {"a": 2}, "upsert": {"b": 2}, "doc_as_upsert": True}))
    status, response = await api_node.request("POST", "/_bulk", raw=body, content_type="application/x-ndjson")
    assert status == 200 and response["errors"] is False
    status, document = await api_node.request("GET", "/u/_doc/2")
    assert document["_source"] == {"a": 2}


async def test_an_mget_item_without_a_required_routing_fails_alone(api_node):
    await api_node.request("PUT", "/rr", {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
                                          "mappings": {"_routing": {"required": True}}})
    await api_node.request("PUT", "/rr/_doc/1?routing=5&refresh=true", {"a": 1})
    status, body = await api_node.request("POST", "/_mget", {"docs": [{"_index": "rr", "_id": "1"},
                                                                      {"_index": "rr", "_id": "1", "routing": "5"}]})
    assert status == 200
    first, second = body["docs"]
    assert first["error"]["type"] == "routing_missing_exception"
    assert second["found"] is True
