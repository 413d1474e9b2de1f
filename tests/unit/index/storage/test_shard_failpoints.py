"""Disk faults on every durability path: the call fails with StorageError, nothing acknowledged is
lost, the shard reopens, and writes succeed once the fault clears."""

from __future__ import annotations

import errno

import orjson
import pytest

from index import failpoints
from index.errors import StorageError
from index.operations import DeleteOperation, IndexOperation
from index.shard import Shard, ShardSettings


def open_shard(path, mapping, analysis):
    return Shard.open(path, ShardSettings(translog_retention_operations=0), mapping, analysis)


def put(shard, document_id):
    return shard.apply_as_primary([IndexOperation(document_id, orjson.dumps({"title": document_id}))], 1)[0]


def live_ids(shard):
    shard.refresh()
    return {s.document_id(d) for s in shard.acquire_searcher().segments for d in s.live_docs()}


@pytest.mark.parametrize("error_number", [errno.ENOSPC, errno.EIO])
def test_a_failed_log_append_applies_nothing_and_later_writes_succeed(tmp_path, stub_mapping, stub_analysis,
                                                                      error_number):
    shard = open_shard(tmp_path, stub_mapping, stub_analysis)
    put(shard, "before")
    with failpoints.armed("translog.append", error_number):
        with pytest.raises(StorageError, match="translog-"):
            put(shard, "during")
    assert shard.get("during") is None and shard.max_seq_no == 0
    assert put(shard, "after").seq_no == 1
    shard.close()
    reopened = open_shard(tmp_path, stub_mapping, stub_analysis)
    assert live_ids(reopened) == {"before", "after"}


def test_a_failed_fsync_fails_the_shard_until_reopened_and_loses_nothing_acknowledged(tmp_path, stub_mapping,
                                                                                     stub_analysis):
    shard = open_shard(tmp_path, stub_mapping, stub_analysis)
    put(shard, "acknowledged")
    with failpoints.armed("translog.fsync", errno.EIO):
        with pytest.raises(StorageError):
            put(shard, "unacknowledged")
    with pytest.raises(StorageError, match="must be reopened"):
        put(shard, "refused")
    shard.close()
    reopened = open_shard(tmp_path, stub_mapping, stub_analysis)
    assert "acknowledged" in live_ids(reopened)
    assert put(reopened, "after").error is None
    assert {"acknowledged", "after"} <= live_ids(reopened)
    assert reopened.get("refused") is None


@pytest.mark.parametrize("point", ["segment.write", "segment.fsync", "live_docs.write", "commit.rename", "commit.rename.write",
                                   "translog.checkpoint"])
def test_a_failed_flush_keeps_every_write_and_the_next_flush_succeeds(tmp_path, stub_mapping, stub_analysis, point):
    shard = open_shard(tmp_path, stub_mapping, stub_analysis)
    put(shard, "a")
    shard.flush()
    put(shard, "b")
    shard.apply_as_primary([DeleteOperation("a")], 1)
    with failpoints.armed(point, errno.ENOSPC):
        with pytest.raises(StorageError):
            shard.flush()
        assert failpoints.times_triggered(point) == 1
    assert shard.get("b") is not None and shard.get("a") is None
    shard.close()
    reopened = open_shard(tmp_path, stub_mapping, stub_analysis)
    assert live_ids(reopened) == {"b"}
    reopened.flush()
    put(reopened, "c")
    reopened.close()
    assert live_ids(open_shard(tmp_path, stub_mapping, stub_analysis)) == {"b", "c"}


def test_a_failed_refresh_can_be_retried(tmp_path, stub_mapping, stub_analysis):
    shard = open_shard(tmp_path, stub_mapping, stub_analysis)
    put(shard, "a")
    with failpoints.armed("segment.write", errno.ENOSPC, times=1):
        with pytest.raises(StorageError, match=r"\.seg"):
            shard.refresh()
    assert live_ids(shard) == {"a"}
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".seg") and p.stat().st_size == 0]


def test_a_shard_with_a_corrupted_segment_or_log_refuses_to_open_and_names_the_file(tmp_path, stub_mapping,
                                                                                    stub_analysis):
    from index.errors import CorruptedIndexError, CorruptedLogError
    shard = open_shard(tmp_path, stub_mapping, stub_analysis)
    put(shard, "a")
    shard.flush()
    put(shard, "b")
    put(shard, "c")
    shard.close()
    [segment_file] = list(tmp_path.glob("*.seg"))
    original = segment_file.read_bytes()
    corrupted = bytearray(original)
    corrupted[40] ^= 0x01
    segment_file.write_bytes(bytes(corrupted))
    with pytest.raises(CorruptedIndexError, match=segment_file.name):
        open_shard(tmp_path, stub_mapping, stub_analysis)
    segment_file.write_bytes(original)
    [log_file] = sorted((tmp_path / "translog").glob("*.tlog"))[-1:]
    data = bytearray(log_file.read_bytes())
    data[60] ^= 0x01                                      # inside the first of two records
    log_file.write_bytes(bytes(data))
    with pytest.raises(CorruptedLogError, match=log_file.name):
        open_shard(tmp_path, stub_mapping, stub_analysis)
