"""Answers in YAML for ``format=yaml`` or ``Accept: application/yaml``, as OpenSearch gives them
(the same values as the JSON answer); JSON otherwise."""

from __future__ import annotations

import yaml


async def test_an_accept_yaml_header_gets_the_document_in_yaml(api_node):
    status, _ = await api_node.request("PUT", "/test_1/_doc/1", {"body": "foo", "n": 1.5, "tags": ["a", "中文"]})
    assert status == 201
    response = await api_node.client.open("/test_1/_doc/1", method="GET", headers={"Accept": "application/yaml"})
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/yaml")
    text = (await response.get_data()).decode("utf-8")
    assert text.startswith("---\n")
    answer = yaml.safe_load(text)
    assert answer["_id"] == "1" and answer["found"] is True and answer["_version"] == 1
    assert answer["_source"] == {"body": "foo", "n": 1.5, "tags": ["a", "中文"]}


async def test_format_yaml_gets_yaml_and_the_default_stays_json(api_node):
    response = await api_node.client.open("/_cluster/health?format=yaml", method="GET")
    assert response.headers["Content-Type"].startswith("application/yaml")
    assert yaml.safe_load(await response.get_data())["cluster_name"] == "test-cluster"
    status, body = await api_node.request("GET", "/_cluster/health")
    assert status == 200 and body["cluster_name"] == "test-cluster"
