"""Index blocks (index.blocks.* settings and PUT /{index}/_block/{block}): writes and metadata
changes are refused with OpenSearch's 403 cluster_block_exception, a block can always be lifted,
and the cluster state shows them."""

from __future__ import annotations


async def _index(api_node, name="b"):
    await api_node.request("PUT", f"/{name}", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    await api_node.settle()


async def test_a_write_block_refuses_document_writes_until_it_is_lifted(api_node):
    await _index(api_node)
    status, body = await api_node.request("PUT", "/b/_block/write")
    assert status == 200 and body["indices"] == [{"name": "b", "blocked": True}]
    status, body = await api_node.request("PUT", "/b/_doc/1", {"a": 1})
    assert status == 403 and body["error"]["type"] == "cluster_block_exception"
    assert body["error"]["reason"] == "index [b] blocked by: [FORBIDDEN/8/index write (api)];"
    status, _ = await api_node.request("PUT", "/b/_settings", {"index.blocks.write": False})
    assert status == 200
    status, _ = await api_node.request("PUT", "/b/_doc/1", {"a": 1})
    assert status == 201


async def test_a_read_only_block_refuses_mapping_and_settings_changes_and_shows_in_the_cluster_state(api_node):
    await _index(api_node)
    status, _ = await api_node.request("PUT", "/b/_settings", {"index.blocks.read_only": True})
    assert status == 200
    status, body = await api_node.request("PUT", "/b/_mapping", {"properties": {"f": {"type": "keyword"}}})
    assert status == 403 and "[FORBIDDEN/5/index read-only (api)]" in body["error"]["reason"]
    status, body = await api_node.request("PUT", "/b/_settings", {"index.refresh_interval": "5s"})
    assert status == 403
    status, body = await api_node.request("GET", "/_cluster/state/blocks")
    assert body["blocks"] == {"indices": {"b": {"5": {"description": "index read-only (api)", "retryable": False,
                                                      "levels": ["write", "metadata_write"]}}}}
    status, _ = await api_node.request("PUT", "/b/_settings", {"index.blocks.read_only": False})
    assert status == 200
    status, body = await api_node.request("GET", "/_cluster/state/blocks")
    assert body["blocks"] == {}


async def test_a_read_only_allow_delete_block_still_lets_a_document_be_deleted(api_node):
    await _index(api_node)
    await api_node.request("PUT", "/b/_doc/1?refresh=true", {"a": 1})
    await api_node.request("PUT", "/b/_settings", {"index.blocks.read_only_allow_delete": True})
    status, _ = await api_node.request("PUT", "/b/_doc/2", {"a": 1})
    assert status == 429   # OpenSearch: TOO_MANY_REQUESTS/12 (the disk flood-stage block)
    status, body = await api_node.request("DELETE", "/b/_doc/1")
    assert status == 200 and body["result"] == "deleted"


async def test_cluster_state_lists_routing_nodes_and_names_the_manager_as_asked(api_node):
    await _index(api_node)
    status, body = await api_node.request("GET", "/_cluster/state/routing_nodes")
    assert set(body) >= {"routing_nodes"} and "routing_table" not in body
    copies = [entry for entries in body["routing_nodes"]["nodes"].values() for entry in entries]
    assert [(entry["index"], entry["shard"], entry["primary"]) for entry in copies] == [("b", 0, True)]
    status, body = await api_node.request("GET", "/_cluster/state/cluster_manager_node")
    assert "cluster_manager_node" in body and "master_node" not in body
