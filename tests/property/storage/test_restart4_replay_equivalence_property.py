"""A shard that flushes on maintenance's thresholds (ADR 0290) and crashes at random points ends up
exactly like a shard that applied the same operations without ever flushing or crashing: the same
answer to every write (result, seq_no, term, version, conflict), the same documents with the same
seq_no/term/version/_source, the same deletes, the same checkpoints — i.e. commits made by
threshold flushes (unpublished) plus replay of the log above them lose and repeat nothing."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.analysis import AnalysisRegistry
from index.mapping import Mapping
from index.operations import DeleteOperation, IndexOperation, UpdateOperation
from index.shard import Shard, ShardSettings

MAPPING = Mapping.from_json({"properties": {"title": {"type": "text"}, "n": {"type": "long"}}})
ANALYSIS = AnalysisRegistry.from_index_settings({})
IDS = [f"doc-{number}" for number in range(8)]

document_ids = st.sampled_from(IDS)
titles = st.sampled_from(["red fox", "blue whale", "green tree", "grey cloud"])
write = st.one_of(
    st.tuples(st.just("index"), document_ids, titles),
    st.tuples(st.just("create"), document_ids, titles),
    st.tuples(st.just("delete"), document_ids, st.none()),
    st.tuples(st.just("update"), document_ids, titles),
    st.tuples(st.just("index_if_seq_no"), document_ids, titles),
)
step = st.one_of(
    st.tuples(st.just("write"), st.lists(write, min_size=1, max_size=5)),
    st.tuples(st.just("fresh_batch"), st.integers(min_value=1, max_value=12)),   # distinct new ids: the fast paths
    st.tuples(st.just("maintenance"), st.floats(min_value=0.0, max_value=40.0)),  # seconds that pass first
    st.tuples(st.just("refresh"), st.none()),
    st.tuples(st.just("crash"), st.none()),
)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def operation_of(kind: str, document_id: str, title: str | None, number: int, subject: Shard):
    source = orjson.dumps({"title": title, "n": number}) if title is not None else None
    if kind == "index":
        return IndexOperation(document_id, source)
    if kind == "create":
        return IndexOperation(document_id, source, op_type="create")
    if kind == "delete":
        return DeleteOperation(document_id)
    if kind == "update":
        return UpdateOperation(document_id, doc={"title": title}, upsert={"title": title, "n": number})
    current = subject.get(document_id)       # a compare-and-set against what the shard holds now
    return IndexOperation(document_id, source, if_seq_no=current.seq_no if current else 0,
                          if_primary_term=current.primary_term if current else 1)


def answer(result) -> tuple:
    return (result.document_id, result.result, result.seq_no, result.primary_term, result.version,
            None if result.error is None else type(result.error).__name__)


def documents(shard: Shard) -> dict:
    held = {}
    for document_id in IDS + [f"fresh-{number}" for number in range(200)]:
        stored = shard.get(document_id)
        if stored is not None:
            held[document_id] = (stored.seq_no, stored.primary_term, stored.version, stored.source)
    return held


def searchable(shard: Shard) -> set:
    return {segment.document_id(doc) for segment in shard.acquire_searcher().segments for doc in segment.live_docs()}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(step, min_size=1, max_size=25), operations_threshold=st.integers(min_value=1, max_value=6))
def test_threshold_flushes_and_crashes_change_nothing_a_shard_answers_or_holds(steps, operations_threshold):
    directory = Path(tempfile.mkdtemp(prefix="restart4-replay-"))
    clock = Clock()
    # gc_deletes longer than any run: the reference never flushes or merges, so it remembers every
    # delete; how tombstones expire is tested on its own (tests/unit/index/storage)
    subject_settings = ShardSettings(refresh_interval_seconds=None, flush_threshold_operations=operations_threshold,
                                     flush_after_inactive_seconds=30.0, translog_retention_operations=0,
                                     gc_deletes_seconds=1e9)
    reference_settings = ShardSettings(refresh_interval_seconds=None, flush_threshold_operations=None,
                                       flush_after_inactive_seconds=None)
    subject = Shard.open(directory / "subject", subject_settings, MAPPING, ANALYSIS, clock=clock)
    reference = Shard.open(directory / "reference", reference_settings, MAPPING, ANALYSIS, clock=clock)
    fresh_number = 0
    try:
        for number, (kind, argument) in enumerate(steps):
            if kind in ("write", "fresh_batch"):
                if kind == "write":
                    operations = [operation_of(write_kind, document_id, title, number, subject)
                                  for write_kind, document_id, title in argument]
                else:
                    operations = [IndexOperation(f"fresh-{fresh_number + offset}",
                                                 orjson.dumps({"title": "fresh words", "n": offset}))
                                  for offset in range(argument)]
                    fresh_number += argument
                subject_answers = [answer(result) for result in subject.apply_as_primary(operations, 1)]
                reference_answers = [answer(result) for result in reference.apply_as_primary(operations, 1)]
                assert subject_answers == reference_answers
            elif kind == "maintenance":
                clock.now += argument
                subject.scheduled_maintenance()
            elif kind == "refresh":
                subject.refresh()
                reference.refresh()
                assert searchable(subject) == searchable(reference)
            else:
                subject._translog.close_without_sync_for_tests()
                subject = Shard.open(directory / "subject", subject_settings, MAPPING, ANALYSIS, clock=clock)
            assert (subject.local_checkpoint, subject.max_seq_no) == (reference.local_checkpoint, reference.max_seq_no)
        assert documents(subject) == documents(reference)
        subject._translog.close_without_sync_for_tests()
        subject = Shard.open(directory / "subject", subject_settings, MAPPING, ANALYSIS, clock=clock)
        assert documents(subject) == documents(reference)
        assert (subject.local_checkpoint, subject.max_seq_no) == (reference.local_checkpoint, reference.max_seq_no)
        subject.refresh()
        reference.refresh()
        assert searchable(subject) == searchable(reference)
    finally:
        subject.close()
        reference.close()
        shutil.rmtree(directory, ignore_errors=True)
