"""A write that leaves the log's current generation larger than the threshold starts a new
generation, so a flush trims everything but the generations holding retained operations; every
acknowledged write still survives a restart, whether or not a roll came between."""

from __future__ import annotations

import orjson

from index.operations import IndexOperation, ReplicatedOperation
from index.shard import Shard, ShardSettings


def _settings(**overrides) -> ShardSettings:
    return ShardSettings(refresh_interval_seconds=None, **overrides)


def _put(shard: Shard, document_id: str) -> None:
    source = orjson.dumps({"title": "some words " * 20, "tag": document_id})
    result = shard.apply_as_primary([IndexOperation(document_id, source)], 1)[0]
    assert result.error is None


def test_large_generations_roll_and_flush_trims_all_but_the_retained_ones(tmp_path, stub_mapping, stub_analysis):
    shard = Shard.open(tmp_path, _settings(translog_generation_threshold_bytes=150, translog_retention_operations=2),
                       stub_mapping, stub_analysis)
    for number in range(12):
        _put(shard, f"d{number}")
    assert shard._translog.statistics().generations > 4
    shard.flush()
    retained = shard._translog.statistics()
    assert retained.operations < 12                       # old generations went
    assert [op.seq_no for op in shard.operations_since(9)] == [10, 11]
    shard.close()


def test_writes_across_rolls_survive_a_restart_without_flush(tmp_path, stub_mapping, stub_analysis):
    shard = Shard.open(tmp_path, _settings(translog_generation_threshold_bytes=150), stub_mapping, stub_analysis)
    for number in range(9):
        _put(shard, f"d{number}")
    shard.apply_as_replica([ReplicatedOperation("index", 9, 1, 1, "r9", orjson.dumps({"tag": "r9"}))])
    assert shard._translog.statistics().generations > 3
    shard.close()
    reopened = Shard.open(tmp_path, _settings(translog_generation_threshold_bytes=150), stub_mapping, stub_analysis)
    assert reopened.local_checkpoint == 9
    assert all(reopened.get(f"d{number}") is not None for number in range(9))
    assert reopened.get("r9") is not None
    reopened.close()


def test_the_default_threshold_keeps_small_logs_in_one_generation(tmp_path, stub_mapping, stub_analysis):
    shard = Shard.open(tmp_path, _settings(), stub_mapping, stub_analysis)
    for number in range(5):
        _put(shard, f"d{number}")
    assert shard._translog.statistics().generations == 1
    shard.close()
