"""Snapshot and restore through opensearch-py on a real node: an fs repository under the node's
default ``path.repo`` (``<data>/snapshots``), a snapshot taken in the background and polled, the
index deleted, and a restore that brings back every document."""

import time

import pytest
from opensearchpy import helpers

pytestmark = pytest.mark.integration


def test_snapshot_delete_and_restore_with_opensearch_py(opensearch_client):
    client = opensearch_client
    client.indices.create(index="orders", body={"settings": {"number_of_shards": 2, "number_of_replicas": 0}})
    helpers.bulk(client, [{"_index": "orders", "_id": str(number), "_source": {"n": number}}
                          for number in range(500)], refresh=True)
    assert client.snapshot.create_repository(repository="nightly", body={"type": "fs",
                                                                       "settings": {"location": "nightly"}})
    assert client.snapshot.create(repository="nightly", snapshot="s1", body={"indices": "orders"}) == {"accepted": True}
    deadline = time.monotonic() + 60
    while client.snapshot.get(repository="nightly", snapshot="s1")["snapshots"][0]["state"] == "IN_PROGRESS":
        assert time.monotonic() < deadline, "the snapshot never finished"
        time.sleep(0.2)
    assert client.snapshot.get(repository="nightly", snapshot="s1")["snapshots"][0]["state"] == "SUCCESS"

    client.indices.delete(index="orders")
    restored = client.snapshot.restore(repository="nightly", snapshot="s1", wait_for_completion=True)
    assert restored["snapshot"]["indices"] == ["orders"]
    assert client.count(index="orders")["count"] == 500
    assert client.get(index="orders", id="321")["_source"] == {"n": 321}
