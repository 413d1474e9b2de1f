"""A forced flush that would not wait is refused (OpenSearch's FlushRequest.validate);
``_stats?human=true`` writes the get times readably (``time`` and ``getTime``, OpenSearch 3.0);
``_nodes/stats/indexing_pressure`` reports the write admission control's bytes and limit."""

from __future__ import annotations


async def test_a_forced_flush_without_waiting_if_ongoing_is_a_validation_error(api_node):
    status, _ = await api_node.request("PUT", "/test", {"settings": {"number_of_shards": 1}})
    assert status == 200
    status, error = await api_node.request("POST", "/test/_flush?force=true&wait_if_ongoing=false")
    assert status == 400 and error["error"]["type"] == "action_request_validation_exception"
    assert error["error"]["reason"] == "Validation Failed: 1: wait_if_ongoing must be true for a force flush;"
    status, body = await api_node.request("POST", "/test/_flush?force=true&wait_if_ongoing=true")
    assert status == 200 and body["_shards"]["failed"] == 0


async def test_human_stats_write_the_get_times_readably(api_node):
    status, _ = await api_node.request("PUT", "/test1", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    assert status == 200
    await api_node.settle()
    status, body = await api_node.request("GET", "/_stats/get?human=true")
    assert status == 200
    get = body["_all"]["primaries"]["get"]
    assert get["time"] == "0s" and get["getTime"] == "0s" and get["time_in_millis"] == 0
    status, body = await api_node.request("GET", "/_stats/get")
    assert "getTime" not in body["_all"]["primaries"]["get"]


async def test_indexing_pressure_reports_the_admission_bytes_and_limit(api_node):
    status, body = await api_node.request("GET", "/_nodes/stats/indexing_pressure")
    assert status == 200
    (node,) = body["nodes"].values()
    memory = node["indexing_pressure"]["memory"]
    assert memory["current"]["coordinating_in_bytes"] == 0 and memory["current"]["all_in_bytes"] == 0
    assert memory["limit_in_bytes"] == 256 * 1024 * 1024
    assert memory["total"]["coordinating_rejections"] == 0
    assert "thread_pool" not in node
