"""The replica's batch fast path (plain index batches, ADR 0245) and start-up replay by record are
invisible: any sequence of replica batches — out of order, repeated (seq_no, term), a higher term
over a lower one at the same seq_no, gaps, deletes and no-ops mixed in, invalid sources, sources
that need a mapping update, stale request terms, crashes and reopens — gives the same results,
errors, documents, checkpoints, history and reopened state with the fast path as with the general
per-operation path only."""

from __future__ import annotations

import tempfile
from pathlib import Path

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

import index.shard as shard_module
from index.analysis import AnalysisRegistry
from index.errors import IndexEngineError, MapperParsingError
from index.mapping import Mapping
from index.operations import ReplicatedOperation
from index.shard import Shard, ShardSettings

MAPPING_JSON = {"properties": {"title": {"type": "text", "fields": {"raw": {"type": "keyword"}}},
                               "n": {"type": "integer"}, "tag": {"type": "keyword"},
                               "inner": {"properties": {"x": {"type": "integer"}}}}}
IDS = ["a", "b", "c", "d", "é"]
SETTINGS = ShardSettings(refresh_interval_seconds=None, translog_durability="async",
                         translog_sync_interval_seconds=3600.0)

sources = st.one_of(
    st.builds(lambda title, n: orjson.dumps({"title": title, "n": n}), st.text(max_size=6), st.integers(-5, 5)),
    st.builds(lambda n, tag: orjson.dumps({"n": n, "tag": tag}), st.integers(-5, 5), st.sampled_from(["x", "y"])),
    st.builds(lambda x: orjson.dumps({"inner": {"x": x}}), st.integers(0, 3)),     # not flat: parse_document
    st.sampled_from([b'{"title": "plain"}', b"{}", b'{"title": ["two", "values"]}']),
)
rare_sources = st.sampled_from([b"{", b"[1]", b'{"n": 99999999999}', b'{"unmapped": 1}'])
index_operations = st.builds(
    lambda seq_no, term, version, document_id, source, routing: ReplicatedOperation(
        "index", seq_no, term, version, document_id, source, routing=routing),
    st.integers(0, 14), st.sampled_from([1, 1, 1, 2, 3]), st.integers(1, 4), st.sampled_from(IDS),
    st.one_of(sources, sources, sources, rare_sources), st.sampled_from([None, None, "r1"]))
other_operations = st.one_of(
    st.builds(lambda seq_no, term, document_id: ReplicatedOperation("delete", seq_no, term, 2, document_id),
              st.integers(0, 14), st.sampled_from([1, 2]), st.sampled_from(IDS)),
    st.builds(lambda seq_no, term: ReplicatedOperation("noop", seq_no, term, 1, reason="filling gaps"),
              st.integers(0, 14), st.sampled_from([1, 2])),
)
# mostly runs of distinct consecutive seq_nos (what live replication and recovery send)
consecutive_batches = st.builds(
    lambda start, ids, term, source_list: [ReplicatedOperation("index", start + offset, term, 1, document_id, source)
                                           for offset, (document_id, source) in enumerate(zip(ids, source_list))],
    st.integers(0, 10), st.lists(st.sampled_from(IDS), min_size=1, max_size=5, unique=True),
    st.sampled_from([1, 1, 2]), st.lists(sources, min_size=5, max_size=5))
steps = st.lists(st.one_of(
    st.tuples(st.just("replicate"), consecutive_batches, st.sampled_from([None, None, 1, 2, 3])),
    st.tuples(st.just("replicate"), st.lists(index_operations, min_size=1, max_size=6), st.sampled_from([None, 1, 2])),
    st.tuples(st.just("replicate"), st.lists(st.one_of(index_operations, other_operations), min_size=1, max_size=5),
              st.sampled_from([None, 1, 2])),
    st.tuples(st.just("refresh"), st.none(), st.none()),
    st.tuples(st.just("crash and reopen"), st.none(), st.none()),
), min_size=1, max_size=9)


def _result_view(result):
    error = None if result.error is None else (type(result.error).__name__, result.error.reason)
    return (result.document_id, result.result, result.seq_no, result.primary_term, result.version, error,
            result.replicated, result.source)


def _document_view(document):
    if document is None:
        return None
    return (document.document_id, document.source, document.seq_no, document.primary_term, document.version,
            document.routing)


def _state_view(shard: Shard) -> tuple:
    tracker = shard._tracker
    return ([_document_view(shard.get(document_id)) for document_id in IDS],
            (shard.local_checkpoint, shard.max_seq_no, shard.max_primary_term, sorted(tracker.processed_above.items()),
             shard.statistics().buffered_operations),
            list(shard.operations_since(-1)))


def _open(path: Path) -> Shard:
    return Shard.open(path, SETTINGS, Mapping.from_json(MAPPING_JSON), AnalysisRegistry.from_index_settings({}))


def _run(path: Path, script, fast_path: bool) -> list:
    original = Shard._parse_replicated_index_batch
    if not fast_path:
        Shard._parse_replicated_index_batch = lambda self, operations: None
    try:
        shard = _open(path)
        observed = []
        for kind, operations, request_term in script:
            if kind == "refresh":
                shard.refresh()
                continue
            if kind == "crash and reopen":
                shard._translog.close_without_sync_for_tests()
                shard = _open(path)
                observed.append(_state_view(shard))
                continue
            try:
                results = shard.apply_as_replica(operations, request_term)
            except (IndexEngineError, MapperParsingError) as error:
                observed.append((type(error).__name__, str(error)))
                continue
            assert type(results) is list
            observed.append([_result_view(result) for result in results])
            observed.append(_state_view(shard))
        shard.refresh()
        searcher = shard.acquire_searcher()
        observed.append(sorted((document_id, searcher.get(document_id) is not None) for document_id in IDS))
        shard._translog.close_without_sync_for_tests()
        reopened = _open(path)
        observed.append(_state_view(reopened))
        reopened.close()
        return observed
    finally:
        Shard._parse_replicated_index_batch = original


@settings(max_examples=80, deadline=None)
@given(steps)
def test_fast_replica_path_and_general_path_give_the_same_outcome(script) -> None:
    with tempfile.TemporaryDirectory() as fast_directory, tempfile.TemporaryDirectory() as general_directory:
        with_fast_path = _run(Path(fast_directory), script, True)
        general_only = _run(Path(general_directory), script, False)
    assert with_fast_path == general_only


def _spy_on_fast_path(monkeypatch) -> list[bool]:
    taken: list[bool] = []
    original = Shard._apply_replicated_index_batch_locked

    def spy(self, *arguments, **keywords):
        outcome = original(self, *arguments, **keywords)
        taken.append(outcome is not None)
        return outcome

    monkeypatch.setattr(shard_module.Shard, "_apply_replicated_index_batch_locked", spy)
    return taken


def test_fast_replica_path_takes_a_plain_batch_and_leaves_repeats_to_the_general_path(tmp_path, monkeypatch) -> None:
    taken = _spy_on_fast_path(monkeypatch)
    shard = _open(tmp_path)
    batch = [ReplicatedOperation("index", seq_no, 1, 1, document_id, b'{"title": "t", "n": 1}')
             for seq_no, document_id in zip([3, 1, 2, 0, 4], IDS)]
    results = shard.apply_as_replica(batch, 1)
    assert [result.result for result in results] == ["created"] * 5 and shard.local_checkpoint == 4
    repeated = shard.apply_as_replica(batch[:2], 1)           # same (seq_no, term): no-ops
    assert [result.result for result in repeated] == ["noop", "noop"]
    overlapping = batch[3:] + [ReplicatedOperation("index", 5, 1, 1, "f", b'{"n": 5}')]   # seq_nos 0, 4 and new 5
    partly = shard.apply_as_replica(overlapping, 1)
    assert [result.result for result in partly] == ["noop", "noop", "created"]
    assert [result.source for result in partly] == [None, None, b'{"n": 5}']
    assert taken == [True, False, True]
    assert len(list(shard.operations_since(-1))) == 6 and shard.local_checkpoint == 5
    shard.close()


def test_fast_replica_replay_applies_a_logged_record_as_one_batch_and_restores_everything(tmp_path,
                                                                                        monkeypatch) -> None:
    shard = _open(tmp_path)
    shard.apply_as_replica([ReplicatedOperation("index", seq_no, 2, 1, f"id{seq_no}", orjson.dumps({"n": seq_no}),
                                                routing="r" if seq_no % 2 else None)
                            for seq_no in [0, 1, 2, 5, 6]], 2)
    before = _state_view(shard)
    shard._translog.close_without_sync_for_tests()
    taken = _spy_on_fast_path(monkeypatch)
    reopened = _open(tmp_path)
    assert taken == [True]
    assert _state_view(reopened) == before
    assert reopened.local_checkpoint == 2 and reopened.max_seq_no == 6 and reopened.max_primary_term == 2
    assert reopened.get("id5").routing == "r"
    reopened.close()


def test_fast_replica_path_applies_a_higher_term_over_a_seq_no_processed_under_a_lower_one(tmp_path) -> None:
    def index(seq_no, term, document_id):
        return ReplicatedOperation("index", seq_no, term, 1, document_id, orjson.dumps({"n": seq_no}))

    script = [("replicate", [index(1, 1, "a"), index(3, 1, "c")], None),              # gaps at 0 and 2
              ("replicate", [index(1, 2, "b"), index(2, 2, "e"), index(3, 1, "d")], 2)]
    with_fast_path = _run(tmp_path / "fast", script, True)
    assert with_fast_path == _run(tmp_path / "general", script, False)
    second_batch_results = with_fast_path[2]
    assert [(view[0], view[1]) for view in second_batch_results] == [("b", "created"), ("e", "created"), ("d", "noop")]
