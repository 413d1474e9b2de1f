"""A node that dies holding the only copy of a shard gets that exact copy back as primary when it
returns: the master's failure detector fails the copy (red, never an empty primary), and the
returning node's report of what it holds on disk restores it (DESIGN §10)."""

import json
import urllib.request

import pytest

pytestmark = pytest.mark.integration


def call(base_url, method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base_url + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def test_a_returning_node_gets_its_only_copy_back_as_primary_with_its_documents(node_factory, wait_until):
    members = node_factory.start_cluster(3)
    first = members[0].base_url
    status, _ = call(first, "PUT", "/restore", {"settings": {"number_of_shards": 3, "number_of_replicas": 0}})
    assert status == 200
    assert call(first, "GET", "/_cluster/health?wait_for_status=green&timeout=60s")[1]["status"] == "green"
    for number in range(12):
        assert call(first, "PUT", f"/restore/_doc/{number}", {"n": number})[0] in (200, 201)
    master_name = call(first, "GET", "/_cat/master?format=json")[1][0]["node"]
    shards = call(first, "GET", "/_cat/shards?format=json")[1]
    victim = next(member for member in members
                  if member.flags["name"] != master_name
                  and any(shard["node"] == member.flags["name"] for shard in shards))
    survivor = next(member for member in members if member is not victim).base_url
    victim.kill()

    def victims_shards_unassigned():
        current = call(survivor, "GET", "/_cat/shards?format=json")[1]
        return any(shard["state"] == "UNASSIGNED" for shard in current)

    assert wait_until(victims_shards_unassigned, seconds=120), "a copy of the killed node never went UNASSIGNED"
    assert call(survivor, "GET", "/_cluster/health")[1]["status"] == "red"
    victim.start()
    health = call(survivor, "GET", "/_cluster/health?wait_for_status=green&timeout=90s")[1]
    assert health["status"] == "green"
    for number in range(12):
        status, document = call(survivor, "GET", f"/restore/_doc/{number}")
        assert status == 200 and document["_source"] == {"n": number}
