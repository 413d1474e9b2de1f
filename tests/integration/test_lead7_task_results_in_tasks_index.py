"""A ``wait_for_completion=false`` task's result outlives its node's memory, as OpenSearch keeps it
in the ``.tasks`` index: after the node that ran it restarts, ``GET _tasks/{id}`` still answers the
finished result (the index is hidden and, with ``auto_expand_replicas: 0-1``, green on one node)."""

import pytest
from opensearchpy import OpenSearch, helpers

pytestmark = pytest.mark.integration


def test_a_background_reindex_result_is_answered_after_its_node_restarts(node_factory):
    node = node_factory.start_node("tasks")
    client = OpenSearch(hosts=[node.base_url], timeout=60, max_retries=0)
    client.indices.create(index="source", body={"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    helpers.bulk(client, [{"_index": "source", "_id": str(number), "_source": {"n": number}}
                          for number in range(30)], refresh=True)
    task_id = client.reindex(body={"source": {"index": "source"}, "dest": {"index": "copy"}},
                             wait_for_completion=False, refresh=True)["task"]
    finished = client.tasks.get(task_id=task_id, params={"wait_for_completion": "true", "timeout": "60s",
                                                        "request_timeout": 70})
    assert finished["completed"] is True and finished["response"]["created"] == 30

    assert ".tasks" not in [row["index"] for row in client.cat.indices(format="json", h="index")]   # hidden
    assert ".tasks" in [row["index"] for row in client.cat.indices(format="json", h="index", expand_wildcards="all")]
    assert client.cluster.health(index=".tasks", params={"wait_for_status": "green", "timeout": "30s",
                                                         "request_timeout": 40})["status"] == "green"

    node.restart()
    client = OpenSearch(hosts=[node.base_url], timeout=60, max_retries=0)
    client.cluster.health(index=".tasks", params={"wait_for_status": "green", "timeout": "60s",
                                                  "request_timeout": 70})
    kept = client.tasks.get(task_id=task_id)
    assert kept["completed"] is True
    assert kept["task"]["action"] == "indices:data/write/reindex"
    assert kept["response"]["created"] == 30 and kept["response"]["failures"] == []
