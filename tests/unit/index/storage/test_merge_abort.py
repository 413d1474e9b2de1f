"""A shard's close does not wait for a running merge to end: the merge stops between fields and
source blocks, writes nothing, and the shard reopens with every document (a 333k-document idle
merge takes ~8 s here, and a node's SIGTERM closes every shard)."""

from __future__ import annotations

import threading
import time

import numpy as np
import orjson
import pytest

import index.shard as shard_module
from index.analysis import AnalysisRegistry
from index.errors import MergeAbortedError
from index.mapping import Mapping
from index.operations import IndexOperation
from index.query import SearchContext, parse_search_request, search_shard
from index.segment.merger import MergePart, merge_segments
from index.shard import Shard, ShardSettings

MAPPING = {"properties": {"title": {"type": "text"}, "n": {"type": "integer"}}}


def open_shard(path):
    return Shard.open(path, ShardSettings(refresh_interval_seconds=None, flush_after_inactive_seconds=None,
                                          idle_merge_after_seconds=None),
                      Mapping.from_json(MAPPING), AnalysisRegistry.from_index_settings({}))


def write_segments(shard, segments, per_segment):
    for first in range(0, segments * per_segment, per_segment):
        operations = [IndexOperation(f"d{number}", orjson.dumps({"title": f"words {number}", "n": number}))
                      for number in range(first, first + per_segment)]
        assert all(result.error is None for result in shard.apply_as_primary(operations, 1))
        shard.refresh()


def count(shard):
    request = parse_search_request({"query": {"match": {"title": "words"}}, "track_total_hits": True})
    return search_shard(shard.acquire_searcher(), request, SearchContext(index_name="i")).total_hits


def test_a_merge_asked_to_stop_raises_before_writing_anything(tmp_path):
    shard = open_shard(tmp_path)
    write_segments(shard, 2, 5)
    parts = [MergePart(segment.core, np.arange(segment.core.max_doc)) for segment in shard._segments]
    with pytest.raises(MergeAbortedError):
        merge_segments(parts, should_stop=lambda: True)
    assert merge_segments(parts)          # not asked to stop: the merged body
    shard.close()


def test_closing_a_shard_stops_its_running_merge(tmp_path, monkeypatch):
    shard = open_shard(tmp_path)
    write_segments(shard, 3, 20)
    shard.flush()
    segment_files = sorted(path.name for path in tmp_path.glob("*.seg"))
    real_merge_segments = shard_module.merge_segments
    closer = threading.Thread(target=shard.close)

    def merge_while_the_shard_closes(parts, should_stop):
        closer.start()                      # the close waits for this merge (it holds the merge lock)
        deadline = time.monotonic() + 10
        while not should_stop():
            assert time.monotonic() < deadline, "the close never asked the merge to stop"
            time.sleep(0.01)
        return real_merge_segments(parts, should_stop)

    monkeypatch.setattr(shard_module, "merge_segments", merge_while_the_shard_closes)
    shard.force_merge(1)                    # returns once the merge stopped
    closer.join(timeout=10)
    assert not closer.is_alive()
    assert sorted(path.name for path in tmp_path.glob("*.seg")) == segment_files   # nothing written
    reopened = open_shard(tmp_path)
    assert reopened.statistics().segment_count == 3
    assert count(reopened) == 60
    reopened.close()
