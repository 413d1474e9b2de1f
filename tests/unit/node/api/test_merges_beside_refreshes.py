"""The worker's merges run on a thread of their own (node/workers/shard_service.py
merge_every_shard), beside the refreshes (maintain_every_shard): an idle merge of a 333k-document
copy takes ~8 s, and writes made meanwhile must become searchable at the refresh interval, on that
shard and on every other shard of the worker."""

from __future__ import annotations

import logging
import threading

import orjson
import pytest

import index.shard as shard_module
from node.workers import shard_service
from node.workers.registry import ShardRegistry

UUID = "merging-index"
SETTINGS = {"index.refresh_interval": "1s"}


@pytest.fixture
def registry(tmp_path, monkeypatch):
    # the test drives both loops' bodies itself: no background threads
    monkeypatch.setattr(shard_service, "_ensure_maintenance", lambda registry: None)
    registry = ShardRegistry(tmp_path, 0)
    yield registry
    registry.close_all(logging.getLogger("test.merges"), flush=False)


def call(registry, method, shard_number, body=b"", **payload):
    return shard_service.SHARD_METHODS[method](registry, {"index_uuid": UUID, "shard_number": shard_number,
                                                          **payload}, body)


def write(registry, shard_number, first, count):
    sources = [orjson.dumps({"title": f"words {number}"}) for number in range(first, first + count)]
    answer, _ = call(registry, "write", shard_number, b"".join(sources), primary_term=1, mapping_version=1,
                     columns={"actions": "index", "ids": [str(n) for n in range(first, first + count)],
                              "lengths": [len(source) for source in sources]}, refresh="false")
    assert answer["results"]["errors"] == []


def refresh_due(registry):
    for shard in registry.shards.values():
        shard._last_refresh_time = -1e9     # index/'s own clock says the interval has long passed


def searchable(registry, shard_number) -> int:
    return registry.get(UUID, shard_number).statistics().doc_count


def test_refreshes_go_on_while_a_merge_is_being_built(registry, monkeypatch):
    mappings = {"properties": {"title": {"type": "text"}}}
    for shard_number in (0, 1):
        call(registry, "open_shard", shard_number, settings=SETTINGS, mappings=mappings, mapping_version=1)
    for first in range(0, 40, 4):               # ten small segments on shard 0: the tiered policy merges
        write(registry, 0, first, 4)
        refresh_due(registry)
        shard_service.maintain_every_shard(registry)
    assert searchable(registry, 0) == 40

    merge_started, merge_may_finish = threading.Event(), threading.Event()
    real_merge_segments = shard_module.merge_segments

    def slow_merge_segments(parts, should_stop):
        merge_started.set()
        assert merge_may_finish.wait(10)
        return real_merge_segments(parts, should_stop)

    monkeypatch.setattr(shard_module, "merge_segments", slow_merge_segments)
    merging = threading.Thread(target=shard_service.merge_every_shard, args=(registry,))
    merging.start()
    try:
        assert merge_started.wait(10)
        write(registry, 0, 100, 5)              # the merging shard
        write(registry, 1, 200, 7)              # another shard of the same worker
        refresh_due(registry)
        shard_service.maintain_every_shard(registry)      # returns while the merge is still built
        assert merging.is_alive()
        assert (searchable(registry, 0), searchable(registry, 1)) == (45, 7)
    finally:
        merge_may_finish.set()
        merging.join(10)
    assert registry.get(UUID, 0).statistics().merge_total >= 1
    assert searchable(registry, 0) == 45


def test_maintenance_alone_never_merges(registry):
    call(registry, "open_shard", 0, settings=SETTINGS, mappings={"properties": {"title": {"type": "text"}}},
         mapping_version=1)
    for first in range(0, 48, 4):
        write(registry, 0, first, 4)
        refresh_due(registry)
        shard_service.maintain_every_shard(registry)
    assert registry.get(UUID, 0).statistics().merge_total == 0
    shard_service.merge_every_shard(registry)
    assert registry.get(UUID, 0).statistics().merge_total == 1
