"""Broadcast actions on closed indices (refused by name, skipped with ignore_unavailable), the
cache-clear API (nothing to clear: every copy answers) and GET /_resolve/index/{name}."""

from __future__ import annotations


async def _index(api_node, name, **body):
    await api_node.request("PUT", f"/{name}", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}, **body})
    await api_node.settle()


async def test_a_refresh_of_a_closed_index_named_exactly_is_index_closed_unless_ignore_unavailable(api_node):
    await _index(api_node, "r1")
    await api_node.request("POST", "/r1/_close")
    status, body = await api_node.request("POST", "/r1/_refresh")
    assert status == 400 and body["error"]["type"] == "index_closed_exception"
    status, body = await api_node.request("POST", "/r1/_refresh?ignore_unavailable=true")
    assert status == 200 and body["_shards"]["total"] == 0
    status, body = await api_node.request("POST", "/_refresh")
    assert status == 200


async def test_clearing_caches_answers_for_every_started_copy(api_node):
    await _index(api_node, "c1")
    status, body = await api_node.request("POST", "/c1/_cache/clear")
    assert status == 200 and body["_shards"] == {"total": 1, "successful": 1, "failed": 0}


async def test_resolve_index_lists_matching_indices_and_aliases(api_node):
    await _index(api_node, "logs-1", aliases={"logs": {}})
    await _index(api_node, "other")
    status, body = await api_node.request("GET", "/_resolve/index/logs*")
    assert body == {"indices": [{"name": "logs-1", "aliases": ["logs"], "attributes": ["open"]}],
                    "aliases": [{"name": "logs", "indices": ["logs-1"]}], "data_streams": []}
