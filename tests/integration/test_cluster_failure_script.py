"""The failure script of the Go project Quidditch descends from, made stricter: every step is
done to nodes that hold data, and every read must return every acknowledged document from
every node (the original tolerated misses and only restarted a coordinating node)."""

import json
import time
import urllib.error
import urllib.request

import pytest

pytestmark = pytest.mark.integration

INDEX = "script"


def http(base_url, method, path, body=None):
    request = urllib.request.Request(base_url + path, data=None if body is None else json.dumps(body).encode(),
                                     method=method, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def green(node, nodes_count=3):
    status, health = http(node.base_url, "GET", f"/_cluster/health?wait_for_status=green&wait_for_nodes={nodes_count}"
                          "&wait_for_no_initializing_shards=true&timeout=90s")
    assert status == 200 and health["status"] == "green", health


def index_documents(node, first, count, acknowledged):
    for number in range(first, first + count):
        status, body = http(node.base_url, "PUT", f"/{INDEX}/_doc/d{number}?refresh=true", {"number": number})
        assert status in (200, 201), body  # the cluster is green here: every write must succeed
        acknowledged.append(f"d{number}")


def read_all_everywhere(nodes, acknowledged):
    for node in nodes:
        for document_id in acknowledged:
            status, body = http(node.base_url, "GET", f"/{INDEX}/_doc/{document_id}")
            assert status == 200 and body["found"], (node.flags["name"], document_id, body)
        status, found = http(node.base_url, "POST", f"/{INDEX}/_search", {"size": 1000, "_source": False})
        # the shard failures first: pytest truncates a long message, and they are the evidence
        assert status == 200 and found["_shards"]["failed"] == 0, (node.flags["name"],
                                                                   found.get("_shards", {}).get("failures"), found)
        assert {hit["_id"] for hit in found["hits"]["hits"]} == set(acknowledged), node.flags["name"]


def master_of(nodes):
    _, rows = http(nodes[0].base_url, "GET", "/_cat/master?format=json")
    return next(node for node in nodes if node.flags["name"] == rows[0]["node"])


def data_holder(nodes, avoid=None):
    _, rows = http(nodes[0].base_url, "GET", f"/_cat/shards/{INDEX}?format=json")
    names = [row["node"] for row in rows if row["prirep"] == "p"]
    candidates = [node for node in nodes if node is not avoid]
    return max(candidates, key=lambda node: names.count(node.flags["name"]))


def test_the_go_failure_script_made_stricter_loses_no_acknowledged_document(node_factory):
    nodes = node_factory.start_cluster(3, prefix="script")
    green(nodes[0])
    status, body = http(nodes[0].base_url, "PUT", f"/{INDEX}",
                        {"settings": {"number_of_shards": 3, "number_of_replicas": 1}})
    assert status == 200, body
    green(nodes[0])
    acknowledged = []
    index_documents(nodes[0], 0, 20, acknowledged)
    read_all_everywhere(nodes, acknowledged)

    # SIGKILL and restart a node (it coordinates AND holds primaries), read again
    target = data_holder(nodes)
    target.kill()
    target.start()
    green(target)
    read_all_everywhere(nodes, acknowledged)
    index_documents(target, 20, 10, acknowledged)

    # restart it 3 times (SIGKILL each time)
    for _ in range(3):
        target.kill()
        target.start()
        green(target)
    read_all_everywhere(nodes, acknowledged)

    # SIGKILL the master, restart it after 2 s
    master = master_of(nodes)
    master.kill()
    time.sleep(2.0)
    master.start()
    green(master)
    read_all_everywhere(nodes, acknowledged)
    index_documents(master, 30, 10, acknowledged)

    # 5 rapid restarts 0.5 s apart of a node holding primaries
    target = data_holder(nodes)
    for _ in range(5):
        target.kill()
        target.launch()
        time.sleep(0.5)
    target.wait_until_ready()
    for _ in range(5):
        green(nodes[0])
    read_all_everywhere(nodes, acknowledged)
