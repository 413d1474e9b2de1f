"""A primary's log keeps the operations its recovering and in-sync copies may still ask for (ADR 0226).

``Replication.retention_floor`` is the minimum of the global checkpoint and the seq_no each copy
registered as recovering asked history above; the primary's worker is told it through the
``set_retention_floor`` shard method, and ``Shard`` then keeps every operation above it when a
flush trims the log. The shard here is real (node/workers/shard_service.py over a temporary
directory) and keeps no operations below its checkpoint by its own settings, so only the floor
can keep them.
"""

import logging
from types import SimpleNamespace

import orjson
import pytest
import trio

from index.shard import OperationsNotRetainedError
from node.coordination.replication import Replication
from node.workers import shard_service
from node.workers.registry import ShardRegistry

INDEX_UUID = "retention-uuid"
KEY = (INDEX_UUID, 0)


class InProcessWorkers:
    def __init__(self, data_directory):
        self.registry = ShardRegistry(data_directory)

    async def call(self, index_uuid, shard_number, method, payload, body=b"", timeout_seconds=None):
        return shard_service.SHARD_METHODS[method](
            self.registry, {**payload, "index_uuid": index_uuid, "shard_number": shard_number}, body)


def primary_replication(tmp_path):
    workers = InProcessWorkers(tmp_path)
    context = SimpleNamespace(node_id="n1", workers=workers, logger=logging.getLogger("test.retention"),
                              metrics=None, background=None)
    local = SimpleNamespace(index_uuid=INDEX_UUID, shard_number=0, index_name="logs", primary=True, closed=False)
    return Replication(context, SimpleNamespace(local={KEY: local})), workers, local


async def open_shard_keeping_nothing_below_its_checkpoint(workers):
    await workers.call(INDEX_UUID, 0, "open_shard", {
        "settings": {"index.translog.retention.operations": "0", "index.refresh_interval": "-1"},
        "mappings": {"properties": {"n": {"type": "long"}}}, "mapping_version": 1})


async def write_and_flush(workers, first, count, flush=True):
    for number in range(first, first + count):
        source = orjson.dumps({"n": number})
        await workers.call(INDEX_UUID, 0, "write", {"items": [["index", f"doc-{number}", {"length": len(source)}]],
                                                    "mapping_version": 1, "primary_term": 1}, source)
    if flush:
        await workers.call(INDEX_UUID, 0, "flush", {})


def test_the_floor_is_the_lowest_of_the_global_checkpoint_and_each_registered_recoverys_start(tmp_path):
    replication, _, _ = primary_replication(tmp_path)
    assert replication.retention_floor(KEY) is None, "nothing known: the log trims by its own settings"
    replication.global_checkpoints[KEY] = 40
    assert replication.retention_floor(KEY) == 40
    replication.recovering[KEY] = {"r1", "r2"}
    replication.recovery_floors[KEY] = {"r1": 12, "r2": 55, "gone": 3}
    assert replication.retention_floor(KEY) == 12, "a copy no longer registered does not hold the log"
    replication.forget_recovery_floors(KEY, {"r2"})
    assert replication.recovery_floors[KEY] == {"r2": 55}
    assert replication.retention_floor(KEY) == 40


async def test_a_registered_recovery_keeps_the_history_it_started_from_across_flushes(tmp_path):
    replication, workers, _ = primary_replication(tmp_path)
    await open_shard_keeping_nothing_below_its_checkpoint(workers)
    await write_and_flush(workers, 0, 5, flush=False)
    # a copy holding seq_nos 0..2 registers and reads its history once (an attempt that may fail)
    answer, _ = await replication.handle_recover({"index_uuid": INDEX_UUID, "shard_number": 0,
                                                  "allocation_id": "r", "from_seq_no": 2}, b"")
    assert [header[1] for header in answer["operations"]] == [3, 4]
    for first in (5, 10, 15):
        await write_and_flush(workers, first, 5)
    # its retry still finds everything above seq_no 2 in the log
    history, _ = await workers.call(INDEX_UUID, 0, "history", {"from_seq_no": 2})
    assert [header[1] for header in history["operations"]] == list(range(3, 20))


async def test_without_a_floor_the_same_flushes_trim_that_history(tmp_path):
    """The control: what the floor keeps is really gone without it."""
    _, workers, _ = primary_replication(tmp_path)
    await open_shard_keeping_nothing_below_its_checkpoint(workers)
    for first in (0, 5, 10, 15):
        await write_and_flush(workers, first, 5)
    with pytest.raises(OperationsNotRetainedError):
        await workers.call(INDEX_UUID, 0, "history", {"from_seq_no": 2})


async def test_the_floor_is_pushed_when_it_changes_and_cleared_when_nothing_needs_it(tmp_path):
    replication, workers, local = primary_replication(tmp_path)
    await open_shard_keeping_nothing_below_its_checkpoint(workers)
    shard = workers.registry.get(INDEX_UUID, 0)
    await replication.push_retention_floor(local)
    assert shard._retention_floor is None
    replication.recovering[KEY] = {"r"}
    replication.recovery_floors[KEY] = {"r": 7}
    await replication.push_retention_floor(local)
    assert shard._retention_floor == 7
    replication.recovering[KEY] = set()
    replication.forget_recovery_floors(KEY, set())
    await replication.push_retention_floor(local)
    assert shard._retention_floor is None
    await trio.sleep(0)
