"""The global checkpoint a copy was told survives a crash without a flush: scheduled maintenance
rewrites the commit point with it (same segments, same local checkpoint) at most once per
GLOBAL_CHECKPOINT_PERSIST_SECONDS, so a reopened copy rolls back only what lies above it."""

from __future__ import annotations

import orjson

from index.commit import read_commit_point
from index.operations import ReplicatedOperation
from index.shard import GLOBAL_CHECKPOINT_PERSIST_SECONDS, Shard, ShardSettings


def operations(count):
    return [ReplicatedOperation("index", seq_no, 1, 1, f"d{seq_no}", orjson.dumps({"title": f"t{seq_no}"}))
            for seq_no in range(count)]


def test_maintenance_persists_a_newer_global_checkpoint_that_a_reopen_reads_back(tmp_path, stub_mapping, stub_analysis, manual_clock):
    clock = manual_clock
    clock.now = 1000.0
    shard = Shard.open(tmp_path, ShardSettings(), stub_mapping, stub_analysis, clock=clock)
    shard.apply_as_replica(operations(10))
    committed_local_checkpoint = read_commit_point(tmp_path).local_checkpoint
    shard.global_checkpoint = 7

    shard.scheduled_maintenance()   # too soon after the shard opened: nothing written yet
    assert read_commit_point(tmp_path).global_checkpoint == -1
    clock.now += GLOBAL_CHECKPOINT_PERSIST_SECONDS
    shard.scheduled_maintenance()
    commit = read_commit_point(tmp_path)
    assert commit.global_checkpoint == 7
    assert commit.local_checkpoint == committed_local_checkpoint   # replay still starts where it did

    # a crash: the shard is dropped without close or flush, then reopened from disk
    shard._translog.close()
    reopened = Shard.open(tmp_path, ShardSettings(), stub_mapping, stub_analysis, clock=clock)
    try:
        assert reopened.global_checkpoint == 7
        assert reopened.local_checkpoint == 9   # every operation replayed from the log
    finally:
        reopened.close()


def test_the_persisted_value_never_exceeds_what_the_copy_holds(tmp_path, stub_mapping, stub_analysis, manual_clock):
    clock = manual_clock
    clock.now = 1000.0
    shard = Shard.open(tmp_path, ShardSettings(), stub_mapping, stub_analysis, clock=clock)
    try:
        shard.apply_as_replica(operations(3))
        shard.global_checkpoint = 50   # a primary's value this copy has not caught up to
        clock.now += GLOBAL_CHECKPOINT_PERSIST_SECONDS
        shard.scheduled_maintenance()
        assert read_commit_point(tmp_path).global_checkpoint == 2
    finally:
        shard.close()
