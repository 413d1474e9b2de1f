"""Data streams through the in-process node: a composable template with ``data_stream``, the
first write creating the stream and its hidden backing index, reads through the stream's name,
rollover to the next generation with writes going to it, GET/_stats/DELETE, and OpenSearch's
refusals (overwrite by id, deleting the write index, a regular index a data-stream template matches)."""

from __future__ import annotations

import orjson

TEMPLATE = {"index_patterns": ["logs-*"], "data_stream": {}, "priority": 10,
            "template": {"settings": {"number_of_shards": 1, "number_of_replicas": 0},
                         "mappings": {"properties": {"message": {"type": "text"}}}}}


async def _bulk_create(api_node, stream, start, count):
    lines = []
    for number in range(start, start + count):
        lines += [{"create": {"_index": stream}},
                  {"@timestamp": f"2026-11-30T12:{number % 60:02d}:00Z", "message": f"event {number}"}]
    status, answer = await api_node.request("POST", "/_bulk?refresh=true",
                                            raw=b"".join(orjson.dumps(line) + b"\n" for line in lines),
                                            content_type="application/x-ndjson")
    assert status == 200 and not answer["errors"], answer
    return answer


async def test_a_data_stream_is_created_by_its_first_write_read_by_name_and_rolled_over(api_node):
    status, _ = await api_node.request("PUT", "/_index_template/logs", TEMPLATE)
    assert status == 200
    answer = await _bulk_create(api_node, "logs-app", 0, 5)
    assert {item["create"]["_index"] for item in answer["items"]} == {".ds-logs-app-000001"}

    status, streams = await api_node.request("GET", "/_data_stream/logs-app")
    stream = streams["data_streams"][0]
    assert stream["name"] == "logs-app" and stream["generation"] == 1 and stream["template"] == "logs"
    assert stream["timestamp_field"] == {"name": "@timestamp"} and stream["status"] == "GREEN"
    assert [entry["index_name"] for entry in stream["indices"]] == [".ds-logs-app-000001"]
    status, mapping = await api_node.request("GET", "/.ds-logs-app-000001/_mapping")
    assert mapping[".ds-logs-app-000001"]["mappings"]["properties"]["@timestamp"] == {"type": "date"}

    status, rolled = await api_node.request("POST", "/logs-app/_rollover", {})
    assert status == 200 and rolled["rolled_over"] is True
    assert (rolled["old_index"], rolled["new_index"]) == (".ds-logs-app-000001", ".ds-logs-app-000002")
    answer = await _bulk_create(api_node, "logs-app", 5, 3)
    assert {item["create"]["_index"] for item in answer["items"]} == {".ds-logs-app-000002"}
    status, counted = await api_node.request("GET", "/logs-app/_count")
    assert counted["count"] == 8
    status, counted = await api_node.request("GET", "/logs-*/_count")
    assert counted["count"] == 8
    status, indices = await api_node.request("GET", "/_cat/indices/logs-app?format=json&h=index")
    assert sorted(row["index"] for row in indices) == [".ds-logs-app-000001", ".ds-logs-app-000002"]

    status, stats = await api_node.request("GET", "/_data_stream/_stats")
    assert stats["data_stream_count"] == 1 and stats["backing_indices"] == 2
    assert stats["data_streams"][0]["maximum_timestamp"] > 0

    status, refused = await api_node.request("PUT", "/logs-app/_doc/1", {"@timestamp": "2026-11-30T13:00:00Z"})
    assert status == 400 and refused["error"]["reason"] == \
        "only write ops with an op_type of create are allowed in data streams"
    status, created = await api_node.request("PUT", "/logs-app/_create/1", {"@timestamp": "2026-11-30T13:00:00Z"})
    assert status == 201 and created["_index"] == ".ds-logs-app-000002"
    status, refused = await api_node.request("DELETE", "/.ds-logs-app-000002")
    assert status == 400 and "is the write index for data stream [logs-app]" in refused["error"]["reason"]
    status, refused = await api_node.request("PUT", "/logs-plain", {})
    assert status == 400 and "creates data streams only" in refused["error"]["reason"]

    status, _ = await api_node.request("DELETE", "/_data_stream/logs-app")
    assert status == 200
    status, missing = await api_node.request("GET", "/_data_stream/logs-app")
    assert status == 404
    status, _ = await api_node.request("GET", "/.ds-logs-app-000001")
    assert status == 404


async def test_put_data_stream_needs_a_matching_template_and_a_valid_unused_name(api_node):
    status, error = await api_node.request("PUT", "/_data_stream/metrics-x")
    assert status == 400 and error["error"]["reason"] == "no matching index template found for data stream [metrics-x]"
    await api_node.request("PUT", "/_index_template/logs", TEMPLATE)
    status, error = await api_node.request("PUT", "/_data_stream/logs-Upper")
    assert status == 400 and error["error"]["reason"] == "data_stream [logs-Upper] must be lowercase"
    status, answer = await api_node.request("PUT", "/_data_stream/logs-made")
    assert status == 200 and answer == {"acknowledged": True}
    status, error = await api_node.request("PUT", "/_data_stream/logs-made")
    assert status == 400 and error["error"]["type"] == "resource_already_exists_exception"
    status, streams = await api_node.request("GET", "/_data_stream")
    assert [stream["name"] for stream in streams["data_streams"]] == ["logs-made"]


async def test_resolve_index_lists_a_data_stream_and_its_backing_indices(api_node):
    await api_node.request("PUT", "/_index_template/logs", TEMPLATE)
    await api_node.request("PUT", "/_data_stream/logs-r")
    status, resolved = await api_node.request("GET", "/_resolve/index/logs-*")
    assert status == 200
    assert resolved["data_streams"] == [{"name": "logs-r", "backing_indices": [".ds-logs-r-000001"],
                                         "timestamp_field": "@timestamp"}]


async def test_bulk_to_a_data_stream_accepts_only_creates_with_one_timestamp(api_node):
    status, _ = await api_node.request("PUT", "/_index_template/logs", TEMPLATE)
    assert status == 200
    await _bulk_create(api_node, "logs-web", 0, 1)
    lines = [{"index": {"_index": "logs-web", "_id": "a"}}, {"@timestamp": "2026-11-30T12:00:00Z"},
             {"index": {"_index": "logs-web"}}, {"@timestamp": "2026-11-30T12:00:00Z"},
             {"delete": {"_index": "logs-web", "_id": "a"}},
             {"create": {"_index": "logs-web"}}, {"message": "no time"},
             {"create": {"_index": "logs-web"}}, {"@timestamp": ["2026-11-30T12:00:00Z", "2026-11-30T12:01:00Z"]},
             {"create": {"_index": "logs-web"}}, {"@timestamp": "2026-11-30T12:02:00Z", "message": "kept"}]
    status, answer = await api_node.request("POST", "/_bulk?refresh=true",
                                            raw=b"".join(orjson.dumps(line) + b"\n" for line in lines),
                                            content_type="application/x-ndjson")
    assert status == 200 and answer["errors"] is True
    items = [next(iter(item.values())) for item in answer["items"]]
    assert [item["status"] for item in items] == [400, 400, 400, 400, 400, 201]
    for item in items[:3]:
        assert item["error"]["type"] == "illegal_argument_exception"
        assert item["error"]["reason"] == "only write ops with an op_type of create are allowed in data streams"
    for item in items[3:5]:
        assert item["error"]["type"] == "mapper_parsing_exception"
        assert item["error"]["caused_by"] == {
            "type": "illegal_argument_exception",
            "reason": "documents must contain a single-valued timestamp field '@timestamp' of date type"}
    status, counted = await api_node.request("GET", "/logs-web/_count")
    assert counted["count"] == 2            # the first write's document and the kept one

    # the single-document API: an id-less POST is a create; a create without a timestamp is refused
    status, created = await api_node.request("POST", "/logs-web/_doc", {"@timestamp": "2026-11-30T12:03:00Z"})
    assert status == 201 and created["result"] == "created" and created["_index"] == ".ds-logs-web-000001"
    status, refused = await api_node.request("POST", "/logs-web/_doc", {"message": "no time"})
    assert status == 400 and refused["error"]["type"] == "mapper_parsing_exception"
