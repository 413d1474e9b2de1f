"""With ``refresh_interval`` -1 a merge never makes unrefreshed writes searchable: an update to a
refreshed document leaves that segment all deleted, maintenance merges it away and commits, and
searches still see the old copy until a refresh (as OpenSearch's merges leave the searcher alone).
Found by the OpenSearch YAML sweep (delete_by_query/10_basic flaked on it)."""

from __future__ import annotations

import orjson

from index.operations import IndexOperation
from index.shard import Shard, ShardSettings


def hits_for(shard, value):
    """The searchable copies whose ``n`` is ``value`` (what a search would see)."""
    sources = [orjson.loads(view.source(int(doc))) for view in shard.acquire_searcher().segments
               for doc in view.live_docs()]
    return [source for source in sources if source.get("n") == value]


def test_a_merge_does_not_publish_an_update_when_refresh_is_off(tmp_path, stub_mapping, stub_analysis):
    shard = Shard.open(tmp_path, ShardSettings(refresh_interval_seconds=None, flush_after_inactive_seconds=None),
                       stub_mapping, stub_analysis)
    assert shard.apply_as_primary([IndexOperation("1", orjson.dumps({"n": 1}))], 1)[0].error is None
    shard.refresh()
    assert shard.apply_as_primary([IndexOperation("1", orjson.dumps({"n": 2}))], 1)[0].error is None
    for _ in range(3):
        shard.scheduled_maintenance()
    assert shard.statistics().merge_total == 1          # the all-deleted segment was merged away
    assert hits_for(shard, 2) == [] and hits_for(shard, 1) == [{"n": 1}]
    shard.refresh()
    assert hits_for(shard, 2) == [{"n": 2}] and hits_for(shard, 1) == []
    shard.close()
