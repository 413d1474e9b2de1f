"""Disk watermarks on real nodes (raft.deciders, ADR 0350): a node whose disk passes the flood
stage gets every index it holds a copy of write-blocked (429, deletes still allowed), released on
its own once the disk is back below the high watermark; above the high watermark its copies move
to another node. The disk is the test-only QUIDDITCH_TEST_DISK_USAGE_FILE, rewritten meanwhile."""

import json
import time

import pytest
from opensearchpy import OpenSearch
from opensearchpy.exceptions import TransportError

pytestmark = pytest.mark.integration



def blocked(client):
    settings = client.indices.get_settings(index="logs", name="index.blocks.read_only_allow_delete")
    return settings["logs"]["settings"].get("index", {}).get("blocks", {}).get("read_only_allow_delete") == "true"


def test_the_flood_stage_blocks_writes_until_the_disk_frees_and_a_full_node_sheds_its_copies(
        node_factory, tmp_path, wait_until):
    disk_files = [tmp_path / f"disk-{number}.json" for number in range(2)]
    for disk_file in disk_files:
        disk_file.write_text(json.dumps({"used_percent": 40}))
    members = node_factory.start_cluster(2, per_node_environment=[
        {"QUIDDITCH_TEST_DISK_USAGE_FILE": str(disk_file)} for disk_file in disk_files])
    full_name = members[1].flags["name"]
    client = OpenSearch(hosts=[members[0].base_url], timeout=60, max_retries=0)
    client.indices.create(index="logs", body={"settings": {
        "number_of_shards": 1, "number_of_replicas": 0, "index.routing.allocation.require._name": full_name}})
    client.cluster.health(index="logs", params={"wait_for_status": "green", "timeout": "60s", "request_timeout": 70})
    client.index(index="logs", id="1", body={"n": 1})

    disk_files[1].write_text(json.dumps({"used_percent": 96}))
    assert wait_until(lambda: blocked(client))
    with pytest.raises(TransportError) as refused:
        client.index(index="logs", id="2", body={"n": 2})
    assert refused.value.status_code == 429 and refused.value.error == "cluster_block_exception"
    assert "flood-stage watermark" in str(refused.value.info)
    client.delete(index="logs", id="1")           # deletes free disk: they pass the block

    disk_files[1].write_text(json.dumps({"used_percent": 92}))
    time.sleep(3)                                  # several master rounds: above high, still blocked
    assert blocked(client)
    disk_files[1].write_text(json.dumps({"used_percent": 50}))
    assert wait_until(lambda: not blocked(client))
    client.index(index="logs", id="2", body={"n": 2}, params={"refresh": "true"})

    # above the high watermark the node sheds its copies (the filter no longer pins them there)
    client.indices.put_settings(index="logs", body={"index.routing.allocation.require._name": None})
    disk_files[1].write_text(json.dumps({"used_percent": 91}))
    other_name = members[0].flags["name"]
    assert wait_until(lambda: [row["node"] for row in client.cat.shards(index="logs", format="json")
                               if row["state"] == "STARTED"] == [other_name])
    client.indices.refresh(index="logs")
    assert client.count(index="logs")["count"] == 1

    # a replica cannot go to the full node: _cluster/allocation/explain says so on either node,
    # with the master's disk figures (the node asked need not be the master)
    client.indices.put_settings(index="logs", body={"index.number_of_replicas": 1})
    full_id = next(row["id"] for row in client.cat.nodes(format="json", params={"full_id": "true", "h": "id,name"})
                   if row["name"] == full_name)
    for member in members:
        asked = OpenSearch(hosts=[member.base_url], timeout=60, max_retries=0)
        explained = asked.cluster.allocation_explain(body={"index": "logs", "shard": 0, "primary": False},
                                                     params={"include_disk_info": "true"})
        assert explained["can_allocate"] == "no"
        decision = next(node for node in explained["node_allocation_decisions"] if node["node_name"] == full_name)
        disk = [decider for decider in decision["deciders"] if decider["decider"] == "disk_threshold"]
        assert disk and "above the high watermark" in disk[0]["explanation"]
        assert explained["cluster_info"]["nodes"][full_id]["least_available"]["used_disk_percent"] == 91.0
