"""Shard replica path: out-of-order application, gaps, term rules, rollback, history."""

from __future__ import annotations

import orjson
import pytest

from index.errors import StaleOperationError
from index.operations import DeleteOperation, IndexOperation, ReplicatedOperation
from index.shard import OperationsNotRetainedError, Shard, ShardSettings


def index_op(seq_no, document_id, title, term=1, version=1):
    return ReplicatedOperation("index", seq_no, term, version, document_id, orjson.dumps({"title": title}))


def delete_op(seq_no, document_id, term=1, version=2):
    return ReplicatedOperation("delete", seq_no, term, version, document_id)


@pytest.fixture
def replica(tmp_path, stub_mapping, stub_analysis):
    shard = Shard.open(tmp_path, ShardSettings(translog_retention_operations=0), stub_mapping, stub_analysis)
    yield shard
    shard.close()


def title_of(shard, document_id):
    stored = shard.get(document_id)
    return None if stored is None else orjson.loads(stored.source)["title"]


def test_out_of_order_operations_track_the_checkpoint_across_gaps(replica):
    replica.apply_as_replica([index_op(2, "c", "c"), index_op(0, "a", "a")])
    assert (replica.local_checkpoint, replica.max_seq_no) == (0, 2)
    replica.apply_as_replica([index_op(1, "b", "b")])
    assert (replica.local_checkpoint, replica.max_seq_no) == (2, 2)
    assert {title_of(replica, i) for i in "abc"} == {"a", "b", "c"}


def test_an_older_operation_arriving_after_a_newer_one_does_not_overwrite_it(replica):
    replica.apply_as_replica([index_op(1, "a", "new", version=2)])
    late = replica.apply_as_replica([index_op(0, "a", "old", version=1)])[0]
    assert late.result == "noop"
    assert title_of(replica, "a") == "new" and replica.get("a").version == 2
    assert replica.local_checkpoint == 1


def test_a_late_index_never_resurrects_a_deleted_document_even_after_refresh_and_restart(
        tmp_path, replica, stub_mapping, stub_analysis):
    replica.apply_as_replica([index_op(0, "x", "x"), delete_op(2, "a")])
    replica.refresh()
    replica.flush()
    replica.close()
    reopened = Shard.open(tmp_path, ShardSettings(), stub_mapping, stub_analysis)
    assert reopened.apply_as_replica([index_op(1, "a", "late")])[0].result == "noop"
    assert reopened.get("a") is None and reopened.local_checkpoint == 2
    reopened.close()


def test_a_repeated_operation_is_a_noop_and_is_logged_once(replica):
    operation = index_op(0, "a", "a")
    assert replica.apply_as_replica([operation])[0].result == "created"
    assert replica.apply_as_replica([operation])[0].result == "noop"
    assert replica.get("a").version == 1
    assert [op.seq_no for op in replica.operations_since(-1)] == [0]


def test_operations_from_an_older_term_are_rejected(replica):
    replica.apply_as_replica([index_op(0, "a", "a", term=3)])
    with pytest.raises(StaleOperationError, match=r"primary term \[2\]"):
        replica.apply_as_replica([index_op(1, "b", "b", term=2)])
    with pytest.raises(StaleOperationError):
        replica.apply_as_primary([IndexOperation("c", b'{"title":"c"}')], 2)
    assert replica.get("b") is None and replica.max_seq_no == 0


def test_noop_records_fill_gaps_and_advance_the_checkpoint(replica):
    replica.apply_as_replica([index_op(0, "a", "a"), index_op(3, "d", "d")])
    assert replica.local_checkpoint == 0
    assert replica.fill_seq_no_gaps(primary_term=2) == 2
    assert replica.local_checkpoint == 3
    history = list(replica.operations_since(-1))
    assert [(op.seq_no, op.kind) for op in history] == [(0, "index"), (1, "noop"), (2, "noop"), (3, "index")]


def test_a_primary_continues_seq_nos_after_replica_operations(replica):
    replica.apply_as_replica([index_op(0, "a", "a"), index_op(1, "b", "b")])
    result = replica.apply_as_primary([IndexOperation("a", b'{"title":"again"}')], 2)[0]
    assert (result.seq_no, result.version, result.result) == (2, 2, "updated")


def test_rollback_restores_each_document_to_its_state_at_the_seq_no(tmp_path, replica, stub_mapping, stub_analysis):
    replica.apply_as_replica([index_op(0, "a", "a-v1"), index_op(1, "b", "b-v1"), delete_op(2, "c", version=1)])
    replica.flush()
    replica.apply_as_replica([index_op(3, "a", "a-v2", version=2), delete_op(4, "b"),
                              index_op(5, "c", "c-new", version=2), index_op(6, "d", "d-new")])
    replica.refresh()
    replica.rollback_above(2)
    assert (replica.local_checkpoint, replica.max_seq_no) == (2, 2)
    assert title_of(replica, "a") == "a-v1" and replica.get("a").version == 1
    assert title_of(replica, "b") == "b-v1"
    assert replica.get("c") is None and replica.get("d") is None
    # the new primary's operations reuse the rolled-back seq_nos under a higher term
    replica.apply_as_replica([index_op(3, "e", "e", term=2)])
    assert replica.local_checkpoint == 3
    replica.close()
    reopened = Shard.open(tmp_path, ShardSettings(), stub_mapping, stub_analysis)
    assert title_of(reopened, "a") == "a-v1" and title_of(reopened, "b") == "b-v1"
    assert reopened.get("d") is None and title_of(reopened, "e") == "e"
    reopened.refresh()
    live_ids = {s.document_id(d) for s in reopened.acquire_searcher().segments for d in s.live_docs()}
    assert live_ids == {"a", "b", "e"}
    reopened.close()


def test_rollback_of_unrefreshed_operations_restores_from_the_log(replica):
    replica.apply_as_replica([index_op(0, "a", "v1")])
    replica.apply_as_replica([index_op(1, "a", "v2", version=2)])
    replica.rollback_above(0)
    assert title_of(replica, "a") == "v1"


def test_operations_since_returns_one_operation_per_seq_no_in_order(replica):
    replica.apply_as_replica([index_op(1, "b", "b"), index_op(0, "a", "a"), delete_op(2, "a")])
    history = list(replica.operations_since(0))
    assert [(op.seq_no, op.kind) for op in history] == [(1, "index"), (2, "delete")]


def test_operations_since_refuses_a_range_the_log_no_longer_holds(replica):
    replica.apply_as_primary([DeleteOperation("x")] * 3, 1)
    replica.flush()
    replica.flush()
    with pytest.raises(OperationsNotRetainedError, match="seq_no \\[0\\]"):
        list(replica.operations_since(-1))
    assert list(replica.operations_since(2)) == []


def test_merges_keep_superseded_copies_above_the_global_checkpoint_so_rollback_can_restore_them(replica):
    replica.apply_as_replica([index_op(0, "a", "v1")])
    replica.flush()
    replica.apply_as_replica([index_op(1, "a", "v2", version=2), delete_op(2, "b", version=1)])
    replica.global_checkpoint = 0
    replica.force_merge(1)                        # the log is trimmed too: only the segments remember v1
    assert replica.statistics().segment_count == 1
    replica.rollback_above(0)
    assert title_of(replica, "a") == "v1" and replica.get("a").version == 1


def test_merges_drop_superseded_copies_at_or_below_the_global_checkpoint(replica):
    replica.apply_as_replica([index_op(0, "a", "v1")])
    replica.refresh()
    replica.apply_as_replica([index_op(1, "a", "v2", version=2)])
    replica.global_checkpoint = 1
    replica.force_merge(1)
    [segment] = replica.acquire_searcher().segments
    assert segment.max_doc == 1 and replica.statistics().deleted_docs == 0


def test_file_based_recovery_copies_a_commit_snapshot_then_replays_the_rest(tmp_path, stub_mapping, stub_analysis):
    import shutil
    primary = Shard.open(tmp_path / "primary", ShardSettings(translog_retention_operations=0), stub_mapping,
                         stub_analysis)
    primary.apply_as_primary([IndexOperation(f"d{n}", orjson.dumps({"title": f"t{n}"})) for n in range(5)], 1)
    primary.apply_as_primary([DeleteOperation("d1")], 1)
    primary.flush()
    target = tmp_path / "replica"
    target.mkdir()
    with primary.commit_snapshot() as snapshot:
        primary.apply_as_primary([IndexOperation("d2", b'{"title":"after"}'), IndexOperation("late", b'{"title":"x"}')], 1)
        primary.flush()                                   # the snapshot's files stay pinned
        for name in snapshot.files:
            shutil.copyfile(snapshot.directory / name, target / name)
        shutil.copyfile(snapshot.directory / snapshot.commit_file, target / "commit.qcp")
        start = snapshot.local_checkpoint
    Shard.start_history_from_copied_commit(target)
    replica = Shard.open(target, ShardSettings(), stub_mapping, stub_analysis)
    assert replica.local_checkpoint == start == 5
    replica.apply_as_replica(list(primary.operations_since(start)))
    assert replica.local_checkpoint == primary.local_checkpoint == 7
    for document_id in ["d0", "d1", "d2", "d3", "d4", "late"]:
        mine, theirs = replica.get(document_id), primary.get(document_id)
        assert (mine is None) == (theirs is None), document_id
        if mine is not None:
            assert (mine.source, mine.version, mine.seq_no) == (theirs.source, theirs.version, theirs.seq_no)
    replica.close()
    primary.close()
