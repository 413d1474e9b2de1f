"""``_cluster/allocation/explain`` on a real node with opensearch-py: an assigned primary names its
node; an unassigned replica says why no node can take it; an explicit shard, an empty body and a
missing shard answer as OpenSearch does."""

import pytest
from opensearchpy import OpenSearch
from opensearchpy.exceptions import RequestError

pytestmark = pytest.mark.integration


@pytest.fixture
def client(fresh_node):
    opened = OpenSearch(hosts=[fresh_node.base_url], timeout=60, max_retries=0)
    yield opened
    opened.close()


def test_an_unassigned_replica_on_a_single_node_is_explained_by_the_same_shard_rule(client):
    with pytest.raises(RequestError) as nothing_unassigned:
        client.cluster.allocation_explain()
    assert "unable to find any unassigned shards to explain" in str(nothing_unassigned.value.info)

    client.indices.create(index="explained", body={"settings": {"number_of_shards": 1, "number_of_replicas": 1}})
    client.cluster.health(index="explained", wait_for_status="yellow")
    answer = client.cluster.allocation_explain(params={"include_disk_info": "true"})
    assert (answer["index"], answer["shard"], answer["primary"], answer["current_state"]) == \
        ("explained", 0, False, "unassigned")
    assert answer["unassigned_info"]["reason"] == "INDEX_CREATED" and answer["unassigned_info"]["at"]
    assert answer["can_allocate"] == "no"
    [decision] = answer["node_allocation_decisions"]
    assert decision["node_decision"] == "no"
    assert [decider["decider"] for decider in decision["deciders"]] == ["same_shard"]
    assert answer["cluster_info"]["nodes"]

    primary = client.cluster.allocation_explain(body={"index": "explained", "shard": 0, "primary": True})
    assert primary["current_state"] == "started"
    assert primary["current_node"]["name"] == client.nodes.info()["nodes"][primary["current_node"]["id"]]["name"]
    assert primary["can_remain_on_current_node"] == "yes"

    with pytest.raises(RequestError) as no_such_shard:
        client.cluster.allocation_explain(body={"index": "explained", "shard": 3, "primary": True})
    assert no_such_shard.value.error == "illegal_argument_exception"
