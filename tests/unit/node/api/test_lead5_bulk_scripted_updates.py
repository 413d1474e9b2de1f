"""Scripted update items in _bulk: run in the body's order beside the other items, with the item's
own upsert, routing and retry settings; a script error or a missing document fails that item only."""

from __future__ import annotations

import orjson


def ndjson(*lines) -> bytes:
    return b"".join(orjson.dumps(line) + b"\n" for line in lines)


async def bulk(node, body: bytes):
    return await node.request("POST", "/_bulk?refresh=true", raw=body, content_type="application/x-ndjson")


async def test_scripted_items_run_in_order_with_the_other_items(api_node):
    await api_node.request("PUT", "/s", {"settings": {"number_of_shards": 2, "number_of_replicas": 0}})
    increment = {"script": {"source": "ctx._source.n += params.by", "params": {"by": 5}}}
    body = ndjson({"index": {"_index": "s", "_id": "a"}}, {"n": 1},
                  {"update": {"_index": "s", "_id": "a"}}, increment,
                  {"update": {"_index": "s", "_id": "a"}}, {"doc": {"tag": "x"}},
                  {"update": {"_index": "s", "_id": "a"}}, increment,
                  {"update": {"_index": "s", "_id": "b"}}, {**increment, "upsert": {"n": 100}},
                  {"update": {"_index": "s", "_id": "a", "_source": True}},
                  {"script": {"source": "ctx.op = 'noop'"}})
    status, response = await bulk(api_node, body)
    assert status == 200 and response["errors"] is False
    results = [next(iter(item.values())) for item in response["items"]]
    assert [item["result"] for item in results] == ["created", "updated", "updated", "updated", "created", "noop"]
    assert [item["status"] for item in results] == [201, 200, 200, 200, 201, 200]
    assert results[5]["get"]["_source"] == {"n": 11, "tag": "x"}
    status, document = await api_node.request("GET", "/s/_doc/a")
    assert document["_source"] == {"n": 11, "tag": "x"} and document["_version"] == 4
    status, document = await api_node.request("GET", "/s/_doc/b")
    assert document["_source"] == {"n": 100}


async def test_a_failing_script_or_a_missing_document_fails_only_its_item(api_node):
    await api_node.request("PUT", "/f", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    body = ndjson({"index": {"_index": "f", "_id": "1"}}, {"n": 1},
                  {"update": {"_index": "f", "_id": "1"}}, {"script": {"source": "ctx._source.n = 1 / 0"}},
                  {"update": {"_index": "f", "_id": "missing"}}, {"script": {"source": "ctx._source.n = 2"}},
                  {"update": {"_index": "f", "_id": "1"}}, {"script": "ctx._source.n = 7"},
                  {"update": {"_index": "f", "_id": "1"}}, {"script": {"source": "ctx._source.n = 8"},
                                                            "doc": {"n": 9}})
    status, response = await bulk(api_node, body)
    assert status == 200 and response["errors"] is True
    results = [next(iter(item.values())) for item in response["items"]]
    assert [item["status"] for item in results] == [201, 400, 404, 200, 400]
    assert results[1]["error"]["type"] == "illegal_argument_exception"
    assert results[1]["error"]["caused_by"]["type"] == "script_exception"  # "failed to execute script"
    assert results[2]["error"]["type"] == "document_missing_exception"
    assert "can't provide both script and doc" in results[4]["error"]["reason"]
    status, document = await api_node.request("GET", "/f/_doc/1")
    assert document["_source"] == {"n": 7}
