"""Shard lifecycle: realtime get, refresh, flush, restart with replay, merges, contexts, snapshots."""

from __future__ import annotations

import orjson
import pytest

from index.errors import SearchContextMissingError, ShardClosedError
from index.operations import DeleteOperation, IndexOperation
from index.shard import Shard, ShardSettings


def open_shard(path, mapping, analysis, **settings):
    return Shard.open(path, ShardSettings(**settings), mapping, analysis)


def put(shard, document_id, title, term=1):
    return shard.apply_as_primary([IndexOperation(document_id, orjson.dumps({"title": title, "tag": document_id}))],
                                  term)[0]


def searchable_ids(shard, term=None):
    searcher = shard.acquire_searcher()
    ids = set()
    for segment in searcher.segments:
        docs = segment.live_docs() if term is None else segment.postings("title", term) & segment.live_docs()
        ids.update(segment.document_id(doc) for doc in docs)
    return ids


def test_realtime_get_sees_unrefreshed_writes_and_search_waits_for_refresh(tmp_path, stub_mapping, stub_analysis):
    shard = open_shard(tmp_path, stub_mapping, stub_analysis)
    put(shard, "a", "hello world")
    assert shard.get("a").source == b'{"title":"hello world","tag":"a"}'
    assert shard.get("a", realtime=False) is None
    assert searchable_ids(shard) == set()
    shard.refresh()
    assert searchable_ids(shard, "hello") == {"a"}
    assert shard.get("a", realtime=False).version == 1
    put(shard, "a", "goodbye")
    assert orjson.loads(shard.get("a").source)["title"] == "goodbye"
    assert searchable_ids(shard, "hello") == {"a"}          # the old snapshot is unchanged
    shard.refresh()
    assert searchable_ids(shard, "hello") == set() and searchable_ids(shard, "goodbye") == {"a"}


def test_a_searcher_is_an_immutable_snapshot(tmp_path, stub_mapping, stub_analysis):
    shard = open_shard(tmp_path, stub_mapping, stub_analysis)
    put(shard, "a", "one")
    shard.refresh()
    before = shard.acquire_searcher()
    shard.apply_as_primary([DeleteOperation("a")], 1)
    shard.refresh()
    shard.force_merge()
    assert [seg.document_id(d) for seg in before.segments for d in seg.live_docs()] == ["a"]
    assert searchable_ids(shard) == set()


def test_unflushed_writes_survive_a_restart_by_log_replay(tmp_path, stub_mapping, stub_analysis):
    shard = open_shard(tmp_path, stub_mapping, stub_analysis)
    for number in range(10):
        put(shard, f"d{number}", f"doc number {number}")
    shard.apply_as_primary([DeleteOperation("d3")], 1)
    shard.refresh()
    shard._translog.close_without_sync_for_tests()   # a crash: no flush, no clean close
    reopened = open_shard(tmp_path, stub_mapping, stub_analysis)
    assert reopened.local_checkpoint == 10 and reopened.max_seq_no == 10
    assert reopened.get("d3") is None and reopened.get("d7").version == 1
    reopened.refresh()
    assert searchable_ids(reopened) == {f"d{n}" for n in range(10)} - {"d3"}


def test_flushed_writes_survive_and_replay_skips_operations_already_committed(tmp_path, stub_mapping, stub_analysis):
    shard = open_shard(tmp_path, stub_mapping, stub_analysis, translog_retention_operations=0)
    put(shard, "a", "first")
    put(shard, "b", "second")
    shard.flush()
    put(shard, "a", "third")
    shard.apply_as_primary([DeleteOperation("b")], 1)
    shard.close()
    reopened = open_shard(tmp_path, stub_mapping, stub_analysis)
    assert reopened.get("a").version == 2 and reopened.get("b") is None
    reopened.refresh()
    assert searchable_ids(reopened) == {"a"}
    assert reopened.statistics().doc_count == 1
    stats = reopened.statistics()
    assert (stats.local_checkpoint, stats.max_seq_no) == (3, 3)


def test_flush_trims_the_log_down_to_the_retention_floor(tmp_path, stub_mapping, stub_analysis):
    shard = open_shard(tmp_path, stub_mapping, stub_analysis, translog_retention_operations=0)
    for number in range(5):
        put(shard, f"d{number}", "x")
    shard.set_retention_floor(2)
    shard.flush()
    assert [op.seq_no for op in shard.operations_since(2)] == [3, 4]
    put(shard, "late", "x")
    shard.flush()
    shard.set_retention_floor(5)
    shard.flush()
    assert shard.statistics().translog_operations == 0


def test_refresh_flush_and_merges_keep_search_results(tmp_path, stub_mapping, stub_analysis):
    shard = open_shard(tmp_path, stub_mapping, stub_analysis, merge_segments_per_tier=3)
    expected = set()
    for batch in range(7):
        for number in range(4):
            document_id = f"b{batch}n{number}"
            put(shard, document_id, "common words")
            expected.add(document_id)
        shard.apply_as_primary([DeleteOperation(f"b{batch}n0")], 1)
        expected.discard(f"b{batch}n0")
        shard.refresh()
    assert shard.statistics().segment_count == 7
    while shard.maybe_merge():
        pass
    assert shard.statistics().segment_count < 7
    assert searchable_ids(shard, "common") == expected
    shard.force_merge(1)
    stats = shard.statistics()
    assert stats.segment_count == 1 and stats.deleted_docs == 0 and stats.doc_count == len(expected)
    assert searchable_ids(shard, "common") == expected
    shard.close()
    reopened = open_shard(tmp_path, stub_mapping, stub_analysis)
    assert searchable_ids(reopened, "common") == expected
    assert all(reopened.get(document_id) is not None for document_id in expected)


def test_reader_contexts_keep_their_snapshot_and_expire(tmp_path, stub_mapping, stub_analysis):
    now = [100.0]
    shard = Shard.open(tmp_path, ShardSettings(), stub_mapping, stub_analysis, clock=lambda: now[0])
    put(shard, "a", "x")
    shard.refresh()
    context_id = shard.open_reader_context(keep_alive_seconds=60)
    put(shard, "b", "x")
    shard.refresh()
    assert {s.document_id(d) for s in shard.reader_context(context_id, 60).segments for d in s.live_docs()} == {"a"}
    now[0] += 59
    shard.reader_context(context_id, keep_alive_seconds=None)      # does not extend
    now[0] += 2
    assert shard.sweep_expired_reader_contexts() == 1
    with pytest.raises(SearchContextMissingError, match=context_id):
        shard.reader_context(context_id, 60)
    other = shard.open_reader_context(10)
    assert shard.close_reader_context(other) is True and shard.close_reader_context(other) is False


def test_a_commit_snapshot_pins_its_files_through_merges_and_flushes(tmp_path, stub_mapping, stub_analysis):
    shard = open_shard(tmp_path, stub_mapping, stub_analysis)
    for number in range(3):
        put(shard, f"d{number}", "x")
        shard.flush()
    with shard.commit_snapshot() as snapshot:
        assert len(snapshot.files) == 3
        shard.force_merge(1)
        for name in snapshot.files:
            assert (tmp_path / name).exists()
        assert (tmp_path / snapshot.commit_file).exists()
        assert snapshot.local_checkpoint == 2
    assert not any((tmp_path / name).exists() for name in snapshot.files)


def test_scheduled_maintenance_refreshes_after_the_interval(tmp_path, stub_mapping, stub_analysis):
    now = [0.0]
    shard = Shard.open(tmp_path, ShardSettings(refresh_interval_seconds=1.0), stub_mapping, stub_analysis,
                       clock=lambda: now[0])
    put(shard, "a", "x")
    shard.scheduled_maintenance()
    assert searchable_ids(shard) == set()
    now[0] = 1.5
    shard.scheduled_maintenance()
    assert searchable_ids(shard) == {"a"}


def test_a_closed_shard_refuses_calls(tmp_path, stub_mapping, stub_analysis):
    shard = open_shard(tmp_path, stub_mapping, stub_analysis)
    shard.close()
    with pytest.raises(ShardClosedError):
        put(shard, "a", "x")


def test_writes_made_while_a_merge_is_being_built_are_kept(tmp_path, stub_mapping, stub_analysis, monkeypatch):
    import index.shard as shard_module
    shard = open_shard(tmp_path, stub_mapping, stub_analysis)
    for number in range(6):
        put(shard, f"d{number}", "merge me")
        shard.refresh()
    real_merge = shard_module.merge_segments
    calls = []

    def merge_while_others_write(parts, should_stop):
        if not calls:     # the merge's build runs outside the writer lock: a writer gets in now
            calls.append(len(parts))
            shard.apply_as_primary([DeleteOperation("d1"), IndexOperation("d2", b'{"title":"changed"}'),
                                    IndexOperation("new", b'{"title":"merge me"}')], 1)
        return real_merge(parts, should_stop)

    monkeypatch.setattr(shard_module, "merge_segments", merge_while_others_write)
    shard.force_merge(1)
    assert calls, "the merge never built a segment"
    assert shard.get("d1") is None and orjson.loads(shard.get("d2").source)["title"] == "changed"
    shard.refresh()
    assert searchable_ids(shard, "merge") == {"d0", "d3", "d4", "d5", "new"}
    assert searchable_ids(shard, "changed") == {"d2"}
    shard.close()
    reopened = open_shard(tmp_path, stub_mapping, stub_analysis)
    assert searchable_ids(reopened, "merge") == {"d0", "d3", "d4", "d5", "new"}


def _write_during_refresh_build(shard, monkeypatch, fail: bool):
    import index.shard as shard_module
    from index.errors import StorageError
    real_write = shard_module.write_segment_file

    def write_while_others_write(directory, name, documents, *args, **kwargs):
        monkeypatch.setattr(shard_module, "write_segment_file", real_write)
        # the refresh builds without the writer lock: writers and realtime gets get in now
        shard.apply_as_primary([IndexOperation("a", b'{"title":"second"}'), DeleteOperation("b"),
                                IndexOperation("c", b'{"title":"third"}')], 1)
        assert orjson.loads(shard.get("a").source)["title"] == "second"
        assert shard.get("b") is None
        if fail:
            raise StorageError(f"cannot write file [{name}]: disk full (simulated)")
        return real_write(directory, name, documents, *args, **kwargs)

    monkeypatch.setattr(shard_module, "write_segment_file", write_while_others_write)


@pytest.mark.parametrize("fail", [False, True])
def test_writes_during_a_refresh_build_are_kept_whether_or_not_the_build_succeeds(tmp_path, stub_mapping,
                                                                                  stub_analysis, monkeypatch, fail):
    from index.errors import StorageError
    shard = open_shard(tmp_path, stub_mapping, stub_analysis)
    put(shard, "a", "first")
    put(shard, "b", "first")
    _write_during_refresh_build(shard, monkeypatch, fail)
    if fail:
        with pytest.raises(StorageError):
            shard.refresh()
        assert searchable_ids(shard) == set()
    else:
        shard.refresh()
        assert searchable_ids(shard, "first") == {"a", "b"}     # the snapshot taken when the refresh began
    assert orjson.loads(shard.get("a").source)["title"] == "second" and shard.get("a").version == 2
    assert shard.get("b") is None and shard.get("c").version == 1
    shard.refresh()
    assert searchable_ids(shard) == {"a", "c"}
    assert searchable_ids(shard, "first") == set()
    shard.flush()
    shard.close()
    reopened = open_shard(tmp_path, stub_mapping, stub_analysis)
    assert searchable_ids(reopened) == {"a", "c"} and reopened.get("a").version == 2


def test_the_mapping_version_is_recorded_in_the_commit_point(tmp_path, stub_mapping, stub_analysis):
    shard = open_shard(tmp_path, stub_mapping, stub_analysis)
    assert shard.mapping_version == 0
    shard.update_mapping(stub_mapping, mapping_version=7)
    shard.flush()
    shard.close()
    assert open_shard(tmp_path, stub_mapping, stub_analysis).mapping_version == 7


def test_statistics_count_documents_operations_and_maintenance(tmp_path, stub_mapping, stub_analysis):
    shard = open_shard(tmp_path, stub_mapping, stub_analysis)
    for number in range(4):
        put(shard, f"d{number}", "x")
    shard.apply_as_primary([DeleteOperation("d0")], 1)
    before = shard.statistics()
    assert (before.doc_count, before.buffered_operations, before.translog_operations) == (0, 5, 5)
    shard.refresh()
    shard.flush()
    after = shard.statistics()
    # d0 was indexed and deleted before the refresh: its copy is in the segment, deleted (as in Lucene)
    assert (after.doc_count, after.deleted_docs, after.segment_count) == (3, 1, 1)
    assert after.refresh_total >= 2 and after.flush_total == 1 and after.size_bytes > 0
    assert (after.local_checkpoint, after.max_seq_no, after.max_primary_term) == (4, 4, 1)
    put(shard, "d1", "y")
    shard.refresh()
    assert shard.statistics().deleted_docs == 2
    shard.force_merge(1)
    merged = shard.statistics()
    # 3 live copies and d0's tombstone, kept for index.gc_deletes (60 s) so a re-created d0 goes on
    # from its version; tombstones are never counted as deleted documents
    assert merged.merge_total == 1 and merged.merged_docs_total == 4 and merged.deleted_docs == 0


def test_async_durability_fsyncs_on_the_interval_not_per_write(tmp_path, stub_mapping, stub_analysis):
    now = [0.0]
    shard = Shard.open(tmp_path, ShardSettings(translog_durability="async", translog_sync_interval_seconds=5.0),
                       stub_mapping, stub_analysis, clock=lambda: now[0])
    for number in range(5):
        put(shard, f"d{number}", "x")
    assert shard._translog.fsync_count == 0 and shard._translog.sync_needed()
    now[0] = 6.0
    shard.scheduled_maintenance()
    assert shard._translog.fsync_count == 1 and not shard._translog.sync_needed()


def test_a_full_indexing_buffer_is_written_out_but_stays_invisible_until_refresh(tmp_path, stub_mapping,
                                                                                 stub_analysis):
    shard = Shard.open(tmp_path, ShardSettings(refresh_interval_seconds=None, indexing_buffer_bytes=500),
                       stub_mapping, stub_analysis)
    for number in range(10):
        put(shard, f"d{number}", "some words to fill the buffer")
    shard.apply_as_primary([DeleteOperation("d0")], 1)
    shard.scheduled_maintenance()
    stats = shard.statistics()
    assert stats.buffered_operations == 0 and stats.segment_count == 1 and stats.doc_count == 0
    assert searchable_ids(shard) == set()
    assert shard.get("d5").version == 1 and shard.get("d0") is None
    put(shard, "d1", "changed")
    shard.refresh()
    assert searchable_ids(shard) == {f"d{n}" for n in range(1, 10)}
    assert searchable_ids(shard, "changed") == {"d1"}


def test_custom_routing_is_kept_through_log_replay_refresh_and_merge(tmp_path, stub_mapping, stub_analysis):
    shard = open_shard(tmp_path, stub_mapping, stub_analysis)
    shard.apply_as_primary([IndexOperation("r", b'{"title":"routed"}', routing="user-7"),
                            IndexOperation("plain", b'{"title":"plain"}')], 1)
    assert shard.get("r").routing == "user-7" and shard.get("plain").routing is None
    shard._translog.close_without_sync_for_tests()
    shard = open_shard(tmp_path, stub_mapping, stub_analysis)        # replayed from the log
    assert shard.get("r").routing == "user-7"
    shard.refresh()
    assert shard.get("r", realtime=False).routing == "user-7"
    assert shard.get("plain", realtime=False).routing is None
    from index.operations import UpdateOperation
    shard.apply_as_primary([UpdateOperation("r", doc={"count": 1}, routing="user-7")], 1)
    shard.force_merge(1)
    assert shard.get("r").routing == "user-7" and shard.get("r").version == 2
    assert [op.routing for op in shard.operations_since(-1)] == ["user-7", None, "user-7"]
