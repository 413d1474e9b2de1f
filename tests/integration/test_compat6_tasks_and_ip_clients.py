"""The tasks API and the ip field through the official clients on real node processes:
opensearch-py's reindex / delete_by_query / update_by_query with wait_for_completion=False and
tasks.get / tasks.list / tasks.cancel; ip mappings (term and CIDR, range, sort, terms and
ip_range aggregations, cardinality, a malformed address, ignore_malformed, null_value); and on
two nodes, a task started on one node read and cancelled through the other."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.integration

SETTINGS = {"settings": {"number_of_shards": 2, "number_of_replicas": 0}}
TASK_ID = re.compile(r"^[^:]+:\d+$")
# a script that keeps each document busy for a while (the painless interpreter runs every
# iteration), so a reindex of one document per batch runs long enough to be cancelled mid-way
SLOW_SCRIPT = "for (int i = 0; i < 20000; i++) { ctx._source.spin = i }"


def _post_ndjson(base_url: str, path: str, data: bytes) -> tuple[int, dict]:
    import json
    import urllib.request

    request = urllib.request.Request(base_url + path, data=data, method="POST",
                                     headers={"Content-Type": "application/x-ndjson"})
    with urllib.request.urlopen(request, timeout=120) as response:
        return response.status, json.loads(response.read())


def test_opensearch_py_reindex_and_by_query_as_tasks(opensearch_client):
    from opensearchpy import helpers

    client = opensearch_client
    client.indices.create(index="task-source", body=SETTINGS)
    helpers.bulk(client, [{"_index": "task-source", "_id": str(number), "_source": {"n": number}}
                          for number in range(20)], refresh=True)
    started = client.reindex(body={"source": {"index": "task-source"}, "dest": {"index": "task-dest"}},
                             wait_for_completion=False, refresh=True)
    assert set(started) == {"task"} and TASK_ID.match(started["task"])
    result = client.tasks.get(task_id=started["task"], wait_for_completion=True)
    assert result["completed"] is True and result["response"]["created"] == 20
    assert result["task"]["action"] == "indices:data/write/reindex"
    assert result["task"]["status"]["total"] == 20
    assert client.count(index="task-dest")["count"] == 20

    started = client.delete_by_query(index="task-dest", body={"query": {"range": {"n": {"lt": 5}}}},
                                     wait_for_completion=False, refresh=True, scroll_size=2)
    result = client.tasks.get(task_id=started["task"], wait_for_completion=True)
    assert result["response"]["deleted"] == 5 and result["response"]["batches"] == 3
    assert client.count(index="task-dest")["count"] == 15

    started = client.update_by_query(index="task-dest", wait_for_completion=False)
    result = client.tasks.get(task_id=started["task"], wait_for_completion=True)
    assert result["response"]["updated"] == 15

    listed = client.tasks.list(actions="cluster:monitor/tasks/lists", group_by="none")
    assert [task["action"] for task in listed["tasks"]] == ["cluster:monitor/tasks/lists"]
    cancelled = client.tasks.cancel(task_id=started["task"])   # long finished: OpenSearch's "is missing"
    assert cancelled["node_failures"][0]["caused_by"]["type"] == "resource_not_found_exception"

    from opensearchpy.exceptions import NotFoundError, RequestError

    with pytest.raises(NotFoundError):
        client.tasks.get(task_id="gone-node:12")
    with pytest.raises(RequestError):
        client.tasks.get(task_id="no-colon-here")


def test_opensearch_py_ip_fields(opensearch_client):
    client = opensearch_client
    client.indices.create(index="hosts", body={"mappings": {"properties": {
        "address": {"type": "ip"},
        "lenient": {"type": "ip", "ignore_malformed": True},
        "defaulted": {"type": "ip", "null_value": "0.0.0.0"}}}})
    addresses = ["10.0.0.1", "10.0.0.200", "192.168.1.7", "::1", "2001:db8::5"]
    for number, address in enumerate(addresses):
        client.index(index="hosts", id=str(number), body={"address": address, "defaulted": None})
    client.index(index="hosts", id="bad", body={"lenient": "not-an-ip"}, refresh=True)

    def ids(query, **extra):
        answer = client.search(index="hosts", body={"query": query, "size": 20, **extra})
        return [hit["_id"] for hit in answer["hits"]["hits"]]

    assert ids({"term": {"address": "10.0.0.0/24"}}, sort=[{"address": "asc"}]) == ["0", "1"]
    assert ids({"term": {"address": "::ffff:10.0.0.1"}}) == ["0"]
    assert ids({"terms": {"address": ["192.168.0.0/16", "::1"]}}, sort=[{"address": "asc"}]) == ["3", "2"]
    assert ids({"range": {"address": {"gt": "10.0.0.1", "lte": "192.168.1.7"}}}, sort=[{"address": "asc"}]) == \
        ["1", "2"]
    answer = client.search(index="hosts", body={"query": {"exists": {"field": "address"}}, "size": 20,
                                                "sort": [{"address": "desc"}], "docvalue_fields": ["address"]})
    assert [hit["fields"]["address"] for hit in answer["hits"]["hits"]] == \
        [["2001:db8::5"], ["192.168.1.7"], ["10.0.0.200"], ["10.0.0.1"], ["::1"]]
    assert answer["hits"]["hits"][0]["_source"]["address"] == "2001:db8::5"
    assert ids({"term": {"defaulted": "0.0.0.0"}}, sort=[{"address": "asc"}]) == ["3", "0", "1", "2", "4"]

    answer = client.search(index="hosts", body={"size": 0, "aggs": {
        "by_address": {"terms": {"field": "address", "order": {"_key": "asc"}}},
        "blocks": {"ip_range": {"field": "address", "ranges": [{"to": "10.0.0.100"}, {"mask": "10.0.0.0/8"},
                                                               {"from": "192.168.0.0"}]}},
        "distinct": {"cardinality": {"field": "address"}},
        "counted": {"value_count": {"field": "address"}}}})
    aggregations = answer["aggregations"]
    assert [bucket["key"] for bucket in aggregations["by_address"]["buckets"]] == \
        ["::1", "10.0.0.1", "10.0.0.200", "192.168.1.7", "2001:db8::5"]
    blocks = aggregations["blocks"]["buckets"]
    assert [(bucket["key"], bucket["doc_count"]) for bucket in blocks] == \
        [("*-10.0.0.100", 2), ("10.0.0.0/8", 2), ("192.168.0.0-*", 2)]
    assert aggregations["distinct"]["value"] == 5 and aggregations["counted"]["value"] == 5

    from opensearchpy.exceptions import RequestError

    with pytest.raises(RequestError) as failed:
        client.index(index="hosts", id="x", body={"address": "300.1.1.1"})
    assert failed.value.info["error"]["type"] == "mapper_parsing_exception"
    client.index(index="auto-typed", id="1", body={"address": "10.0.0.1"})
    mapping = client.indices.get_mapping(index="auto-typed")
    assert mapping["auto-typed"]["mappings"]["properties"]["address"]["type"] == "text"   # never inferred as ip


def test_a_task_started_on_one_node_is_read_and_cancelled_through_another(node_factory, call):
    first, second = node_factory.start_cluster(2, prefix="tasks")
    status, body = call(first.base_url, "PUT", "/spread", {"settings": {"number_of_shards": 2,
                                                                        "number_of_replicas": 0}})
    assert status == 200, body
    lines = "".join(f'{{"index":{{"_id":"{number}"}}}}\n{{"n":{number}}}\n' for number in range(100))
    status, body = _post_ndjson(first.base_url, "/spread/_bulk?refresh=true", lines.encode())
    assert status == 200 and body["errors"] is False, body
    status, first_info = call(first.base_url, "GET", "/_nodes/_local")
    first_node_id = next(iter(first_info["nodes"]))

    status, started = call(first.base_url, "POST", "/_reindex?wait_for_completion=false", {
        "source": {"index": "spread", "size": 1}, "dest": {"index": "spread-copy"}, "script": SLOW_SCRIPT})
    assert status == 200 and started["task"].startswith(f"{first_node_id}:"), started
    task_id = started["task"]

    status, listed = call(second.base_url, "GET", "/_tasks?actions=*reindex&detailed=true")
    assert status == 200 and task_id in listed["nodes"][first_node_id]["tasks"], listed
    assert listed["nodes"][first_node_id]["tasks"][task_id]["status"]["total"] < 100

    status, cancelled = call(second.base_url, "POST", f"/_tasks/{task_id}/_cancel")
    assert status == 200 and cancelled["nodes"][first_node_id]["tasks"][task_id]["cancelled"] is True, cancelled

    status, result = call(second.base_url, "GET", f"/_tasks/{task_id}?wait_for_completion=true&timeout=60s")
    assert status == 200 and result["completed"] is True, result
    assert result["response"]["canceled"] == "by user request" and result["response"]["total"] < 100, result
    assert result["task"]["cancelled"] is True

    status, missing = call(second.base_url, "GET", f"/_tasks/{first_node_id}:999999")
    assert status == 404 and missing["error"]["type"] == "resource_not_found_exception"
