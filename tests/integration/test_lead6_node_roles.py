"""``--roles`` (OpenSearch's ``node.roles``): a coordinating-only node (no roles) joins, holds no
shard copy, and serves writes and searches for the cluster; roles show in _nodes and _cat/nodes."""

import pytest
from opensearchpy import OpenSearch

pytestmark = pytest.mark.integration



def test_a_coordinating_only_node_holds_no_copy_and_serves_the_cluster(node_factory, wait_until):
    members = node_factory.start_cluster(2, prefix="voter")
    coordinator = node_factory.start_node(
        "coordinator", workers=1, roles="", join=members[1].ports["transport"]["address"],
        cluster_secret_file=members[0].flags["cluster-secret-file"])
    client = OpenSearch(hosts=[members[0].base_url], timeout=60, max_retries=0)
    assert wait_until(lambda: client.cluster.health(params={"wait_for_nodes": "3", "timeout": "1s",
                                                            "request_timeout": 10})["number_of_nodes"] == 3)
    roles = {node["name"]: sorted(node["roles"]) for node in client.nodes.info()["nodes"].values()}
    assert roles == {"voter-0": ["cluster_manager", "data", "ingest"], "voter-1": ["cluster_manager", "data", "ingest"],
                     "coordinator": []}
    health = client.cluster.health()
    assert health["number_of_data_nodes"] == 2 and health["number_of_nodes"] == 3

    via_coordinator = OpenSearch(hosts=[coordinator.base_url], timeout=60, max_retries=0)
    via_coordinator.indices.create(index="logs", body={"settings": {"number_of_shards": 3, "number_of_replicas": 1}})
    via_coordinator.cluster.health(index="logs", params={"wait_for_status": "green", "timeout": "60s",
                                                         "request_timeout": 70})
    assert {row["node"] for row in client.cat.shards(index="logs", format="json")} == {"voter-0", "voter-1"}
    for number in range(10):
        via_coordinator.index(index="logs", id=str(number), body={"n": number})
    via_coordinator.indices.refresh(index="logs")
    assert via_coordinator.count(index="logs")["count"] == 10
