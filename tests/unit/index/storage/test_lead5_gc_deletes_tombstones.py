"""index.gc_deletes: a delete's tombstone outlives flushes and merges for gc_deletes_seconds, so a
re-created id continues the deleted one's version (and an older external version still conflicts)
as in OpenSearch; after that a merge may drop it and the id starts again at version 1."""

import tempfile
from pathlib import Path

import orjson
import pytest

from index.analysis import AnalysisRegistry
from index.errors import VersionConflictError
from index.mapping import Mapping
from index.operations import DeleteOperation, IndexOperation
from index.shard import Shard, ShardSettings

MAPPING = Mapping.from_json({"properties": {"title": {"type": "text"}}})
ANALYSIS = AnalysisRegistry.from_index_settings({})


@pytest.fixture
def shard_and_clock(manual_clock):
    clock = manual_clock
    clock.now = 1000.0
    directory = Path(tempfile.mkdtemp(prefix="gc-deletes-"))
    # every operation flushes and merges: the tombstone's only way to survive is gc_deletes
    settings = ShardSettings(refresh_interval_seconds=None, flush_threshold_operations=1,
                             flush_after_inactive_seconds=None, translog_retention_operations=0,
                             merge_segments_per_tier=2, gc_deletes_seconds=60.0)
    shard = Shard.open(directory, settings, MAPPING, ANALYSIS, clock=clock)
    yield shard, clock, directory, settings
    shard.close()


def index(shard, **extra):
    [result] = shard.apply_as_primary([IndexOperation("doc", orjson.dumps({"title": "x"}), **extra)], 1)
    return result


def delete_and_merge(shard):
    shard.apply_as_primary([IndexOperation("doc", orjson.dumps({"title": "x"})), DeleteOperation("doc")], 1)
    shard.scheduled_maintenance()
    shard.force_merge(1)


def test_a_re_created_id_continues_the_deleted_version_within_gc_deletes(shard_and_clock):
    shard, clock, _, _ = shard_and_clock
    delete_and_merge(shard)
    clock.now += 59
    shard.force_merge(1)
    result = index(shard)
    assert (result.result, result.version) == ("created", 3)


def test_after_gc_deletes_a_merge_drops_the_tombstone_and_versions_start_again(shard_and_clock):
    shard, clock, _, _ = shard_and_clock
    delete_and_merge(shard)
    clock.now += 61
    shard.apply_as_primary([IndexOperation("other", orjson.dumps({"title": "y"}))], 1)
    shard.force_merge(1)
    result = index(shard)
    assert (result.result, result.version) == ("created", 1)


def test_an_external_version_below_the_delete_conflicts_while_the_tombstone_lives(shard_and_clock):
    shard, clock, _, _ = shard_and_clock
    shard.apply_as_primary([IndexOperation("doc", orjson.dumps({"title": "x"}), version=5, version_type="external"),
                            DeleteOperation("doc", version=7, version_type="external")], 1)
    shard.scheduled_maintenance()
    shard.force_merge(1)
    [result] = shard.apply_as_primary([IndexOperation("doc", orjson.dumps({"title": "x"}), version=6,
                                                      version_type="external")], 1)
    assert isinstance(result.error, VersionConflictError)


def test_tombstones_found_on_disk_at_open_get_gc_deletes_from_the_open(shard_and_clock):
    shard, clock, directory, settings = shard_and_clock
    delete_and_merge(shard)
    shard.close()
    clock.now += 3600  # long after the delete, but the reopened shard cannot know when it was
    reopened = Shard.open(directory, settings, MAPPING, ANALYSIS, clock=clock)
    try:
        reopened.force_merge(1)
        [result] = reopened.apply_as_primary([IndexOperation("doc", orjson.dumps({"title": "x"}))], 1)
        assert (result.result, result.version) == ("created", 3)
    finally:
        reopened.close()
