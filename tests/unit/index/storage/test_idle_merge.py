"""A shard that stopped taking writes merges its small segments down to a few (ADR 0380), and only
then: a copy taking writes keeps the tiered policy's shape."""

from __future__ import annotations

import orjson

from index.analysis import AnalysisRegistry
from index.mapping import Mapping
from index.operations import IndexOperation
from index.query import SearchContext, parse_search_request, search_shard
from index.shard import Shard, ShardSettings


MAPPING = {"properties": {"title": {"type": "text"}, "n": {"type": "integer"}}}


def open_shard(path, clock, **settings):
    settings = {"refresh_interval_seconds": None, "flush_after_inactive_seconds": None, **settings}
    return Shard.open(path, ShardSettings(**settings), Mapping.from_json(MAPPING),
                      AnalysisRegistry.from_index_settings({}), clock=clock)


def write_segment(shard, first, count):
    operations = [IndexOperation(f"d{number}", orjson.dumps({"title": f"words {number}", "n": number}))
                  for number in range(first, first + count)]
    assert all(result.error is None for result in shard.apply_as_primary(operations, 1))
    shard.refresh()


def matching(shard, query):
    searcher = shard.acquire_searcher()
    request = parse_search_request({"query": query, "size": 100, "track_total_hits": True})
    return search_shard(searcher, request, SearchContext(index_name="i")).total_hits


def test_an_idle_shard_merges_its_small_segments_and_keeps_every_document(tmp_path, manual_clock):
    clock = manual_clock
    shard = open_shard(tmp_path, clock, idle_merge_after_seconds=1.0,
                       idle_merge_max_segments=2)
    write_segment(shard, 0, 40)
    for first in range(40, 60, 4):
        write_segment(shard, first, 4)
    assert shard.statistics().segment_count == 6
    shard.scheduled_maintenance()        # the writes were just now: not idle yet
    clock.now = 0.9
    shard.scheduled_maintenance()
    assert shard.statistics().segment_count == 6
    clock.now = 2.0                      # a second without an operation
    shard.scheduled_maintenance()
    assert shard.statistics().segment_count == 2
    assert matching(shard, {"match": {"title": "words"}}) == 60
    assert matching(shard, {"term": {"title": "57"}}) == 1
    shard.close()


def test_a_shard_taking_writes_is_not_idle_merged(tmp_path, manual_clock):
    clock = manual_clock
    shard = open_shard(tmp_path, clock, idle_merge_after_seconds=1.0,
                       idle_merge_max_segments=1)
    for step, first in enumerate(range(0, 20, 4)):
        clock.now = step * 0.5           # a write every half second
        write_segment(shard, first, 4)
        shard.scheduled_maintenance()
    assert shard.statistics().segment_count == 5


def test_idle_merges_can_be_turned_off(tmp_path, manual_clock):
    clock = manual_clock
    shard = open_shard(tmp_path, clock, idle_merge_after_seconds=None)
    for first in range(0, 20, 4):
        write_segment(shard, first, 4)
    clock.now = 100.0
    shard.scheduled_maintenance()
    assert shard.statistics().segment_count == 5


def test_statistics_show_the_merge_being_built(tmp_path, monkeypatch, manual_clock):
    import index.shard as shard_module
    clock = manual_clock
    shard = open_shard(tmp_path, clock, idle_merge_after_seconds=None)
    for first in range(0, 12, 4):
        write_segment(shard, first, 4)
    seen = []
    real_merge_segments = shard_module.merge_segments

    def observed_merge_segments(parts, should_stop):
        statistics = shard.statistics()
        seen.append((statistics.merge_current, statistics.merge_current_docs))
        return real_merge_segments(parts, should_stop)

    monkeypatch.setattr(shard_module, "merge_segments", observed_merge_segments)
    shard.force_merge(1)
    assert seen == [(1, 12)]
    after = shard.statistics()
    assert (after.merge_current, after.merge_current_docs, after.merge_total) == (0, 0, 1)
    shard.close()


def merged_segments_are_warm(shard, after_each_write):
    """Write segments (``after_each_write`` after every refresh) until the tiered policy has
    merged; whether each merged segment's term dictionaries were decoded when it was swapped in."""
    for first in range(0, 40, 4):
        write_segment(shard, first, 4)
        after_each_write()
        if shard.scheduled_maintenance() and shard.statistics().merge_total:
            break
    assert shard.statistics().merge_total >= 1
    return [segment.core.has_decoded_term_dictionaries for segment in shard._segments
            if segment.core.max_doc > 4]


def test_a_tiered_merge_of_searched_segments_is_warmed_before_the_swap(tmp_path, manual_clock):
    shard = open_shard(tmp_path, manual_clock, idle_merge_after_seconds=None, merge_segments_per_tier=2)
    warm = merged_segments_are_warm(shard, lambda: matching(shard, {"match": {"title": "words"}}))
    assert warm and all(warm)
    assert matching(shard, {"match": {"title": "words"}}) == shard.statistics().doc_count
    shard.close()


def test_a_never_searched_shard_keeps_its_merged_segments_cold(tmp_path, manual_clock):
    # the write path's id lookups decode _id's dictionary: that is not a search
    shard = open_shard(tmp_path, manual_clock, idle_merge_after_seconds=None, merge_segments_per_tier=2)
    warm = merged_segments_are_warm(shard, lambda: None)
    assert warm and not any(warm)
    shard.close()
