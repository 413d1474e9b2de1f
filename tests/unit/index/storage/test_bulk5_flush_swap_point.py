"""The maintenance flush commits the shard as it was when it took the buffer (ADR 0315): writes that
arrive while its segment builds stay in the next buffer and in the log above the committed
checkpoint, instead of becoming a second segment built under the writer lock; a crash right after
still loses nothing. A due refresh that finds ``flush_at_refresh_operations`` uncommitted commits
its segment too; between refreshes only ``flush_threshold_operations`` flushes."""

from __future__ import annotations

import orjson

import index.shard as shard_module
from index.operations import DeleteOperation, IndexOperation
from index.shard import Shard, ShardSettings


def open_shard(path, mapping, analysis, clock=None, **settings):
    settings = {"refresh_interval_seconds": None, "flush_after_inactive_seconds": None, **settings}
    return Shard.open(path, ShardSettings(**settings), mapping, analysis, clock=clock or (lambda: 0.0))


def index_documents(shard, first, count, title="words"):
    operations = [IndexOperation(f"d{number}", orjson.dumps({"title": f"{title} {number}", "n": number}))
                  for number in range(first, first + count)]
    results = shard.apply_as_primary(operations, 1)
    assert all(result.error is None for result in results)


def crash_and_reopen(shard, path, mapping, analysis, **settings):
    shard._translog.close_without_sync_for_tests()
    return open_shard(path, mapping, analysis, **settings)


def test_writes_during_the_flush_build_stay_buffered_and_the_commit_is_of_the_instant_the_buffer_was_taken(
        tmp_path, stub_mapping, stub_analysis, monkeypatch):
    shard = open_shard(tmp_path, stub_mapping, stub_analysis, flush_threshold_operations=5)
    index_documents(shard, 0, 5)
    shard.flush()                                      # d0..d4 committed in a first segment
    index_documents(shard, 5, 5)                       # the threshold: maintenance flushes d5..d9
    real_write_segment_file = shard_module.write_segment_file
    builds = []

    def write_segment_file_while_writes_arrive(*arguments, **keywords):
        builds.append(len(arguments[2]))
        if len(builds) == 1:
            # the writer lock is free during the build: a write lands now, after the buffer was taken
            index_documents(shard, 10, 3)
            index_documents(shard, 0, 1, title="updated")      # supersedes a committed copy
            assert shard.apply_as_primary([DeleteOperation("d1")], 1)[0].error is None
        return real_write_segment_file(*arguments, **keywords)

    monkeypatch.setattr(shard_module, "write_segment_file", write_segment_file_while_writes_arrive)
    shard.scheduled_maintenance()
    monkeypatch.setattr(shard_module, "write_segment_file", real_write_segment_file)

    statistics = shard.statistics()
    assert builds == [5], "one segment built (d5..d9); the writes made meanwhile were not built under the lock"
    assert statistics.flush_total == 2 and statistics.segment_count == 2
    assert shard._commit.local_checkpoint == 9 and shard._commit.max_seq_no == 9
    assert statistics.local_checkpoint == 14 and statistics.buffered_operations == 5   # 3 new, 1 update, 1 tombstone
    committed_deleted = {segment.name: segment.deleted_count for segment in shard._commit.segments}
    assert sorted(committed_deleted.values()) == [0, 0], "the commit's live docs are those of its instant"
    assert shard.get("d0").source == orjson.dumps({"title": "updated 0", "n": 0})

    reopened = crash_and_reopen(shard, tmp_path, stub_mapping, stub_analysis, flush_threshold_operations=5)
    assert reopened.local_checkpoint == 14
    assert reopened.get("d1") is None
    assert reopened.get("d0").source == orjson.dumps({"title": "updated 0", "n": 0})
    assert reopened.get("d0").version == 2
    assert [reopened.get(f"d{number}") is not None for number in range(2, 13)] == [True] * 11
    reopened.refresh()
    assert reopened.statistics().doc_count == 12


def test_a_due_refresh_that_finds_enough_uncommitted_operations_flushes_too_with_one_segment_build(
        tmp_path, stub_mapping, stub_analysis, manual_clock):
    clock = manual_clock
    shard = open_shard(tmp_path, stub_mapping, stub_analysis, clock=clock, refresh_interval_seconds=1.0,
                       flush_threshold_operations=30, flush_at_refresh_operations=10)
    clock.now = 0.4
    index_documents(shard, 0, 12)
    shard.scheduled_maintenance()
    statistics = shard.statistics()
    assert (statistics.flush_total, statistics.refresh_total, statistics.segment_count) == (0, 0, 0), \
        "between refreshes, nothing below flush_threshold_operations flushes"
    clock.now = 1.0
    shard.scheduled_maintenance()
    statistics = shard.statistics()
    assert (statistics.flush_total, statistics.segment_count) == (1, 1)
    assert shard._commit.local_checkpoint == 11
    assert statistics.doc_count == 12 and statistics.buffered_operations == 0
    assert sum(len(view.live_docs()) for view in shard.acquire_searcher().segments) == 12, \
        "the flush that replaced the refresh published its segment"


def test_a_due_refresh_with_fewer_uncommitted_operations_only_refreshes(tmp_path, stub_mapping, stub_analysis,
                                                                       manual_clock):
    clock = manual_clock
    shard = open_shard(tmp_path, stub_mapping, stub_analysis, clock=clock, refresh_interval_seconds=1.0,
                       flush_threshold_operations=30, flush_at_refresh_operations=10)
    index_documents(shard, 0, 9)
    clock.now = 1.0
    shard.scheduled_maintenance()
    statistics = shard.statistics()
    assert (statistics.flush_total, statistics.refresh_total, statistics.segment_count) == (0, 1, 1)


def test_between_refreshes_the_operations_bound_flushes_at_once_without_publishing(
        tmp_path, stub_mapping, stub_analysis, manual_clock):
    clock = manual_clock
    shard = open_shard(tmp_path, stub_mapping, stub_analysis, clock=clock, refresh_interval_seconds=1.0,
                       flush_threshold_operations=30, flush_at_refresh_operations=10)
    clock.now = 0.5
    index_documents(shard, 0, 30)
    shard.scheduled_maintenance()
    statistics = shard.statistics()
    assert statistics.flush_total == 1 and statistics.refresh_total == 0
    assert sum(len(view.live_docs()) for view in shard.acquire_searcher().segments) == 0, \
        "a flush not replacing a due refresh publishes nothing"


def test_without_a_refresh_interval_only_the_operations_bound_flushes(tmp_path, stub_mapping, stub_analysis):
    shard = open_shard(tmp_path, stub_mapping, stub_analysis, flush_threshold_operations=30,
                       flush_at_refresh_operations=10)
    index_documents(shard, 0, 29)
    shard.scheduled_maintenance()
    assert shard.statistics().flush_total == 0
    index_documents(shard, 29, 1)
    shard.scheduled_maintenance()
    assert shard.statistics().flush_total == 1 and shard._commit.local_checkpoint == 29


def test_a_merge_commits_with_the_buffers_segment_built_outside_the_writer_lock(
        tmp_path, stub_mapping, stub_analysis, monkeypatch):
    shard = open_shard(tmp_path, stub_mapping, stub_analysis, flush_threshold_operations=None,
                       flush_at_refresh_operations=None, merge_segments_per_tier=2)
    for first in (0, 5, 10):
        index_documents(shard, first, 5)
        shard.refresh()
    index_documents(shard, 15, 4)                      # in the buffer when the merge commits
    real_write_segment_file = shard_module.write_segment_file
    builds = []

    def write_segment_file_while_writes_arrive(*arguments, **keywords):
        builds.append(len(arguments[2]))
        index_documents(shard, 100 + 10 * len(builds), 2)   # after the buffer was taken
        return real_write_segment_file(*arguments, **keywords)

    monkeypatch.setattr(shard_module, "write_segment_file", write_segment_file_while_writes_arrive)
    assert shard.maybe_merge()
    monkeypatch.setattr(shard_module, "write_segment_file", real_write_segment_file)

    statistics = shard.statistics()
    assert builds == [4], "only the buffer taken at the merge's commit was built"
    assert statistics.merge_total == 1
    assert shard._commit.local_checkpoint == 18 and statistics.local_checkpoint == 20
    # refresh is off here: the merge commits but publishes nothing (searches keep their view)
    assert statistics.buffered_operations == 2 and statistics.doc_count == 15, "nothing new published"
    shard.refresh()
    assert shard.statistics().doc_count == 21
    reopened = crash_and_reopen(shard, tmp_path, stub_mapping, stub_analysis, flush_threshold_operations=None,
                                flush_at_refresh_operations=None, merge_segments_per_tier=2)
    assert reopened.local_checkpoint == 20
    assert [reopened.get(f"d{number}") is not None for number in [*range(19), 110, 111]] == [True] * 21
