"""Allocation filters on real nodes: ``--node-attr`` attributes, an index required on one kind of
node, and a settings change that moves the copies — documents intact — as OpenSearch's hot/warm
setups do (raft.deciders). Real nodes on loopback, driven with opensearch-py."""

import pytest
from opensearchpy import OpenSearch

pytestmark = pytest.mark.integration



def nodes_holding(client, index):
    return sorted(row["node"] for row in client.cat.shards(index=index, format="json") if row["state"] == "STARTED")


def test_an_index_follows_its_node_attribute_filter_from_warm_to_hot(node_factory, wait_until):
    members = node_factory.start_cluster(2, per_node_flags=[{"node-attr": "box_type=hot"},
                                                            {"node-attr": "box_type=warm,zone=b"}])
    hot, warm = (member.flags["name"] for member in members)
    client = OpenSearch(hosts=[members[0].base_url], timeout=60, max_retries=0)
    attributes = {(row["node"], row["attr"], row["value"]) for row in client.cat.nodeattrs(format="json")}
    assert {(hot, "box_type", "hot"), (warm, "box_type", "warm"), (warm, "zone", "b")} <= attributes

    client.indices.create(index="logs", body={"settings": {
        "number_of_shards": 2, "number_of_replicas": 0, "index.routing.allocation.require.box_type": "warm"}})
    client.cluster.health(index="logs", params={"wait_for_status": "green", "timeout": "60s", "request_timeout": 70})
    assert nodes_holding(client, "logs") == [warm, warm]
    for number in range(20):
        client.index(index="logs", id=str(number), body={"n": number})

    client.indices.put_settings(index="logs", body={"index.routing.allocation.require.box_type": "hot"})
    assert wait_until(lambda: nodes_holding(client, "logs") == [hot, hot]), client.cat.shards(index="logs")
    client.indices.refresh(index="logs")
    assert client.count(index="logs")["count"] == 20

    # a replica has nowhere to go: the only other node is excluded by the filter
    client.indices.put_settings(index="logs", body={"index.number_of_replicas": 1})
    explanation = client.cluster.allocation_explain(body={"index": "logs", "shard": 0, "primary": False})
    assert explanation["can_allocate"] == "no"
    reasons = [decider["explanation"] for node in explanation["node_allocation_decisions"]
               for decider in node.get("deciders", [])]
    assert any('filters [box_type:"hot"]' in reason for reason in reasons), explanation
