"""Replica path fencing: the request's primary term fences a batch, the operations' own terms only
decide which operation wins a seq_no (ADR 0190)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.errors import StaleOperationError
from index.operations import DeleteOperation, IndexOperation, ReplicatedOperation
from index.shard import Shard, ShardSettings


def index_op(seq_no, document_id, title, term=1, version=1):
    return ReplicatedOperation("index", seq_no, term, version, document_id, orjson.dumps({"title": title}))


@pytest.fixture
def replica(tmp_path, stub_mapping, stub_analysis):
    shard = Shard.open(tmp_path, ShardSettings(translog_retention_operations=0), stub_mapping, stub_analysis)
    yield shard
    shard.close()


def title_of(shard, document_id):
    stored = shard.get(document_id)
    return None if stored is None else orjson.loads(stored.source)["title"]


def test_recovery_history_of_older_terms_applies_after_live_writes_of_the_new_term(replica):
    # live writes forwarded by the term-2 primary arrive before the recovery history does
    replica.apply_as_replica([index_op(3, "d", "d2", term=2)], request_primary_term=2)
    history = [index_op(0, "a", "a1", term=1), index_op(1, "b", "b1", term=1), index_op(2, "c", "c2", term=2)]
    results = replica.apply_as_replica(history, request_primary_term=2)
    assert [result.result for result in results] == ["created", "created", "created"]
    assert replica.local_checkpoint == 3
    assert [title_of(replica, i) for i in "abcd"] == ["a1", "b1", "c2", "d2"]


def test_history_made_only_of_older_term_operations_applies_under_a_current_request_term(replica):
    replica.apply_as_replica([index_op(5, "z", "z", term=2)], request_primary_term=2)
    replica.apply_as_replica([index_op(n, f"doc{n}", "old", term=1) for n in range(5)], request_primary_term=2)
    assert replica.local_checkpoint == 5
    assert replica.max_primary_term == 2


def test_a_request_from_an_older_primary_term_is_rejected_and_changes_nothing(replica):
    replica.apply_as_replica([index_op(0, "a", "a", term=3)], request_primary_term=3)
    with pytest.raises(StaleOperationError, match=r"primary term \[2\].*highest term seen \[3\]"):
        replica.apply_as_replica([index_op(1, "b", "b", term=1)], request_primary_term=2)
    assert replica.get("b") is None
    assert replica.max_seq_no == 0


def test_a_request_term_alone_raises_the_fence_for_later_requests(replica):
    # the term-4 primary's request carries only older operations, yet term-3 senders are now stale
    replica.apply_as_replica([index_op(0, "a", "a", term=1)], request_primary_term=4)
    assert replica.max_primary_term == 4
    with pytest.raises(StaleOperationError):
        replica.apply_as_replica([index_op(1, "b", "b", term=3)], request_primary_term=3)


def test_per_seq_no_the_highest_term_wins_whatever_the_arrival_order(replica):
    replica.apply_as_replica([index_op(0, "a", "resynced", term=2, version=2)], request_primary_term=2)
    late = replica.apply_as_replica([index_op(0, "a", "deposed", term=1)], request_primary_term=2)[0]
    assert late.result == "noop"
    assert title_of(replica, "a") == "resynced"


def test_a_repeated_seq_no_and_term_is_a_noop(replica):
    operation = index_op(0, "a", "a", term=2)
    assert replica.apply_as_replica([operation], request_primary_term=2)[0].result == "created"
    assert replica.apply_as_replica([operation], request_primary_term=2)[0].result == "noop"


def test_without_a_request_term_the_newest_operation_term_fences_the_batch(replica):
    replica.apply_as_replica([index_op(0, "a", "a", term=2)])
    # a batch that holds a current-term operation proves a current sender: its older ones apply
    replica.apply_as_replica([index_op(1, "b", "b", term=1), index_op(2, "c", "c", term=2)])
    assert replica.local_checkpoint == 2
    with pytest.raises(StaleOperationError):
        replica.apply_as_replica([index_op(3, "d", "d", term=1)])


def test_an_operation_newer_than_the_request_term_raises_the_fence_to_its_term(replica):
    # a caller whose cluster state lags may pass an older request term than the history holds
    replica.apply_as_replica([index_op(0, "a", "a", term=3)], request_primary_term=2)
    assert replica.max_primary_term == 3


class _FlatParsed:
    def __init__(self, values):
        self.values = values


class _FlatMapping:
    """A mapping with no typed fields, so the property below needs no function-scoped fixture."""

    def field(self, path):
        return None

    def parse_document(self, source, document_id=None):
        return _FlatParsed({key: [value] for key, value in source.items()})


def _stored(shard, ids="abcd"):
    return {document_id: (stored.source, stored.version, stored.seq_no)
            for document_id in ids if (stored := shard.get(document_id)) is not None}


@settings(max_examples=30, deadline=None)
@given(writes=st.lists(st.tuples(st.sampled_from("abcd"), st.booleans(), st.integers(0, 9)), min_size=1, max_size=20),
       data=st.data())
def test_history_spanning_a_term_bump_delivered_in_any_batches_converges_under_the_new_term(writes, data):
    root = Path(tempfile.mkdtemp(prefix="replica-request-term-"))
    try:
        primary = Shard.open(root / "primary", ShardSettings(), _FlatMapping(), None)
        bump_at = data.draw(st.integers(0, len(writes)))
        history = []
        for number, (document_id, is_delete, value) in enumerate(writes):
            operation = (DeleteOperation(document_id) if is_delete
                         else IndexOperation(document_id, orjson.dumps({"value": value})))
            term = 1 if number < bump_at else 2
            history.extend(result.replicated for result in primary.apply_as_primary([operation], term))
        deliveries = data.draw(st.permutations(history))
        replica = Shard.open(root / "replica", ShardSettings(), _FlatMapping(), None)
        cuts = sorted(data.draw(st.lists(st.integers(0, len(deliveries)), max_size=4)))
        for start, end in zip([0, *cuts], [*cuts, len(deliveries)]):
            # every batch comes from the term-2 primary, whatever terms its operations carry
            replica.apply_as_replica(deliveries[start:end], request_primary_term=2)
        assert _stored(replica) == _stored(primary)
        assert (replica.local_checkpoint, replica.max_primary_term) == (primary.local_checkpoint, 2)
        replica.close()
        primary.close()
    finally:
        shutil.rmtree(root, ignore_errors=True)
