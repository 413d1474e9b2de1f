"""Scheduled maintenance bounds what a restart must replay (ADR 0290): it flushes when the local
checkpoint moved ``flush_threshold_operations`` past the last commit, when the uncommitted log
outgrew ``flush_threshold_bytes``, and when the shard was inactive for
``flush_after_inactive_seconds``; those flushes commit without making anything searchable."""

from __future__ import annotations

import orjson

from index.operations import IndexOperation, ReplicatedOperation
from index.shard import Shard, ShardSettings

NO_AUTOMATIC_FLUSH = dict(flush_threshold_operations=None, flush_after_inactive_seconds=None)


def open_shard(path, mapping, analysis, clock=None, **settings):
    settings = {"refresh_interval_seconds": None, **settings}
    return Shard.open(path, ShardSettings(**settings), mapping, analysis, clock=clock or (lambda: 0.0))


def index_documents(shard, first, count, term=1):
    operations = [IndexOperation(f"d{number}", orjson.dumps({"title": f"words {number}", "n": number}))
                  for number in range(first, first + count)]
    results = shard.apply_as_primary(operations, term)
    assert all(result.error is None for result in results)


def crash_and_reopen(shard, path, mapping, analysis, **settings):
    shard._translog.close_without_sync_for_tests()
    return open_shard(path, mapping, analysis, **settings)


def searchable_count(shard):
    return sum(len(segment.live_docs()) for segment in shard.acquire_searcher().segments)


def test_maintenance_flushes_once_the_checkpoint_moved_the_operation_threshold_past_the_commit(
        tmp_path, stub_mapping, stub_analysis):
    shard = open_shard(tmp_path, stub_mapping, stub_analysis, flush_threshold_operations=10,
                       flush_after_inactive_seconds=None)
    index_documents(shard, 0, 9)
    shard.scheduled_maintenance()
    assert shard.statistics().flush_total == 0
    index_documents(shard, 9, 1)
    shard.scheduled_maintenance()
    statistics = shard.statistics()
    assert statistics.flush_total == 1 and statistics.translog_uncommitted_operations == 0
    shard.scheduled_maintenance()
    assert shard.statistics().flush_total == 1, "a second tick with nothing new must not flush again"


def test_a_restart_replays_only_the_operations_since_the_last_threshold_flush(tmp_path, stub_mapping, stub_analysis):
    shard = open_shard(tmp_path, stub_mapping, stub_analysis, flush_threshold_operations=25,
                       flush_after_inactive_seconds=None)
    for first in range(0, 60, 5):
        index_documents(shard, first, 5)
        shard.scheduled_maintenance()
    assert shard.statistics().flush_total == 2
    reopened = crash_and_reopen(shard, tmp_path, stub_mapping, stub_analysis)
    # the 50 committed documents come back from segments; only the 10 after the last flush are replayed
    assert reopened.statistics().buffered_operations == 10
    assert reopened.local_checkpoint == 59
    assert all(reopened.get(f"d{number}") is not None for number in range(60))


def test_without_a_bound_every_operation_is_replayed(tmp_path, stub_mapping, stub_analysis):
    shard = open_shard(tmp_path, stub_mapping, stub_analysis, **NO_AUTOMATIC_FLUSH)
    for first in range(0, 60, 5):
        index_documents(shard, first, 5)
        shard.scheduled_maintenance()
    reopened = crash_and_reopen(shard, tmp_path, stub_mapping, stub_analysis)
    assert shard.statistics().flush_total == 0 and reopened.statistics().buffered_operations == 60


def test_a_maintenance_flush_commits_without_making_documents_searchable(tmp_path, stub_mapping, stub_analysis):
    shard = open_shard(tmp_path, stub_mapping, stub_analysis, flush_threshold_operations=5,
                       flush_after_inactive_seconds=None)
    index_documents(shard, 0, 5)
    shard.scheduled_maintenance()
    assert shard.statistics().flush_total == 1
    assert searchable_count(shard) == 0, "refresh_interval -1: only a refresh makes documents visible"
    assert shard.get("d3") is not None
    shard.refresh()
    assert searchable_count(shard) == 5
    reopened = crash_and_reopen(shard, tmp_path, stub_mapping, stub_analysis)
    assert reopened.statistics().buffered_operations == 0 and searchable_count(reopened) == 5


def test_an_explicit_flush_still_makes_documents_searchable(tmp_path, stub_mapping, stub_analysis):
    shard = open_shard(tmp_path, stub_mapping, stub_analysis, **NO_AUTOMATIC_FLUSH)
    index_documents(shard, 0, 3)
    shard.flush()
    assert searchable_count(shard) == 3


def test_an_inactive_shard_flushes_after_the_inactivity_time_and_only_once(tmp_path, stub_mapping, stub_analysis,
                                                                          manual_clock):
    clock = manual_clock
    shard = open_shard(tmp_path, stub_mapping, stub_analysis, clock=clock, flush_threshold_operations=None,
                       flush_after_inactive_seconds=30.0)
    index_documents(shard, 0, 3)
    shard.scheduled_maintenance()            # the first tick that sees the writes starts the clock
    clock.now = 20.0
    index_documents(shard, 3, 1)             # activity: the inactivity is counted from here on
    shard.scheduled_maintenance()
    clock.now = 49.0
    shard.scheduled_maintenance()
    assert shard.statistics().flush_total == 0
    clock.now = 50.5
    shard.scheduled_maintenance()
    assert shard.statistics().flush_total == 1 and shard.statistics().translog_uncommitted_operations == 0
    clock.now = 500.0
    shard.scheduled_maintenance()
    assert shard.statistics().flush_total == 1, "nothing new since the flush: no second flush"


def test_the_uncommitted_log_size_threshold_flushes_and_an_empty_log_never_loops(tmp_path, stub_mapping,
                                                                                 stub_analysis):
    shard = open_shard(tmp_path, stub_mapping, stub_analysis, flush_threshold_bytes=56, **NO_AUTOMATIC_FLUSH)
    shard.scheduled_maintenance()
    assert shard.statistics().flush_total == 0, "a log without records is below any threshold"
    index_documents(shard, 0, 2)
    shard.scheduled_maintenance()
    assert shard.statistics().flush_total == 1
    shard.scheduled_maintenance()
    shard.scheduled_maintenance()
    assert shard.statistics().flush_total == 1


def test_the_size_threshold_counts_only_the_log_since_the_last_commit(tmp_path, stub_mapping, stub_analysis):
    shard = open_shard(tmp_path, stub_mapping, stub_analysis, translog_retention_operations=1_000,
                       **NO_AUTOMATIC_FLUSH)
    index_documents(shard, 0, 50)
    shard.flush()                           # the retained generation stays on disk for recoveries
    retained_bytes = shard.statistics().translog_size_bytes
    shard.update_settings(ShardSettings(refresh_interval_seconds=None, translog_retention_operations=1_000,
                                        flush_threshold_bytes=retained_bytes // 2, **NO_AUTOMATIC_FLUSH))
    shard.scheduled_maintenance()
    assert shard.statistics().flush_total == 1, "retained, committed operations are not uncommitted"


def test_a_threshold_changed_by_update_settings_is_honoured_at_the_next_tick(tmp_path, stub_mapping, stub_analysis):
    shard = open_shard(tmp_path, stub_mapping, stub_analysis, **NO_AUTOMATIC_FLUSH)
    index_documents(shard, 0, 20)
    shard.scheduled_maintenance()
    assert shard.statistics().flush_total == 0
    shard.update_settings(ShardSettings(refresh_interval_seconds=None, flush_threshold_bytes=56,
                                        **NO_AUTOMATIC_FLUSH))
    shard.scheduled_maintenance()
    assert shard.statistics().flush_total == 1


def test_a_replica_whose_checkpoint_is_held_by_a_gap_does_not_flush_on_every_tick(tmp_path, stub_mapping,
                                                                                 stub_analysis):
    shard = open_shard(tmp_path, stub_mapping, stub_analysis, flush_threshold_operations=3,
                       flush_after_inactive_seconds=None)
    # seq_no 0 never arrives: the local checkpoint stays at -1 whatever comes above it
    shard.apply_as_replica([ReplicatedOperation("index", seq_no, 1, 1, f"r{seq_no}",
                                                orjson.dumps({"title": "late"})) for seq_no in range(1, 10)], 1)
    for _ in range(3):
        shard.scheduled_maintenance()
    assert shard.local_checkpoint == -1 and shard.statistics().flush_total == 0
    shard.apply_as_replica([ReplicatedOperation("index", 0, 1, 1, "r0", orjson.dumps({"title": "late"}))], 1)
    shard.scheduled_maintenance()
    assert shard.local_checkpoint == 9 and shard.statistics().flush_total == 1
