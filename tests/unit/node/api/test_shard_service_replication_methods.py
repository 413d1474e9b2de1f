"""Worker methods behind replication and recovery, on two in-process registries (primary and
replica): forwarded operations, history, file-based recovery, promotion and resync."""

from __future__ import annotations

import logging

import orjson
import pytest

from node.workers import shard_service
from node.workers.registry import ShardRegistry

MAPPINGS = {"properties": {"n": {"type": "long"}}}


def key(payload=None, uuid="idx-uuid"):
    return {"index_uuid": uuid, "shard_number": 0, **(payload or {})}


@pytest.fixture
def registries(tmp_path):
    primary = ShardRegistry(tmp_path / "primary", 0)
    replica = ShardRegistry(tmp_path / "replica", 0)
    for registry in (primary, replica):
        shard_service.open_shard(registry, key({"settings": {"index.translog.retention.operations": "0", "index.refresh_interval": "-1"},
                                                "mappings": MAPPINGS, "mapping_version": 1}), b"")
    yield primary, replica
    for registry in (primary, replica):
        registry.close_all(logging.getLogger("test"), flush=False)


def write(registry, numbers, term=1, replicate=True):
    sources = [orjson.dumps({"n": n}) for n in numbers]
    items = [["index", str(n), {"length": len(source)}] for n, source in zip(numbers, sources)]
    return shard_service.write(registry, key({"items": items, "primary_term": term, "mapping_version": 1,
                                              "replicate": replicate}), b"".join(sources))


def forward(answer, body, replica, **extra):
    replicated = answer["replicated"]
    length = sum(header[5] for header in replicated)
    return shard_service.apply_replica(replica, key({"operations": replicated, **extra}),
                                       body[len(body) - length:])


def documents(registry, ids):
    return {document_id: shard_service.get(registry, key({"id": document_id}), b"")[0]["found"]
            for document_id in ids}


def test_forwarded_operations_make_the_replica_equal_and_are_idempotent(registries):
    primary, replica = registries
    answer, body = write(primary, range(5))
    assert [header[1] for header in answer["replicated"]] == [0, 1, 2, 3, 4]
    assert forward(answer, body, replica)[0]["local_checkpoint"] == 4
    assert forward(answer, body, replica)[0]["local_checkpoint"] == 4   # a repeat changes nothing
    assert all(documents(replica, [str(n) for n in range(5)]).values())


def test_history_serves_operations_above_a_checkpoint(registries):
    primary, replica = registries
    write(primary, range(4))
    answer, body = shard_service.history(primary, key({"from_seq_no": 1}), b"")
    assert [header[1] for header in answer["operations"]] == [2, 3]
    shard_service.apply_replica(replica, key({"operations": answer["operations"]}), body)
    assert documents(replica, ["0", "2", "3"]) == {"0": False, "2": True, "3": True}


def test_file_based_recovery_installs_the_primarys_commit_and_history_follows(registries):
    primary, replica = registries
    write(primary, range(10))
    shard_service.flush(primary, key(), b"")
    write(primary, range(10, 13))
    begin, _ = shard_service.recovery_snapshot_begin(primary, key(), b"")
    try:
        first = True
        for name, size in begin["files"]:
            target_name = "commit.qcp" if name == begin["commit_file"] else name
            _, chunk = shard_service.recovery_file_chunk(
                primary, key({"snapshot_id": begin["snapshot_id"], "name": name, "offset": 0, "length": size}), b"")
            shard_service.recovery_write_chunk(
                replica, key({"target_name": target_name, "offset": 0, "reset": first}), chunk)
            first = False
        shard_service.recovery_install(replica, key({"settings": {}, "mappings": MAPPINGS, "mapping_version": 1}),
                                       b"")
        history, body = shard_service.history(primary, key({"from_seq_no": begin["local_checkpoint"]}), b"")
    finally:
        shard_service.recovery_snapshot_end(primary, key({"snapshot_id": begin["snapshot_id"]}), b"")
    shard_service.apply_replica(replica, key({"operations": history["operations"]}), body)
    assert all(documents(replica, [str(n) for n in range(13)]).values())
    assert shard_service.stats(replica, key(), b"")[0]["local_checkpoint"] == 12


def test_promotion_resyncs_and_drops_what_the_new_primary_never_had(registries):
    old_primary, new_primary = registries
    answer, body = write(old_primary, range(3))
    forward(answer, body, new_primary, global_checkpoint=2)
    # the old primary applied one more operation that never reached the new primary
    unacknowledged, _ = write(old_primary, [99])
    assert unacknowledged["results"][0]["_seq_no"] == 3
    promoted, history = shard_service.promote(new_primary, key({"primary_term": 2}), b"")
    assert promoted["global_checkpoint"] == 2 and promoted["operations"] == []
    shard_service.resync(old_primary, key({"global_checkpoint": promoted["global_checkpoint"],
                                           "operations": promoted["operations"]}), history)
    assert documents(old_primary, ["0", "1", "2", "99"]) == {"0": True, "1": True, "2": True, "99": False}
    after, _ = write(new_primary, [7], term=2)
    assert after["results"][0]["_primary_term"] == 2


def test_a_returning_copy_rolls_back_above_its_global_checkpoint_before_recovery(registries):
    primary, returning = registries
    answer, body = write(primary, range(3))
    forward(answer, body, returning, global_checkpoint=1)
    diverged, diverged_body = write(returning, [50], term=1)   # as if it had been a primary that lost its place
    prepared, _ = shard_service.prepare_recovery(returning, key(), b"")
    assert prepared == {"local_checkpoint": 1, "global_checkpoint": 1}
    assert documents(returning, ["0", "1", "2", "50"]) == {"0": True, "1": True, "2": False, "50": False}


def test_a_refreshing_write_is_searchable_on_the_replica_at_once(registries):
    primary, replica = registries
    answer, body = write(primary, range(3))
    forward(answer, body, replica)
    assert shard_service.stats(replica, key(), b"")[0]["doc_count"] == 0   # buffered, not yet refreshed
    answer, body = write(primary, range(3, 5))
    forward(answer, body, replica, refresh="true")
    assert shard_service.stats(replica, key(), b"")[0]["doc_count"] == 5


def test_a_forwarded_operation_keeps_its_custom_routing_on_the_replica(registries):
    primary, replica = registries
    source = orjson.dumps({"n": 7})
    answer, body = shard_service.write(primary, key({
        "items": [["index", "routed", {"length": len(source), "routing": "tenant-a"}]],
        "primary_term": 1, "mapping_version": 1, "replicate": True}), source)
    forward(answer, body, replica)
    for registry in (primary, replica):
        meta, _ = shard_service.get(registry, key({"id": "routed"}), b"")
        assert meta["found"] and meta["_routing"] == "tenant-a"
    shard_service.refresh(replica, key(), b"")
    meta, _ = shard_service.get(replica, key({"id": "routed", "realtime": False}), b"")
    assert meta["_routing"] == "tenant-a"
    history_answer, _ = shard_service.history(primary, key({"from_seq_no": -1}), b"")
    assert history_answer["operations"][0][7] == "tenant-a"


def test_operation_headers_without_routing_from_an_older_node_still_apply(registries):
    primary, replica = registries
    answer, body = write(primary, [1])
    old_headers = [header[:7] for header in answer["replicated"]]
    shard_service.apply_replica(replica, key({"operations": old_headers}), body[len(body) - old_headers[0][5]:])
    meta, _ = shard_service.get(replica, key({"id": "1"}), b"")
    assert meta["found"] and meta["_routing"] is None
