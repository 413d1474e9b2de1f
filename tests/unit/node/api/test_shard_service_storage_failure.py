"""A shard whose fsync failed is failed by index/ (every later call refuses); the worker closes
and reopens it from its files, reports the failure, and later calls work again."""

from __future__ import annotations

import errno
import logging

import orjson
import pytest

from index import failpoints
from index.errors import StorageError
from node.workers import shard_service
from node.workers.registry import ShardRegistry


def key(payload=None):
    return {"index_uuid": "failing-uuid", "shard_number": 0, **(payload or {})}


@pytest.fixture
def registry(tmp_path):
    registry = ShardRegistry(tmp_path / "data", 0)
    shard_service.open_shard(registry, key({"settings": {"index.refresh_interval": "-1",
                                                         "index.translog.durability": "request"},
                                            "mappings": {"properties": {"n": {"type": "long"}}},
                                            "mapping_version": 1}), b"")
    yield registry
    failpoints.disarm_all()
    registry.close_all(logging.getLogger("test"), flush=False)


def write_one(registry, document_id, number):
    source = orjson.dumps({"n": number})
    return shard_service.SHARD_METHODS["write"](registry, key({
        "items": [["index", document_id, {"length": len(source)}]], "primary_term": 1, "mapping_version": 1}),
        source)


def test_a_failed_fsync_fails_the_call_and_the_next_call_finds_a_reopened_shard(registry):
    write_one(registry, "before", 1)
    failed_shard = registry.get("failing-uuid", 0)
    with failpoints.armed("translog.fsync", errno.EIO, times=1):
        with pytest.raises(StorageError):
            write_one(registry, "during", 2)
    assert registry.get("failing-uuid", 0) is not failed_shard
    answer, _ = write_one(registry, "after", 3)
    assert answer["results"][0]["result"] == "created"
    found = shard_service.SHARD_METHODS["get"](registry, key({"id": "before"}), b"")[0]
    assert found["found"] is True
    statistics, _ = shard_service.SHARD_METHODS["stats"](registry, key(), b"")
    assert statistics["storage_failures"] == 1
    assert "fsync" in statistics["last_storage_failure"] or "EIO" in statistics["last_storage_failure"] \
        or "Input/output" in statistics["last_storage_failure"]


def test_a_storage_error_that_did_not_fail_the_shard_reopens_nothing(registry):
    shard = registry.get("failing-uuid", 0)
    assert shard_service.reopen_if_failed(registry, ("failing-uuid", 0), StorageError("not a failure")) is False
    assert registry.get("failing-uuid", 0) is shard
