"""Two nodes: replicas recover from their primary, every write reaches both copies, and writes
coordinated by either node land on the primary wherever it lives."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

pytestmark = pytest.mark.integration


def http(base_url: str, method: str, path: str, body: bytes | None = None,
         content_type: str = "application/json") -> tuple[int, dict]:
    request = urllib.request.Request(base_url + path, data=body, method=method,
                                     headers={"Content-Type": content_type} if body is not None else {})
    try:
        with urllib.request.urlopen(request, timeout=90) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def bulk_body(index: str, start: int, count: int) -> bytes:
    lines = []
    for number in range(start, start + count):
        lines.append(json.dumps({"index": {"_index": index, "_id": str(number)}}))
        lines.append(json.dumps({"number": number, "text": f"word{number % 5}"}))
    return ("\n".join(lines) + "\n").encode()


def local_doc_count(base_url: str) -> int:
    _, stats = http(base_url, "GET", "/_nodes/_local/stats/indices")
    (node,) = stats["nodes"].values()
    return node["indices"]["docs"]["count"]


def test_replicas_recover_and_receive_every_write_on_two_nodes(node_factory):
    first, second = node_factory.start_cluster(2, prefix="replica")
    status, health = http(first.base_url, "GET", "/_cluster/health?wait_for_nodes=2&timeout=90s")
    assert status == 200, health
    status, body = http(first.base_url, "PUT", "/replicated", json.dumps(
        {"settings": {"number_of_shards": 2, "number_of_replicas": 1}}).encode())
    assert status == 200, body
    # documents written before the replicas exist are copied by recovery
    status, body = http(second.base_url, "POST", "/_bulk", bulk_body("replicated", 0, 100), "application/x-ndjson")
    assert status == 200 and body["errors"] is False, body
    status, health = http(first.base_url, "GET",
                          "/_cluster/health/replicated?wait_for_status=green&timeout=90s")
    assert status == 200 and health["status"] == "green", health
    # documents written afterwards are forwarded by the primaries, whichever node coordinates
    for coordinator, start in ((first, 100), (second, 200)):
        status, body = http(coordinator.base_url, "POST", "/_bulk", bulk_body("replicated", start, 100),
                            "application/x-ndjson")
        assert status == 200 and body["errors"] is False, body
        assert all(item["index"]["_shards"] == {"total": 2, "successful": 2, "failed": 0} for item in body["items"])
    status, refreshed = http(first.base_url, "POST", "/replicated/_refresh")
    assert refreshed["_shards"] == {"total": 4, "successful": 4, "failed": 0}
    # every document is on two copies: the nodes together hold 2 x 300
    assert local_doc_count(first.base_url) + local_doc_count(second.base_url) == 600
    _, shards = http(second.base_url, "GET", "/_cat/shards/replicated?format=json")
    assert sorted((row["shard"], row["prirep"]) for row in shards) == [("0", "p"), ("0", "r"), ("1", "p"), ("1", "r")]
    assert sum(int(row["docs"]) for row in shards) == 600  # replicas report their own documents
    for shard_number in ("0", "1"):
        nodes = {row["node"] for row in shards if row["shard"] == shard_number}
        assert len(nodes) == 2  # never two copies of one shard on one node
    for node in (first, second):
        status, got = http(node.base_url, "GET", "/replicated/_doc/250")
        assert status == 200 and got["_source"]["number"] == 250
    # a realtime GET served by the replica (preference) reads an unrefreshed write from the
    # replica's own log, with the routing the primary forwarded
    status, body = http(first.base_url, "PUT", "/replicated/_doc/fresh?routing=r1",
                        json.dumps({"number": -1}).encode())
    assert status == 201, body
    for node in (first, second):
        status, got = http(node.base_url, "GET", "/replicated/_doc/fresh?routing=r1&preference=_replica")
        assert status == 200 and got["_source"] == {"number": -1} and got["_routing"] == "r1", got


def test_a_lost_replica_is_failed_through_raft_before_the_ack_and_without_quorum_nothing_is_acknowledged(
        node_factory):
    members = node_factory.start_cluster(3, prefix="quorum")
    status, health = http(members[0].base_url, "GET", "/_cluster/health?wait_for_nodes=3&timeout=90s")
    assert status == 200, health
    status, _ = http(members[0].base_url, "PUT", "/_cluster/settings", json.dumps(
        {"persistent": {"quidditch.replication.copy_removal_timeout": "10s"}}).encode())
    assert status == 200
    status, body = http(members[0].base_url, "PUT", "/guarded", json.dumps(
        {"settings": {"number_of_shards": 1, "number_of_replicas": 2}}).encode())
    assert status == 200, body
    status, health = http(members[0].base_url, "GET", "/_cluster/health/guarded?wait_for_status=green&timeout=90s")
    assert status == 200, health
    _, shards = http(members[0].base_url, "GET", "/_cat/shards/guarded?format=json")
    primary_name = next(row["node"] for row in shards if row["prirep"] == "p")
    primary_node = next(member for member in members if member.flags["name"] == primary_name)
    replica_nodes = [member for member in members if member is not primary_node]

    replica_nodes[0].kill()
    status, body = http(primary_node.base_url, "PUT", "/guarded/_doc/1", b'{"a": 1}')
    assert status == 201, body
    assert body["_shards"] == {"total": 3, "successful": 2, "failed": 1}
    _, state = http(primary_node.base_url, "GET", "/_cluster/state/routing_table/guarded")
    copies = state["routing_table"]["indices"]["guarded"]["shards"]["0"]
    assert not any(copy["node"] == replica_nodes[0].ports["node_id"] and copy["state"] == "STARTED"
                   for copy in copies)

    replica_nodes[1].kill()  # one voter of three left: no quorum, so no copy can be failed
    status, body = http(primary_node.base_url, "PUT", "/guarded/_doc/2", b'{"a": 2}')
    assert status >= 500, body  # never acknowledged


def test_a_replica_added_after_the_log_was_trimmed_recovers_by_files(node_factory):
    first, second = node_factory.start_cluster(2, prefix="files")
    status, health = http(first.base_url, "GET", "/_cluster/health?wait_for_nodes=2&timeout=90s")
    assert status == 200, health
    status, body = http(first.base_url, "PUT", "/copied", json.dumps({"settings": {
        "number_of_shards": 1, "number_of_replicas": 0, "index.translog.retention.operations": 0}}).encode())
    assert status == 200, body
    status, body = http(first.base_url, "POST", "/_bulk", bulk_body("copied", 0, 300), "application/x-ndjson")
    assert status == 200 and body["errors"] is False
    status, _ = http(first.base_url, "POST", "/copied/_flush")
    assert status == 200
    # more writes after the commit: they must arrive as history on top of the copied files
    status, body = http(first.base_url, "POST", "/_bulk", bulk_body("copied", 300, 50), "application/x-ndjson")
    assert status == 200 and body["errors"] is False
    status, body = http(first.base_url, "PUT", "/copied/_settings", b'{"index": {"number_of_replicas": 1}}')
    assert status == 200, body
    status, health = http(first.base_url, "GET", "/_cluster/health/copied?wait_for_status=green&timeout=90s")
    assert status == 200 and health["status"] == "green", health
    status, refreshed = http(first.base_url, "POST", "/copied/_refresh")
    assert refreshed["_shards"]["successful"] == 2
    assert local_doc_count(first.base_url) == 350
    assert local_doc_count(second.base_url) == 350
    # the history was gone from the primary's log, so the copy must have come by files
    assert any("recovering by files" in member.log_path.read_text() for member in (first, second))


def test_losing_the_primary_promotes_an_in_sync_replica_that_lost_nothing(node_factory):
    import time

    members = node_factory.start_cluster(3, prefix="promote")
    status, health = http(members[0].base_url, "GET", "/_cluster/health?wait_for_nodes=3&timeout=90s")
    assert status == 200, health
    status, body = http(members[0].base_url, "PUT", "/promoted", json.dumps(
        {"settings": {"number_of_shards": 1, "number_of_replicas": 2}}).encode())
    assert status == 200, body
    status, health = http(members[0].base_url, "GET", "/_cluster/health/promoted?wait_for_status=green&timeout=90s")
    assert status == 200, health
    _, shards = http(members[0].base_url, "GET", "/_cat/shards/promoted?format=json")
    old_primary_name = next(row["node"] for row in shards if row["prirep"] == "p")
    old_primary = next(member for member in members if member.flags["name"] == old_primary_name)
    survivors = [member for member in members if member is not old_primary]
    status, body = http(survivors[0].base_url, "POST", "/_bulk", bulk_body("promoted", 0, 200), "application/x-ndjson")
    assert status == 200 and body["errors"] is False, body

    old_primary.kill()
    new_primary_name = None
    for _ in range(600):  # failure detection, then promotion: poll the survivors' view
        try:
            _, shards = http(survivors[0].base_url, "GET", "/_cat/shards/promoted?format=json")
        except OSError:
            shards = []
        started_primaries = [row["node"] for row in shards if row["prirep"] == "p" and row["state"] == "STARTED"]
        if started_primaries and started_primaries[0] != old_primary_name:
            new_primary_name = started_primaries[0]
            break
        time.sleep(0.1)
    assert new_primary_name in {member.flags["name"] for member in survivors}

    status, body = http(survivors[1].base_url, "POST", "/_bulk", bulk_body("promoted", 200, 100),
                        "application/x-ndjson")
    assert status == 200 and body["errors"] is False, body
    assert body["items"][0]["index"]["_primary_term"] >= 2
    http(survivors[0].base_url, "POST", "/promoted/_refresh")
    assert [local_doc_count(member.base_url) for member in survivors] == [300, 300]
