"""Index templates in one process: legacy _template, composable _index_template with component
templates, their precedence over each other and under the request's own body, auto-created
indices, _cat/templates, and the errors OpenSearch gives."""

from __future__ import annotations


async def _ok(api_node, method, path, body=None):
    status, answer = await api_node.request(method, path, body)
    assert status == 200, (path, answer)
    return answer


async def test_legacy_templates_apply_by_order_under_the_request_body(api_node):
    await _ok(api_node, "PUT", "/_template/low", {"index_patterns": ["logs-*"], "order": 0,
                                                  "settings": {"number_of_shards": 2, "refresh_interval": "5s"},
                                                  "mappings": {"properties": {"a": {"type": "keyword"}}},
                                                  "aliases": {"all-logs": {}}})
    await _ok(api_node, "PUT", "/_template/high", {"index_patterns": "logs-*", "order": 1,
                                                   "settings": {"index.refresh_interval": "7s"}})
    await _ok(api_node, "PUT", "/logs-1", {"settings": {"number_of_replicas": 0},
                                           "mappings": {"properties": {"b": {"type": "long"}}}})
    await api_node.settle()
    settings = (await _ok(api_node, "GET", "/logs-1/_settings?flat_settings=true"))["logs-1"]["settings"]
    assert settings["index.number_of_shards"] == "2" and settings["index.refresh_interval"] == "7s"
    assert settings["index.number_of_replicas"] == "0"
    properties = (await _ok(api_node, "GET", "/logs-1/_mapping"))["logs-1"]["mappings"]["properties"]
    assert properties["a"] == {"type": "keyword"} and properties["b"] == {"type": "long"}
    assert "all-logs" in (await _ok(api_node, "GET", "/logs-1/_alias"))["logs-1"]["aliases"]
    body = await _ok(api_node, "GET", "/_template/low")
    assert body["low"]["settings"] == {"index": {"number_of_shards": "2", "refresh_interval": "5s"}}
    assert body["low"]["index_patterns"] == ["logs-*"] and body["low"]["order"] == 0


async def test_an_auto_created_index_gets_the_matching_template(api_node):
    await _ok(api_node, "PUT", "/_template/auto", {"index_patterns": ["auto-*"],
                                                   "settings": {"number_of_shards": 3, "number_of_replicas": 0}})
    status, _ = await api_node.request("PUT", "/auto-1/_doc/1", {"x": 1})
    assert status == 201
    settings = (await _ok(api_node, "GET", "/auto-1/_settings"))["auto-1"]["settings"]["index"]
    assert settings["number_of_shards"] == "3"


async def test_the_highest_priority_composable_template_wins_with_its_components(api_node):
    await _ok(api_node, "PUT", "/_component_template/base", {"template": {
        "settings": {"number_of_replicas": 0}, "mappings": {"properties": {"c": {"type": "keyword"}}}}})
    await _ok(api_node, "PUT", "/_index_template/metrics", {"index_patterns": ["metrics-*"], "priority": 10,
                                                            "composed_of": ["base"],
                                                            "template": {"settings": {"number_of_shards": 2}}})
    await _ok(api_node, "PUT", "/_template/legacy", {"index_patterns": ["metrics-*"], "settings": {"number_of_shards": 5}})
    await _ok(api_node, "PUT", "/metrics-1")
    await api_node.settle()
    settings = (await _ok(api_node, "GET", "/metrics-1/_settings?flat_settings=true"))["metrics-1"]["settings"]
    assert settings["index.number_of_shards"] == "2" and settings["index.number_of_replicas"] == "0"
    body = await _ok(api_node, "GET", "/_index_template/metrics")
    assert body["index_templates"][0]["name"] == "metrics"
    assert body["index_templates"][0]["index_template"]["composed_of"] == ["base"]
    status, body = await api_node.request("PUT", "/_index_template/same", {"index_patterns": ["metrics-x*"],
                                                                          "priority": 10})
    assert status == 400 and "that have the same priority [10]" in body["error"]["reason"]
    status, body = await api_node.request("DELETE", "/_component_template/base")
    assert status == 400 and "still in use by index templates [metrics]" in body["error"]["reason"]


async def test_template_errors_follow_opensearch(api_node):
    status, body = await api_node.request("PUT", "/_template/bad", {"index_patterns": ["x*"],
                                                                    "settings": {"index.frobnicate": 1}})
    assert status == 400 and body["error"]["reason"].startswith("unknown setting [index.frobnicate]")
    status, body = await api_node.request("PUT", "/_template/none", {"settings": {}})
    assert status == 400 and body["error"]["reason"] == "Validation Failed: 1: index patterns are missing;"
    status, body = await api_node.request("DELETE", "/_template/absent")
    assert status == 404 and body["error"]["type"] == "index_template_missing_exception"
    status, body = await api_node.request("GET", "/_template/absent")
    assert status == 404 and body == {}
    status, body = await api_node.request("GET", "/_index_template/absent")
    assert status == 404 and body["error"]["type"] == "resource_not_found_exception"
    status, body = await api_node.request("PUT", "/_index_template/t", {"index_patterns": ["t*"], "composed_of": ["nope"]})
    assert status == 400 and body["error"]["type"] == "invalid_index_template_exception"


async def test_cat_templates_lists_both_kinds(api_node):
    await _ok(api_node, "PUT", "/_template/test", {"index_patterns": ["test-*"], "order": 0, "version": 1})
    await _ok(api_node, "PUT", "/_component_template/foo", {"template": {"settings": {"number_of_replicas": 0}}})
    await _ok(api_node, "PUT", "/_index_template/testv2", {"index_patterns": ["v2-test"], "priority": 4, "version": 3,
                                                           "composed_of": ["foo"]})
    status, text = await api_node.request("GET", "/_cat/templates?v=true")
    lines = text.splitlines()
    assert lines[0].split() == ["name", "index_patterns", "order", "version", "composed_of"]
    assert lines[1].split() == ["test", "[test-*]", "0", "1"]
    assert lines[2].split() == ["testv2", "[v2-test]", "4", "3", "[foo]"]


async def test_the_cluster_state_lists_legacy_templates_and_hides_them_from_settings(api_node):
    await _ok(api_node, "PUT", "/_template/shown", {"index_patterns": ["s-*"], "settings": {"number_of_shards": 1}})
    state = await _ok(api_node, "GET", "/_cluster/state/metadata")
    assert state["metadata"]["templates"]["shown"]["index_patterns"] == ["s-*"]
    assert state["metadata"]["persistent_settings"] == {}
    assert (await _ok(api_node, "GET", "/_cluster/settings"))["persistent"] == {}


async def test_simulating_an_index_shows_the_winning_template_and_the_overlapping_ones(api_node):
    await _ok(api_node, "PUT", "/_template/v1", {"index_patterns": ["t*"], "settings": {"number_of_shards": 5}})
    await _ok(api_node, "PUT", "/_index_template/low", {"index_patterns": ["te*"], "priority": 1,
                                                        "template": {"settings": {"number_of_shards": 3}}})
    await _ok(api_node, "PUT", "/_index_template/high", {"index_patterns": ["te*"], "priority": 2,
                                                         "template": {"settings": {"number_of_shards": 1}}})
    body = await _ok(api_node, "POST", "/_index_template/_simulate_index/test")
    assert body["template"]["settings"]["index"]["number_of_shards"] == "1"
    assert [entry["name"] for entry in body["overlapping"]] == ["v1", "low"]
    assert await _ok(api_node, "POST", "/_index_template/_simulate_index/nothing-matches") == {}
