"""The write path bounds the indexing buffer itself (F12): with no maintenance timer at all, a write
that leaves the buffer at or past its hard limit writes it out as an unpublished segment before
returning — memory stays bounded, nothing becomes searchable before a refresh, realtime get and
versions keep working, and a restart loses nothing."""

from __future__ import annotations

import orjson

from index.analysis import AnalysisRegistry
from index.mapping import Mapping
from index.operations import IndexOperation
from index.shard import INDEXING_BUFFER_HARD_LIMIT_FACTOR, Shard, ShardSettings

MAPPING = {"properties": {"title": {"type": "text"}, "n": {"type": "integer"}}}


def _open(path, **settings):
    return Shard.open(path, ShardSettings(refresh_interval_seconds=None, **settings), Mapping.from_json(MAPPING),
                      AnalysisRegistry.from_index_settings({}))


def _batch(start, count=20):
    return [IndexOperation(f"d{number}", orjson.dumps({"title": f"words number {number}", "n": number}))
            for number in range(start, start + count)]


def test_writes_alone_keep_the_buffer_under_its_hard_limit_and_searchers_see_nothing_until_refresh(tmp_path):
    shard = _open(tmp_path, indexing_buffer_bytes=1_000, indexing_buffer_hard_limit_bytes=4_000)
    for start in range(0, 400, 20):
        shard.apply_as_primary(_batch(start), 1)
        assert shard._buffer.size_bytes < 4_000
    assert shard.statistics().segment_count >= 2
    assert shard.statistics().doc_count == 0 and shard.acquire_searcher().get("d5") is None
    assert shard.get("d5").version == 1 and shard.get("d399").source == _batch(399, 1)[0].source
    shard.apply_as_primary(_batch(0, 1), 1)
    assert shard.get("d0").version == 2
    shard.refresh()
    assert shard.statistics().doc_count == 400
    shard.close()
    reopened = _open(tmp_path)
    assert reopened.get("d0").version == 2 and reopened.get("d399") is not None
    reopened.close()


def test_the_default_hard_limit_is_a_multiple_of_the_maintenance_budget(tmp_path):
    shard = _open(tmp_path, indexing_buffer_bytes=1_000)
    for start in range(0, 40, 20):
        shard.apply_as_primary(_batch(start), 1)
    # past the soft budget (maintenance's job) but under the hard limit: left to maintenance
    assert 1_000 <= shard._buffer.size_bytes < INDEXING_BUFFER_HARD_LIMIT_FACTOR * 1_000
    assert shard.statistics().segment_count == 0
    for start in range(40, 200, 20):
        shard.apply_as_primary(_batch(start), 1)
    assert shard.statistics().segment_count >= 1
    assert shard._buffer.size_bytes < INDEXING_BUFFER_HARD_LIMIT_FACTOR * 1_000
    shard.close()
