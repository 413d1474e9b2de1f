"""A fourth node joins three voters through one member's transport port (``--join``), receives
shard copies by rebalancing, then leaves on SIGTERM: it is listed by _cat/nodes while it is a
member and not after, and no write acknowledged meanwhile is lost."""

import json
import threading
import time
import urllib.error
import urllib.request

import pytest
from opensearchpy import OpenSearch

pytestmark = pytest.mark.integration

INDEX = "joining"


def http(base_url, method, path, body=None):
    request = urllib.request.Request(base_url + path, data=None if body is None else json.dumps(body).encode(),
                                     method=method, headers={"content-type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def node_names(node):
    status, rows = http(node.base_url, "GET", "/_cat/nodes?format=json&h=name")
    assert status == 200, rows
    return {row["name"] for row in rows}


def shard_rows(node):
    status, rows = http(node.base_url, "GET", f"/_cat/shards/{INDEX}?format=json")
    assert status == 200, rows
    return rows




def wait_green(node, nodes_count):
    status, health = http(node.base_url, "GET", f"/_cluster/health?wait_for_status=green"
                          f"&wait_for_nodes={nodes_count}&wait_for_no_relocating_shards=true"
                          f"&wait_for_no_initializing_shards=true&timeout=90s")
    assert status == 200 and health["status"] == "green" and not health["timed_out"], health
    return health


class Indexer:
    """Indexes one document at a time through ``node`` until stopped; remembers acknowledged ids."""

    def __init__(self, node):
        self.client = OpenSearch(hosts=[node.base_url], timeout=60, max_retries=0)
        self.acknowledged = []
        self.stop_event = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        number = 0
        while not self.stop_event.is_set():
            document_id = f"doc-{number}"
            number += 1
            try:
                answer = self.client.index(index=INDEX, id=document_id, body={"n": number})
                if answer.get("result") in ("created", "updated"):
                    self.acknowledged.append(document_id)
            except Exception:  # noqa: BLE001 — not acknowledged: only acknowledged ids are checked
                pass
            time.sleep(0.02)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stop_event.set()
        self.thread.join(timeout=120)


def test_a_node_joins_through_a_members_transport_port_receives_copies_and_leaves_without_losing_writes(
        node_factory, wait_until):
    members = node_factory.start_cluster(3, prefix="join")
    status, body = http(members[0].base_url, "PUT", f"/{INDEX}", {
        "settings": {"number_of_shards": 3, "number_of_replicas": 1},
        "mappings": {"properties": {"n": {"type": "integer"}}}})
    assert status == 200, body
    wait_green(members[0], 3)

    with Indexer(members[0]) as indexer:
        # only a transport address and the secret: no --seed-hosts
        joiner = node_factory.start_node(
            "joiner", workers=1, join=members[1].ports["transport"]["address"],
            cluster_secret_file=members[0].flags["cluster-secret-file"])
        assert "seed-hosts" not in joiner.flags
        assert wait_until(lambda: "joiner" in node_names(members[0]), seconds=120), \
            "the joiner was never listed by _cat/nodes"
        assert wait_until(lambda: any(row["node"] == "joiner" and row["state"] == "STARTED"
                                      for row in shard_rows(members[0])), seconds=120), \
            "no copy started on the joiner"
        wait_green(members[0], 4)
        time.sleep(1.0)

        assert joiner.stop() == 0
        assert wait_until(lambda: "joiner" not in node_names(members[0]), seconds=120), \
            "the joiner stayed in _cat/nodes"
        wait_green(members[0], 3)
        time.sleep(1.0)
    log_lines = [json.loads(line) for line in joiner.log_path.read_text().splitlines() if line.strip()]
    messages = [line["message"] for line in log_lines]
    assert "learned the voters from a member" in messages
    assert {line["fields"]["role"] for line in log_lines if line["message"] == "raft status"} == {"read_only"}
    assert "left the cluster: deregistered" in messages

    acknowledged = indexer.acknowledged
    assert acknowledged, "nothing was acknowledged"
    assert not any(row["node"] == "joiner" for row in shard_rows(members[0]))
    status, _ = http(members[0].base_url, "POST", f"/{INDEX}/_refresh")
    assert status == 200
    for member in members:
        assert "joiner" not in node_names(member)
        status, found = http(member.base_url, "POST", f"/{INDEX}/_search",
                             {"size": 10000, "_source": False, "query": {"match_all": {}}})
        assert status == 200 and found["_shards"]["failed"] == 0, found
        missing = set(acknowledged) - {hit["_id"] for hit in found["hits"]["hits"]}
        assert not missing, f"on {member.flags['name']}: acknowledged writes missing: {sorted(missing)[:10]}"
