"""The _bulk API in process: order, per-item statuses, errors flag, parsing errors, limits."""

from __future__ import annotations

import orjson


def ndjson(*lines) -> bytes:
    return b"".join(orjson.dumps(line) + b"\n" for line in lines)


async def bulk(node, body: bytes, path="/_bulk"):
    return await node.request("POST", path, raw=body, content_type="application/x-ndjson")


async def test_bulk_items_come_back_in_request_order_with_statuses(api_node):
    await api_node.request("PUT", "/b", {"settings": {"number_of_shards": 3, "number_of_replicas": 0}})
    body = b"".join(ndjson({"index": {"_index": "b", "_id": str(n)}}, {"n": n}) for n in range(20))
    status, response = await bulk(api_node, body)
    assert status == 200
    assert response["errors"] is False
    assert [item["index"]["_id"] for item in response["items"]] == [str(n) for n in range(20)]
    assert all(item["index"]["status"] == 201 for item in response["items"])
    assert isinstance(response["took"], int)


async def test_bulk_reports_each_failure_and_sets_errors(api_node):
    await api_node.request("PUT", "/b", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    body = ndjson({"create": {"_index": "b", "_id": "1"}}, {"a": 1},
                  {"create": {"_index": "b", "_id": "1"}}, {"a": 2},
                  {"update": {"_index": "b", "_id": "missing"}}, {"doc": {"a": 1}},
                  {"delete": {"_index": "b", "_id": "1"}},
                  {"index": {"_index": "b", "_id": "2"}}, {"a": "not a long"})
    status, response = await bulk(api_node, body)
    assert status == 200 and response["errors"] is True
    statuses = [next(iter(item.values()))["status"] for item in response["items"]]
    assert statuses == [201, 409, 404, 200, 400]
    conflict = response["items"][1]["create"]["error"]
    assert conflict["type"] == "version_conflict_engine_exception" and conflict["index"] == "b"


async def test_bulk_with_a_default_index_in_the_path(api_node):
    status, response = await bulk(api_node, ndjson({"index": {"_id": "1"}}, {"a": 1}), "/implicit/_bulk")
    assert status == 200 and response["items"][0]["index"]["_index"] == "implicit"


async def test_bulk_without_a_trailing_newline_is_a_400(api_node):
    status, body = await bulk(api_node, b'{"index":{"_index":"b"}}\n{"a":1}')
    assert status == 400 and "newline" in body["error"]["reason"]


async def test_a_malformed_action_line_fails_the_whole_request(api_node):
    status, body = await bulk(api_node, b'{"frobnicate":{"_index":"b"}}\n{"a":1}\n')
    assert status == 400 and body["error"]["type"] == "illegal_argument_exception"


async def test_an_item_without_an_index_fails_alone(api_node):
    body = ndjson({"index": {"_id": "1"}}, {"a": 1}, {"index": {"_index": "ok", "_id": "1"}}, {"a": 1})
    status, response = await bulk(api_node, body)
    assert status == 200 and response["errors"] is True
    assert response["items"][0]["index"]["error"]["type"] == "action_request_validation_exception"
    assert response["items"][1]["index"]["status"] == 201


async def test_delete_items_do_not_create_an_index(api_node):
    status, response = await bulk(api_node, ndjson({"delete": {"_index": "ghost", "_id": "1"}}))
    assert response["items"][0]["delete"]["status"] == 404
    assert "ghost" not in api_node.state.indices


async def test_documents_bringing_new_fields_commit_one_mapping_update_first(api_node):
    await api_node.request("PUT", "/b", {"settings": {"number_of_shards": 2, "number_of_replicas": 0}})
    body = b"".join(ndjson({"index": {"_index": "b", "_id": str(n)}}, {f"field_{n % 3}": n}) for n in range(12))
    status, response = await bulk(api_node, body)
    assert status == 200 and response["errors"] is False
    properties = api_node.state.indices["b"].mappings["properties"]
    assert sorted(properties) == ["field_0", "field_1", "field_2"]


async def test_bulk_with_refresh_makes_documents_visible_to_stats(api_node):
    body = b"".join(ndjson({"index": {"_index": "r", "_id": str(n)}}, {"n": n}) for n in range(5))
    await api_node.request("POST", "/_bulk?refresh=true", raw=body, content_type="application/x-ndjson")
    status, stats = await api_node.request("GET", "/r/_stats")
    assert stats["indices"]["r"]["primaries"]["docs"]["count"] == 5


async def test_the_operations_limit_is_enforced_from_the_cluster_setting(api_node):
    await api_node.request("PUT", "/_cluster/settings", {"transient": {"quidditch.bulk.max_operations": 2}})
    body = b"".join(ndjson({"index": {"_index": "b", "_id": str(n)}}, {"n": n}) for n in range(3))
    status, response = await bulk(api_node, body)
    assert status == 400 and "quidditch.bulk.max_operations" in response["error"]["reason"]


async def test_a_missing_ingest_pipeline_fails_each_item_it_would_run_on(api_node):
    status, body = await bulk(api_node, ndjson({"index": {"_index": "b"}}, {"a": 1}), "/_bulk?pipeline=p")
    assert status == 200 and body["errors"] is True
    assert body["items"][0]["index"]["status"] == 400
    assert body["items"][0]["index"]["error"]["reason"] == "pipeline with id [p] does not exist"


async def test_excess_in_flight_writes_are_rejected_with_429(api_node):
    await api_node.request("PUT", "/_cluster/settings", {"transient": {"quidditch.write.max_in_flight_requests": 0}})
    status, body = await bulk(api_node, ndjson({"index": {"_index": "b"}}, {"a": 1}))
    assert status == 429
    assert body["error"]["type"] == "rejected_execution_exception"
    assert body["status"] == 429


async def test_bulk_items_are_counted_in_the_indexing_metrics(api_node):
    body = ndjson({"index": {"_index": "m", "_id": "1"}}, {"a": 1}, {"create": {"_index": "m", "_id": "1"}}, {"a": 1})
    await bulk(api_node, body)
    text = api_node.context.metrics.exposition().decode()
    assert 'quidditch_indexing_operations_total{index="m",operation="index",result="created"} 1.0' in text
    assert ('quidditch_indexing_operations_total{index="m",operation="create",'
            'result="version_conflict_engine_exception"} 1.0') in text


async def test_items_for_invalid_or_closed_indices_fail_alone(api_node):
    await api_node.request("PUT", "/shut/_doc/1", {"a": 1})
    await api_node.request("POST", "/shut/_close")
    body = ndjson({"index": {"_index": "BadName", "_id": "1"}}, {"a": 1},
                  {"index": {"_index": "shut", "_id": "2"}}, {"a": 1},
                  {"index": {"_index": "fine", "_id": "3"}}, {"a": 1})
    status, response = await bulk(api_node, body)
    assert status == 200 and response["errors"] is True
    first, second, third = (item["index"] for item in response["items"])
    assert first["status"] == 400 and first["error"]["type"] == "invalid_index_name_exception"
    assert second["status"] == 400 and second["error"]["type"] == "index_closed_exception"
    assert third["status"] == 201


async def test_routing_required_by_the_mapping_fails_items_without_routing(api_node):
    await api_node.request("PUT", "/routed", {"mappings": {"_routing": {"required": True}}})
    body = ndjson({"index": {"_index": "routed", "_id": "1"}}, {"a": 1},
                  {"index": {"_index": "routed", "_id": "2", "routing": "r"}}, {"a": 1})
    _, response = await bulk(api_node, body)
    assert response["items"][0]["index"]["error"]["type"] == "routing_missing_exception"
    assert response["items"][1]["index"]["status"] == 201
