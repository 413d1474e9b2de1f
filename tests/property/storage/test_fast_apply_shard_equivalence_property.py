"""The primary's columnar fast path (plain index/create batches) is invisible: any sequence of write
batches gives the same results, the same documents (realtime and after a refresh), the same
history and the same state after a reopen with the fast path as with the general path only.
Batches mix index and create, repeated ids, ids already buffered or already in segments, custom
routing, invalid sources, values out of range, documents that need a mapping update, deletes,
updates and version checks (the last three always take the general path)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

import index.shard as shard_module
from index.analysis import AnalysisRegistry
from index.errors import MappingUpdateRequired
from index.mapping import Mapping
from index.operations import DeleteOperation, IndexOperation, UpdateOperation
from index.shard import Shard, ShardSettings

MAPPING_JSON = {"properties": {"title": {"type": "text", "fields": {"raw": {"type": "keyword"}}},
                               "n": {"type": "integer"}, "tag": {"type": "keyword"}}}
IDS = ["a", "b", "c", "d", "é"]

sources = st.one_of(
    st.builds(lambda title, n: orjson.dumps({"title": title, "n": n}), st.text(max_size=6), st.integers(-5, 5)),
    st.builds(lambda n, tag: orjson.dumps({"n": n, "tag": tag}), st.integers(-5, 5), st.sampled_from(["x", "y"])),
    st.sampled_from([b"{", b"[1]", b'{"n": 99999999999}', b'{"n": "7"}', b'{"title": ["two", "values"]}', b"{}"]),
)
index_operations = st.builds(
    lambda document_id, source, op_type, routing: IndexOperation(document_id, source, op_type=op_type, routing=routing),
    st.sampled_from(IDS), sources, st.sampled_from(["index", "index", "create"]), st.sampled_from([None, None, "r1"]))
other_operations = st.one_of(
    st.builds(DeleteOperation, st.sampled_from(IDS)),
    st.builds(lambda document_id: UpdateOperation(document_id, doc={"tag": "u"}), st.sampled_from(IDS)),
    st.builds(lambda document_id: IndexOperation(document_id, b'{"n": 1}', if_seq_no=0, if_primary_term=1),
              st.sampled_from(IDS)),
)
steps = st.lists(st.one_of(
    st.tuples(st.just("write"), st.lists(index_operations, min_size=1, max_size=6)),
    st.tuples(st.just("write"), st.lists(st.one_of(index_operations, other_operations), min_size=1, max_size=4)),
    st.tuples(st.just("write"), st.just([IndexOperation("dynamic", b'{"unmapped": 1}')])),
    st.tuples(st.just("refresh"), st.just(None)),
), min_size=1, max_size=8)


def _result_view(result):
    error = None if result.error is None else (type(result.error).__name__, result.error.reason)
    return (result.document_id, result.result, result.seq_no, result.primary_term, result.version, error,
            result.replicated, result.source)


def _document_view(document):
    if document is None:
        return None
    return (document.document_id, document.source, document.seq_no, document.primary_term, document.version,
            document.routing)


def _run(path: Path, script, fast_path: bool, monkeypatch_target: dict) -> list:
    if not fast_path:
        monkeypatch_target["_plain_index_batch"] = lambda operations: None
    try:
        shard = Shard.open(path, ShardSettings(refresh_interval_seconds=None, translog_durability="async",
                                               translog_sync_interval_seconds=3600.0),
                           Mapping.from_json(MAPPING_JSON), AnalysisRegistry.from_index_settings({}))
        observed = []
        for kind, operations in script:
            if kind == "refresh":
                shard.refresh()
                continue
            try:
                results = shard.apply_as_primary(operations, 1)
            except MappingUpdateRequired as required:
                observed.append(("mapping update", required.update))
                continue
            assert type(results) is list
            observed.append([_result_view(result) for result in results])
        observed.append([_document_view(shard.get(document_id)) for document_id in IDS])
        observed.append((shard.local_checkpoint, shard.max_seq_no, shard.statistics().buffered_operations))
        observed.append(list(shard.operations_since(-1)))
        shard.refresh()
        searcher = shard.acquire_searcher()
        observed.append(sorted((document_id, searcher.get(document_id) is not None) for document_id in IDS))
        shard._translog.close_without_sync_for_tests()
        reopened = Shard.open(path, ShardSettings(), Mapping.from_json(MAPPING_JSON),
                              AnalysisRegistry.from_index_settings({}))
        observed.append([_document_view(reopened.get(document_id)) for document_id in IDS])
        reopened.close()
        return observed
    finally:
        monkeypatch_target["_plain_index_batch"] = ORIGINAL_PLAIN_INDEX_BATCH


ORIGINAL_PLAIN_INDEX_BATCH = shard_module._plain_index_batch


@settings(max_examples=60, deadline=None)
@given(steps)
def test_the_fast_path_and_the_general_path_give_the_same_outcome(script) -> None:
    with tempfile.TemporaryDirectory() as fast_directory, tempfile.TemporaryDirectory() as general_directory:
        with_fast_path = _run(Path(fast_directory), script, True, vars(shard_module))
        general_only = _run(Path(general_directory), script, False, vars(shard_module))
    assert with_fast_path == general_only


def test_a_plain_batch_takes_the_fast_path(tmp_path, monkeypatch) -> None:
    taken = []
    original = shard_module.Shard._apply_plain_index_batch_locked

    def spy(self, *arguments):
        outcome = original(self, *arguments)
        taken.append(outcome is not None)
        return outcome

    monkeypatch.setattr(shard_module.Shard, "_apply_plain_index_batch_locked", spy)
    shard = Shard.open(tmp_path, ShardSettings(), Mapping.from_json(MAPPING_JSON),
                       AnalysisRegistry.from_index_settings({}))
    shard.apply_as_primary([IndexOperation(document_id, b'{"title": "t", "n": 1}') for document_id in IDS], 1)
    shard.apply_as_primary([IndexOperation("a", b'{"n": 2}'), IndexOperation("a", b'{"n": 3}')], 1)  # repeated id
    assert taken == [True, False]
    assert shard.get("a").version == 3 and shard.max_seq_no == 6
    shard.close()


def test_auto_generated_ids_take_the_fast_path_and_are_distinct_and_retrievable(tmp_path) -> None:
    shard = Shard.open(tmp_path, ShardSettings(), Mapping.from_json(MAPPING_JSON),
                       AnalysisRegistry.from_index_settings({}))
    results = shard.apply_as_primary([IndexOperation(None, orjson.dumps({"n": n})) for n in range(50)], 1)
    identifiers = [result.document_id for result in results]
    assert len(set(identifiers)) == 50 and all(len(identifier) == 20 for identifier in identifiers)
    assert [result.result for result in results] == ["created"] * 50
    assert [result.seq_no for result in results] == list(range(50))
    assert shard.get(identifiers[7]).source == b'{"n":7}'
    shard.close()
