"""A value that fails to parse reports OpenSearch's nested ``caused_by`` and the document's id, for
a single write and for bulk items (both the columnar and the general bulk paths), and root_cause
never repeats the cause."""

from __future__ import annotations

import orjson

OUT_OF_RANGE = {"type": "illegal_argument_exception", "reason": "Value [-1] is out of range for an unsigned_long"}


async def create_unsigned(node):
    status, _ = await node.request("PUT", "/u", {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
                                                 "mappings": {"properties": {"n": {"type": "unsigned_long"}}}})
    assert status == 200


async def test_a_single_write_error_carries_caused_by_outside_root_cause_and_names_the_document(api_node):
    await create_unsigned(api_node)
    status, body = await api_node.request("PUT", "/u/_doc/9", {"n": -1})
    assert status == 400
    error = body["error"]
    assert error["type"] == "mapper_parsing_exception"
    assert "in document with id '9'" in error["reason"]
    assert error["caused_by"] == OUT_OF_RANGE
    assert "caused_by" not in error["root_cause"][0]
    assert error["root_cause"][0]["reason"] == error["reason"]


async def test_bulk_items_carry_caused_by_on_the_columnar_and_the_general_paths(api_node):
    await create_unsigned(api_node)
    columnar = (orjson.dumps({"index": {"_index": "u", "_id": "1"}}) + b"\n" + orjson.dumps({"n": -1}) + b"\n"
                + orjson.dumps({"index": {"_index": "u", "_id": "2"}}) + b"\n" + orjson.dumps({"n": 5}) + b"\n")
    # a delete in the same request takes the general (per-operation) path
    general = columnar.replace(b'"_id":"1"', b'"_id":"3"').replace(b'"_id":"2"', b'"_id":"4"') + \
        orjson.dumps({"delete": {"_index": "u", "_id": "4"}}) + b"\n"
    for body in (columnar, general):
        status, response = await api_node.request("POST", "/_bulk", raw=body, content_type="application/x-ndjson")
        assert status == 200 and response["errors"] is True
        failed = response["items"][0]["index"]
        assert failed["status"] == 400
        assert failed["error"]["caused_by"] == OUT_OF_RANGE
        assert f"in document with id '{failed['_id']}'" in failed["error"]["reason"]
        assert response["items"][1]["index"]["status"] == 201


async def test_bulk_items_into_a_write_blocked_index_are_403_and_deletes_pass_read_only_allow_delete(api_node):
    await api_node.request("PUT", "/blocked", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    await api_node.request("PUT", "/blocked/_doc/1?refresh=true", {"n": 1})
    status, _ = await api_node.request("PUT", "/blocked/_block/write")
    assert status == 200
    body = orjson.dumps({"index": {"_index": "blocked", "_id": "2"}}) + b"\n" + orjson.dumps({"n": 2}) + b"\n"
    status, response = await api_node.request("POST", "/_bulk", raw=body, content_type="application/x-ndjson")
    assert status == 200 and response["errors"] is True
    item = response["items"][0]["index"]
    assert item["status"] == 403 and item["error"]["type"] == "cluster_block_exception"
    assert "index write (api)" in item["error"]["reason"]
    status, _ = await api_node.request("PUT", "/blocked/_settings", {"index.blocks.write": False,
                                                                     "index.blocks.read_only_allow_delete": True})
    assert status == 200
    body = (orjson.dumps({"delete": {"_index": "blocked", "_id": "1"}}) + b"\n"
            + orjson.dumps({"index": {"_index": "blocked", "_id": "3"}}) + b"\n" + orjson.dumps({"n": 3}) + b"\n")
    status, response = await api_node.request("POST", "/_bulk", raw=body, content_type="application/x-ndjson")
    assert response["items"][0]["delete"]["status"] == 200
    # OpenSearch answers the flood-stage block with 429 TOO_MANY_REQUESTS, not 403
    assert response["items"][1]["index"]["status"] == 429
    assert "TOO_MANY_REQUESTS/12/disk usage exceeded flood-stage watermark" in response["items"][1]["index"]["error"]["reason"]
