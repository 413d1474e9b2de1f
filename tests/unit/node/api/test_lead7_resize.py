"""``_shrink``, ``_split`` and ``_clone`` through the in-process node: every document of the
write-blocked source lands in the target under the new number of shards (ids, sources, routing
and versions kept), the source's settings and mappings are inherited with the request's laid over
them, the request's aliases come with it, and OpenSearch's checks answer its errors."""

from __future__ import annotations

import orjson
import pytest

MAPPINGS = {"properties": {"title": {"type": "text"}, "n": {"type": "integer"}}}


async def _source(api_node, shards=4, count=40, block=True):
    status, _ = await api_node.request("PUT", "/src", {"settings": {"number_of_shards": shards, "number_of_replicas": 0},
                                                       "mappings": MAPPINGS})
    assert status == 200
    lines = []
    for number in range(count):
        action = {"_index": "src", "_id": str(number)}
        if number % 10 == 0:
            action["routing"] = f"user{number}"
        lines.append({"index": action})
        lines.append({"title": f"doc {number}", "n": number})
    body = b"".join(orjson.dumps(line) + b"\n" for line in lines)
    status, response = await api_node.request("POST", "/_bulk", raw=body, content_type="application/x-ndjson")
    assert status == 200 and response["errors"] is False
    status, _ = await api_node.request("PUT", "/src/_doc/1", {"title": "doc 1 again", "n": 1})   # version 2
    assert status == 200
    if block:
        status, _ = await api_node.request("PUT", "/src/_settings", {"index.blocks.write": True})
        assert status == 200


async def _all_documents(api_node, index):
    status, body = await api_node.request("POST", f"/{index}/_search", {"size": 100, "version": True,
                                                                     "query": {"match_all": {}}})
    assert status == 200, body
    return {hit["_id"]: (hit["_source"], hit.get("_routing"), hit["_version"]) for hit in body["hits"]["hits"]}


@pytest.mark.parametrize("resize_type, shards", [("shrink", 1), ("shrink", 2), ("split", 8), ("clone", 4)])
async def test_a_resize_copies_every_document_into_the_new_shard_count(api_node, resize_type, shards):
    await _source(api_node)
    body = {"settings": {"index.number_of_replicas": 0, "index.blocks.write": None}, "aliases": {"resized": {}}}
    if resize_type != "clone":
        body["settings"]["index.number_of_shards"] = shards
    status, answer = await api_node.request("POST", f"/src/_{resize_type}/dst", body)
    assert status == 200 and answer == {"acknowledged": True, "shards_acknowledged": True, "index": "dst"}
    copied = await _all_documents(api_node, "dst")
    assert copied == await _all_documents(api_node, "src") and len(copied) == 40
    assert copied["1"] == ({"title": "doc 1 again", "n": 1}, None, 2)
    assert copied["10"][1] == "user10"
    status, settings = await api_node.request("GET", "/dst/_settings")
    index_settings = settings["dst"]["settings"]["index"]
    assert index_settings["number_of_shards"] == str(shards)
    assert "blocks" not in index_settings                     # the request cleared the inherited block
    status, mappings = await api_node.request("GET", "/dst/_mapping")
    assert mappings["dst"]["mappings"] == MAPPINGS
    status, found = await api_node.request("GET", "/resized/_doc/10?routing=user10")
    assert status == 200 and found["_index"] == "dst"
    status, _ = await api_node.request("PUT", "/dst/_doc/new", {"title": "writable", "n": 99})
    assert status == 201


async def test_an_inherited_write_block_stays_unless_the_request_clears_it(api_node):
    await _source(api_node, count=5)
    status, _ = await api_node.request("POST", "/src/_shrink/dst", {"settings": {"index.number_of_replicas": 0}})
    assert status == 200
    status, error = await api_node.request("PUT", "/dst/_doc/x", {"n": 1})
    assert status == 403 and error["error"]["type"] == "cluster_block_exception"
    assert len(await _all_documents(api_node, "dst")) == 5


@pytest.mark.parametrize("path, body, status, error_type, reason", [
    ("/src/_split/dst", {}, 400, "illegal_argument_exception", "index.number_of_shards is required for split operations"),
    ("/src/_shrink/dst", {"settings": {"index.number_of_shards": 3}}, 400, "illegal_argument_exception",
     "the number of source shards [4] must be a multiple of [3]"),
    ("/src/_shrink/dst", {"settings": {"index.number_of_shards": 8}}, 400, "illegal_argument_exception",
     "the number of target shards [8] must be less that the number of source shards [4]"),
    ("/src/_split/dst", {"settings": {"index.number_of_shards": 6}}, 400, "illegal_argument_exception",
     "the number of source shards [4] must be a factor of [6]"),
    ("/src/_clone/dst", {"settings": {"index.number_of_shards": 2}}, 400, "illegal_argument_exception",
     "the number of target shards (2) must be the same as the number of source shards (4)"),
    ("/src/_clone/dst", {"mappings": {"properties": {"x": {"type": "keyword"}}}}, 400, "illegal_argument_exception",
     "mappings are not allowed when resizing indices, all mappings are copied from the source index"),
    ("/missing/_clone/dst", {}, 404, "index_not_found_exception", "no such index [missing]"),
    ("/src/_clone/src", {}, 400, "resource_already_exists_exception", None),
])
async def test_resize_checks_answer_opensearch_s_errors(api_node, path, body, status, error_type, reason):
    await _source(api_node, count=3)
    answered, error = await api_node.request("POST", path, body)
    assert answered == status and error["error"]["type"] == error_type
    if reason is not None:
        assert error["error"]["reason"] == reason
    status, _ = await api_node.request("GET", "/dst")
    assert status == 404                                            # nothing half-made is left


async def test_a_source_that_takes_writes_cannot_be_resized(api_node):
    await _source(api_node, count=3, block=False)
    status, error = await api_node.request("POST", "/src/_shrink/dst", {})
    assert status == 400 and error["error"]["type"] == "illegal_state_exception"
    assert error["error"]["reason"] == 'index src must be read-only to resize index. use "index.blocks.write=true"'


async def test_a_target_whose_metadata_writes_would_be_blocked_is_refused(api_node):
    await _source(api_node, count=3)
    status, error = await api_node.request("POST", "/src/_shrink/dst", {"settings": {"index.blocks.read_only": True}})
    assert status == 400 and error["error"]["type"] == "action_request_validation_exception"
    await api_node.request("PUT", "/src/_settings", {"index.blocks.read_only": True})
    status, error = await api_node.request("POST", "/src/_shrink/dst", {})
    assert status == 400 and error["error"]["type"] == "illegal_argument_exception"
    status, answer = await api_node.request("POST", "/src/_shrink/dst", {"settings": {"index.blocks.read_only": None}})
    assert status == 200 and answer["index"] == "dst"
    await api_node.request("PUT", "/src/_settings", {"index.blocks.read_only": None})
