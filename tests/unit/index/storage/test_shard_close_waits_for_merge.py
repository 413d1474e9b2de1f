"""Closing a shard waits for a merge that is half-way (it builds its segment outside the writer
lock). Otherwise a copy reopened on the same directory meanwhile — its segment numbers restart at
the last commit's — creates a segment under the merge's name, the abandoned merge deletes (or
overwrites) that file, and the next open finds a committed segment missing. The hour soak of
2026-11-30 found copies on four nodes that could never open again this way."""

from __future__ import annotations

import threading

import orjson

import index.shard as shard_module
from index.commit import read_commit_point
from index.operations import IndexOperation
from index.segment import segment_file_name
from index.shard import Shard, ShardSettings


def open_shard(path, mapping, analysis):
    return Shard.open(path, ShardSettings(refresh_interval_seconds=None), mapping, analysis)


def put(shard, document_id):
    shard.apply_as_primary([IndexOperation(document_id, orjson.dumps({"title": "t", "tag": document_id}))], 1)


def test_a_copy_reopened_while_a_merge_was_half_way_keeps_every_committed_segment(
        tmp_path, stub_mapping, stub_analysis, monkeypatch):
    first = open_shard(tmp_path, stub_mapping, stub_analysis)
    for number in range(4):
        put(first, f"a{number}")
        first.refresh()
    first.flush()

    merge_started, release_merge = threading.Event(), threading.Event()
    real_merge_segments = shard_module.merge_segments

    def held_merge_segments(parts, should_stop):
        merge_started.set()
        release_merge.wait()
        return real_merge_segments(parts, should_stop)    # asked to stop by then: the close is waiting

    monkeypatch.setattr(shard_module, "merge_segments", held_merge_segments)
    merging = threading.Thread(target=first.force_merge)
    merging.start()
    merge_started.wait()
    closing = threading.Thread(target=first.close)
    closing.start()
    closing.join(timeout=1.0)
    if closing.is_alive():
        # close waits for the merge, as it must: let the merge finish, then reopen
        release_merge.set()
        closing.join()
        merging.join()
    monkeypatch.setattr(shard_module, "merge_segments", real_merge_segments)

    second = open_shard(tmp_path, stub_mapping, stub_analysis)
    for number in range(4):
        put(second, f"b{number}")
        second.refresh()
    second.flush()
    release_merge.set()      # (if close had not waited: the old merge ends only now)
    merging.join()
    closing.join()
    second.close()

    commit = read_commit_point(tmp_path)
    for committed in commit.segments:
        assert (tmp_path / segment_file_name(committed.name)).exists(), committed.name
    third = open_shard(tmp_path, stub_mapping, stub_analysis)
    try:
        assert third.get("a0") is not None and third.get("b3") is not None
        assert sum(1 for number in range(4) for prefix in "ab" if third.get(f"{prefix}{number}") is not None) == 8
    finally:
        third.close()
