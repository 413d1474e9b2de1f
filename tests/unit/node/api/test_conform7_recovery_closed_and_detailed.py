"""``GET /{index}/_recovery``: a closed index's primaries are reported recovered from their
existing store (OpenSearch re-initializes them on close), and ``detailed=true`` adds the
``index.files.details`` list (empty: Quidditch's records keep no file names)."""

from __future__ import annotations


async def test_a_closed_index_primary_reports_an_existing_store_recovery(api_node):
    status, _ = await api_node.request("PUT", "/test_2", {"settings": {"number_of_replicas": 0}})
    assert status == 200
    await api_node.settle()
    status, body = await api_node.request("GET", "/test_2/_recovery")
    assert status == 200 and body["test_2"]["shards"][0]["type"] == "EMPTY_STORE"
    status, _ = await api_node.request("POST", "/test_2/_close")
    assert status == 200
    status, body = await api_node.request("GET", "/test_2/_recovery?human=true")
    assert status == 200
    shard = body["test_2"]["shards"][0]
    assert shard["type"] == "EXISTING_STORE" and shard["primary"] is True and shard["stage"] == "DONE"


async def test_a_detailed_recovery_lists_file_details(api_node):
    status, _ = await api_node.request("PUT", "/test_3", {"settings": {"number_of_replicas": 0}})
    assert status == 200
    await api_node.settle()
    status, body = await api_node.request("GET", "/test_3/_recovery?detailed=true")
    assert status == 200 and body["test_3"]["shards"][0]["index"]["files"]["details"] == []
    status, body = await api_node.request("GET", "/test_3/_recovery")
    assert "details" not in body["test_3"]["shards"][0]["index"]["files"]
