"""PUT _settings details found against OpenSearch's rest-api-spec (indices.put_settings)."""

from __future__ import annotations


async def refresh_interval(node, name):
    status, body = await node.request("GET", f"/{name}/_settings/index.refresh_interval?flat_settings=true")
    assert status == 200
    return body[name]["settings"].get("index.refresh_interval")


async def test_preserve_existing_only_adds_settings_an_index_does_not_have(api_node):
    for name in ("kept", "fresh"):
        await api_node.request("PUT", f"/{name}", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    await api_node.request("PUT", "/kept/_settings", {"index.refresh_interval": "2s"})
    status, body = await api_node.request("PUT", "/kept,fresh/_settings?preserve_existing=true",
                                          {"index.refresh_interval": "5s"})
    assert status == 200, body
    assert await refresh_interval(api_node, "kept") == "2s"
    assert await refresh_interval(api_node, "fresh") == "5s"


async def test_without_preserve_existing_settings_are_overwritten(api_node):
    await api_node.request("PUT", "/kept", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    await api_node.request("PUT", "/kept/_settings", {"index.refresh_interval": "2s"})
    await api_node.request("PUT", "/kept/_settings", {"index.refresh_interval": "5s"})
    assert await refresh_interval(api_node, "kept") == "5s"
