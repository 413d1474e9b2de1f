"""``index.auto_expand_replicas`` on real nodes: an index asks for one copy per data node within
its bounds, so it grows with the cluster and shrinks when a node is gone for good — and a
one-node cluster's ``0-1`` index (what OpenSearch Dashboards creates) is green, not yellow."""

import pytest
from opensearchpy import OpenSearch

pytestmark = pytest.mark.integration


def replicas_of(client, index):
    return client.indices.get_settings(index=index)[index]["settings"]["index"]["number_of_replicas"]


def test_a_one_node_cluster_s_0_1_index_is_green_with_no_replica(node_factory, wait_until):
    node = node_factory.start_node("single")
    client = OpenSearch(hosts=[node.base_url], timeout=60, max_retries=0)
    client.indices.create(index="dashboards", body={"settings": {"number_of_replicas": 1,
                                                                 "auto_expand_replicas": "0-1"}})
    health = client.cluster.health(index="dashboards", params={"wait_for_status": "green", "timeout": "30s", "request_timeout": 40})
    assert health["status"] == "green" and not health["timed_out"]
    assert replicas_of(client, "dashboards") == "0"


def test_0_all_grows_to_every_data_node_and_shrinks_when_one_is_gone(node_factory, wait_until):
    members = node_factory.start_cluster(3)
    client = OpenSearch(hosts=[members[0].base_url], timeout=60, max_retries=0)
    client.indices.create(index="lookup", body={"settings": {"number_of_shards": 1, "auto_expand_replicas": "0-all"}})
    health = client.cluster.health(index="lookup", params={"wait_for_status": "green", "timeout": "60s",
                                                           "request_timeout": 70})
    assert health["active_shards"] == 3 and not health["timed_out"]
    assert replicas_of(client, "lookup") == "2"
    client.index(index="lookup", id="1", body={"code": "x"}, params={"refresh": "true"})

    members[2].kill()
    # the dead node's copy fails, the node is deregistered, and the index asks for one replica
    assert wait_until(lambda: replicas_of(client, "lookup") == "1", seconds=90)
    health = client.cluster.health(index="lookup", params={"wait_for_status": "green", "timeout": "60s",
                                                           "request_timeout": 70})
    assert health["status"] == "green" and health["active_shards"] == 2
    assert client.get(index="lookup", id="1")["_source"] == {"code": "x"}
