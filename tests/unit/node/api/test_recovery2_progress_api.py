"""``_recovery`` and ``_cat/recovery`` render the recovery records the nodes keep (type, stage,
files/bytes/operations, start/stop time, source/target), in OpenSearch's shapes."""

from __future__ import annotations

from node.coordination.replication import RecoveryProgress


def replication_of(api_node):
    # the Replication that registered the node's "recovery/progress" transport method
    return api_node.context.transport_handlers.handlers["recovery/progress"].__self__


async def test_cat_recovery_shows_a_new_primary_done_from_an_empty_store_with_its_start_and_stop(api_node):
    await api_node.request("PUT", "/rec", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    await api_node.settle()
    status, rows = await api_node.request(
        "GET", "/_cat/recovery/rec?format=json&h=index,shard,type,stage,start_time_millis,stop_time_millis,"
               "files_percent,translog_ops_percent,target_node,source_node")
    assert status == 200
    (row,) = rows
    assert (row["index"], row["shard"], row["type"], row["stage"]) == ("rec", "0", "empty_store", "done")
    assert int(row["stop_time_millis"]) >= int(row["start_time_millis"]) > 0
    assert (row["files_percent"], row["translog_ops_percent"]) == ("100.0%", "100.0%")
    assert (row["target_node"], row["source_node"]) == ("one", "n/a")


async def test_an_ongoing_peer_recovery_shows_its_progress_and_is_listed_by_active_only(api_node):
    await api_node.request("PUT", "/rec", {"settings": {"number_of_shards": 1, "number_of_replicas": 0}})
    await api_node.settle()
    replication = replication_of(api_node)
    (key, done) = next(iter(replication.recoveries.items()))
    # the record of a copy part-way through a file-based recovery (as handle_recovery_chunk and
    # recover() leave it): 3 of 4 files, 300 of 400 bytes copied, 5 of 10 operations replayed
    replication.recoveries[key] = RecoveryProgress(
        index_uuid=done.index_uuid, shard_number=0, allocation_id=done.allocation_id, primary=True,
        recovery_type="PEER", target_node_id=done.target_node_id, source_node_id=done.target_node_id,
        stage="TRANSLOG", files_total=4, files_recovered=3, bytes_total=400, bytes_recovered=300,
        operations_total=10, operations_recovered=5)
    _, body = await api_node.request("GET", "/rec/_recovery?active_only=true&human=true")
    (entry,) = body["rec"]["shards"]
    assert (entry["type"], entry["stage"]) == ("PEER", "TRANSLOG")
    assert entry["index"]["size"] == {"total_in_bytes": 400, "reused_in_bytes": 0, "recovered_in_bytes": 300,
                                      "percent": "75.0%"}
    assert entry["index"]["files"] == {"total": 4, "reused": 0, "recovered": 3, "percent": "75.0%"}
    assert (entry["translog"]["recovered"], entry["translog"]["total"], entry["translog"]["percent"]) == (
        5, 10, "50.0%")
    assert entry["source"]["name"] == "one" and entry["target"]["name"] == "one"
    assert "stop_time_in_millis" not in entry and entry["start_time"].endswith("Z")
    status, text = await api_node.request("GET", "/_cat/recovery?active_only=true&h=stage,bytes_percent,files")
    assert status == 200 and text.split() == ["translog", "75.0%", "4"]
