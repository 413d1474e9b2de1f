"""``GET _nodes/analysis_components`` (OpenSearch 3.0): the analysis component names the node
knows, under OpenSearch's keys, and only when asked for (or with every metric)."""

from __future__ import annotations


async def test_the_analysis_components_metric_lists_the_built_in_components(api_node):
    status, body = await api_node.request("GET", "/_nodes/analysis_components")
    assert status == 200
    (node,) = body["nodes"].values()
    components = node["analysis_components"]
    assert set(components) == {"analyzers", "tokenizers", "tokenFilters", "charFilters", "normalizers", "plugins"}
    assert "standard" in components["analyzers"] and "whitespace" in components["tokenizers"]
    assert "lowercase" in components["tokenFilters"] and "html_strip" in components["charFilters"]
    assert components["normalizers"] == ["lowercase"] and components["plugins"] == []
    assert components["analyzers"] == sorted(components["analyzers"])
    assert "ingest" not in node


async def test_another_metric_leaves_the_analysis_components_out(api_node):
    status, body = await api_node.request("GET", "/_nodes/ingest")
    (node,) = body["nodes"].values()
    assert "analysis_components" not in node and "ingest" in node
