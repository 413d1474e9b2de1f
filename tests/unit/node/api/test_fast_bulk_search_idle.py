"""Search idle in the shard worker (node/workers/shard_service.py SearchIdle, ADR 0220): a copy
with no search for index.search.idle.after skips its periodic refresh until a search arrives,
which refreshes first; an explicit refresh_interval is always honoured."""

from __future__ import annotations

import logging

import orjson
import pytest

from node.workers import shard_service
from node.workers.registry import ShardRegistry

UUID = "idle-index"


@pytest.fixture
def worker(tmp_path, monkeypatch, manual_clock):
    clock = manual_clock
    clock.now = 1000.0
    monkeypatch.setattr(shard_service, "search_idle", shard_service.SearchIdle(clock))
    # the test drives maintenance itself: no background thread
    monkeypatch.setattr(shard_service, "_ensure_maintenance", lambda registry: None)
    registry = ShardRegistry(tmp_path, 0)
    yield registry, clock
    registry.close_all(logging.getLogger("test.search_idle"), flush=False)


def call(registry, method, shard_number=0, body=b"", **payload):
    payload = {"index_uuid": UUID, "shard_number": shard_number, **payload}
    return shard_service.SHARD_METHODS[method](registry, payload, body)


def open_and_write(registry, settings, documents=3, shard_number=0):
    call(registry, "open_shard", shard_number, settings=settings, mappings={}, mapping_version=1)
    sources = [orjson.dumps({"n": number}) for number in range(documents)]
    answer, _ = call(registry, "write", shard_number, b"".join(sources), primary_term=1, mapping_version=1,
                     columns={"actions": "index", "ids": [str(n) for n in range(documents)],
                              "lengths": [len(source) for source in sources]}, refresh="false")
    if "mapping_update" in answer:
        call(registry, "update_mapping", shard_number, mappings={"properties": {"n": {"type": "long"}}},
             mapping_version=2)
        answer, _ = call(registry, "write", shard_number, b"".join(sources), primary_term=1, mapping_version=2,
                         columns={"actions": "index", "ids": [str(n) for n in range(documents)],
                                  "lengths": [len(source) for source in sources]}, refresh="false")
    assert answer["results"]["errors"] == []
    return registry.get(UUID, shard_number)


def maintain(registry, shard_number=0):
    """One pass of the worker's maintenance thread over one shard, with the refresh interval due."""
    shard = registry.get(UUID, shard_number)
    shard_service.search_idle.before_maintenance(shard, (UUID, shard_number))
    shard._last_refresh_time = -1e9   # index/'s own clock says the interval has long passed
    shard.scheduled_maintenance()


def refreshed_documents(registry, shard_number=0) -> int:
    return registry.get(UUID, shard_number).statistics().doc_count


def test_a_recently_opened_copy_keeps_refreshing_periodically(worker):
    registry, clock = worker
    open_and_write(registry, {})
    clock.now += 29
    maintain(registry)
    assert refreshed_documents(registry) == 3
    assert call(registry, "stats")[0]["search_idle"] is False


def test_a_copy_without_searches_for_the_idle_period_skips_the_periodic_refresh(worker):
    registry, clock = worker
    open_and_write(registry, {})
    clock.now += 30.5
    maintain(registry)
    assert refreshed_documents(registry) == 0
    assert call(registry, "stats")[0]["search_idle"] is True


def test_a_search_on_an_idle_copy_refreshes_first_and_sees_every_write(worker):
    registry, clock = worker
    open_and_write(registry, {})
    clock.now += 31
    maintain(registry)
    answer, _ = call(registry, "count", query=None, now_millis=0)
    assert answer["count"] == 3
    assert call(registry, "stats")[0]["search_idle"] is False
    # active again: writes after the search are refreshed by the periodic refresh
    sources = [b'{"n": 10}']
    call(registry, "write", body=sources[0], primary_term=1, mapping_version=2,
         columns={"actions": "index", "ids": ["10"], "lengths": [len(sources[0])]}, refresh="false")
    maintain(registry)
    assert refreshed_documents(registry) == 4


def test_an_explicit_refresh_interval_is_always_honoured(worker):
    registry, clock = worker
    open_and_write(registry, {"index.refresh_interval": "1s"})
    clock.now += 3600
    maintain(registry)
    assert refreshed_documents(registry) == 3
    assert call(registry, "stats")[0]["search_idle"] is False


def test_the_idle_period_is_the_index_setting(worker):
    registry, clock = worker
    open_and_write(registry, {"index.search.idle.after": "5s"})
    clock.now += 6
    maintain(registry)
    assert refreshed_documents(registry) == 0


def test_new_settings_on_an_idle_copy_keep_the_refresh_held_off_until_a_search(worker):
    registry, clock = worker
    open_and_write(registry, {})
    clock.now += 31
    maintain(registry)
    call(registry, "update_settings", settings={"index.translog.durability": "async"})
    maintain(registry)
    assert refreshed_documents(registry) == 0
    assert registry.get(UUID, 0).settings.translog_durability == "async"
    call(registry, "count", query=None, now_millis=0)
    assert registry.get(UUID, 0).settings.refresh_interval_seconds == 1.0


def test_setting_an_explicit_interval_wakes_an_idle_copy(worker):
    registry, clock = worker
    open_and_write(registry, {})
    clock.now += 31
    maintain(registry)
    call(registry, "update_settings", settings={"index.refresh_interval": "2s"})
    assert registry.get(UUID, 0).settings.refresh_interval_seconds == 2.0
    assert call(registry, "stats")[0]["search_idle"] is False


def test_every_searching_method_is_a_worker_method_that_notes_searches():
    for name in shard_service.SEARCHING_METHODS:
        assert name in shard_service.SHARD_METHODS
        assert shard_service.SHARD_METHODS[name].__code__ is shard_service._noting_searches(lambda *a: None).__code__


def test_a_pit_opened_on_an_idle_copy_sees_every_write(worker):
    registry, clock = worker
    open_and_write(registry, {})
    clock.now += 31
    maintain(registry)
    answer, _ = call(registry, "open_reader_context", keep_alive_seconds=60.0, kind="pit")
    searcher = registry.get(UUID, 0).reader_context(answer["id"])
    assert sum(len(segment.live_docs()) for segment in searcher.segments) == 3
