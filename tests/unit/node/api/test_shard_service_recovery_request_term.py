"""Worker methods fence replication, recovery and resync requests by the sending primary's term
(payload "primary_term"), never by the historic operations' own terms (ADR 0190)."""

from __future__ import annotations

import logging

import orjson
import pytest

from index.errors import StaleOperationError
from node.workers import shard_service
from node.workers.registry import ShardRegistry

MAPPINGS = {"properties": {"n": {"type": "long"}}}


def key(payload=None):
    return {"index_uuid": "term-uuid", "shard_number": 0, **(payload or {})}


@pytest.fixture
def registries(tmp_path):
    primary = ShardRegistry(tmp_path / "primary", 0)
    replica = ShardRegistry(tmp_path / "replica", 0)
    for registry in (primary, replica):
        shard_service.open_shard(registry, key({"settings": {"index.translog.retention.operations": "0",
                                                             "index.refresh_interval": "-1"},
                                                "mappings": MAPPINGS, "mapping_version": 1}), b"")
    yield primary, replica
    for registry in (primary, replica):
        registry.close_all(logging.getLogger("test"), flush=False)


def write(registry, numbers, term):
    sources = [orjson.dumps({"n": n}) for n in numbers]
    items = [["index", str(n), {"length": len(source)}] for n, source in zip(numbers, sources)]
    return shard_service.write(registry, key({"items": items, "primary_term": term, "mapping_version": 1,
                                              "replicate": True}), b"".join(sources))


def forward(answer, body, replica, **extra):
    replicated = answer["replicated"]
    length = sum(header[5] for header in replicated)
    return shard_service.apply_replica(replica, key({"operations": replicated, **extra}), body[len(body) - length:])


def found(registry, document_id):
    return shard_service.get(registry, key({"id": document_id}), b"")[0]["found"]


def test_recovery_history_of_term_one_applies_after_live_term_two_writes_reached_the_copy(registries):
    primary, replica = registries
    write(primary, range(3), term=1)            # history the recovering copy has not seen yet
    live, live_body = write(primary, [3], term=2)
    forward(live, live_body, replica, primary_term=2)   # a live write forwarded while recovering
    history, history_body = shard_service.history(primary, key({"from_seq_no": -1}), b"")
    assert {header[2] for header in history["operations"]} == {1, 2}
    answer, _ = shard_service.apply_replica(replica, key({"operations": history["operations"], "primary_term": 2}),
                                            history_body)
    assert answer["local_checkpoint"] == 3
    assert all(found(replica, str(n)) for n in range(4))


def test_a_replication_request_from_a_deposed_primary_is_rejected(registries):
    primary, replica = registries
    history, history_body = write(primary, [0], term=1)
    forward(history, history_body, replica, primary_term=3)   # sent by the term-3 primary
    deposed, deposed_body = write(primary, [1], term=2)       # the term-2 primary still writing
    with pytest.raises(StaleOperationError):
        forward(deposed, deposed_body, replica, primary_term=2)
    assert not found(replica, "1")


def test_resync_is_fenced_by_the_new_primarys_term(registries):
    primary, replica = registries
    write(primary, range(2), term=1)
    history, history_body = shard_service.history(primary, key({"from_seq_no": -1}), b"")
    shard_service.apply_replica(replica, key({"operations": history["operations"], "primary_term": 5}), history_body)
    with pytest.raises(StaleOperationError):
        shard_service.resync(replica, key({"global_checkpoint": -1, "operations": [], "primary_term": 4}), b"")
    # the stale resync was refused before its rollback: the copy still holds what it had
    assert found(replica, "0") and found(replica, "1")
