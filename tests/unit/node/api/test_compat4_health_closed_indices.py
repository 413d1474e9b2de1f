"""Cluster health counts closed indices (their copies stay allocated), as OpenSearch since 7.2,
and honours expand_wildcards (open, closed, all, none) for the indices it reports."""

from __future__ import annotations


async def test_a_closed_index_still_counts_in_health_and_expand_wildcards_selects_it(api_node):
    for name, shards in (("index-1", 1), ("index-2", 2)):
        await api_node.request("PUT", f"/{name}", {"settings": {"number_of_shards": shards, "number_of_replicas": 0}})
    await api_node.settle()
    await api_node.request("POST", "/index-2/_close")
    await api_node.settle()
    expected = {"open": (1, {"index-1"}), "closed": (2, {"index-2"}), "all": (3, {"index-1", "index-2"}),
                "none": (0, set())}
    for expand, (active, names) in expected.items():
        status, body = await api_node.request(
            "GET", f"/_cluster/health/index-*?level=indices&expand_wildcards={expand}")
        assert status == 200 and body["status"] == "green", (expand, body)
        assert body["active_shards"] == active and set(body["indices"]) == names, (expand, body)
    status, body = await api_node.request("GET", "/_cluster/health")
    assert body["active_shards"] == 3
