"""The columnar write on the worker (shard_service ``_write_columns`` → index/shard.py
``apply_index_batch_as_primary``): no per-document objects, and exactly the answer, the stored
documents and the replicated operations of the per-operation path — or, when the shard declines a
batch (an id twice, a create meeting a live document, a source that does not parse), nothing
applied by it and the per-operation path's answer."""

from __future__ import annotations

import logging

import orjson
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from index.analysis import AnalysisRegistry
from index.errors import MappingUpdateRequired
from index.mapping import Mapping
from index.operations import IndexOperation
from index.shard import Shard, ShardSettings
from node.workers import shard_service
from node.workers.registry import ShardRegistry

MAPPINGS = {"properties": {"n": {"type": "long"}, "title": {"type": "text"}}}


def key(payload=None):
    return {"index_uuid": "idx-uuid", "shard_number": 0, **(payload or {})}


def open_registry(path):
    registry = ShardRegistry(path, 0)
    shard_service.open_shard(registry, key({"settings": {"index.refresh_interval": "-1"}, "mappings": MAPPINGS,
                                            "mapping_version": 1}), b"")
    return registry


@pytest.fixture
def twin_registries(tmp_path):
    columnar, per_item = open_registry(tmp_path / "columnar"), open_registry(tmp_path / "per-item")
    yield columnar, per_item
    for registry in (columnar, per_item):
        registry.close_all(logging.getLogger("test"), flush=False)


def columnar_write(registry, actions, ids, sources, replicate=False, refresh="false"):
    return shard_service.write(registry, key({
        "columns": {"actions": actions, "ids": ids, "lengths": [len(source) for source in sources]},
        "primary_term": 1, "mapping_version": 1, "replicate": replicate, "refresh": refresh}), b"".join(sources))


def per_item_write(registry, actions, ids, sources, replicate=False, refresh="false"):
    actions = [actions] * len(ids) if isinstance(actions, str) else actions
    items = [[action, document_id, {"length": len(source)}] for action, document_id, source in zip(actions, ids, sources)]
    return shard_service.write(registry, key({"items": items, "primary_term": 1, "mapping_version": 1,
                                              "replicate": replicate, "refresh": refresh}), b"".join(sources))


def as_columns(answer):
    """The per-operation answer's results in the columnar answer's shape."""
    results = answer["results"]
    return {"result": [item.get("result") for item in results], "seq_no": [item.get("_seq_no") for item in results],
            "version": [item.get("_version") for item in results],
            "errors": [[position, item["error"]["type"]] for position, item in enumerate(results) if "error" in item]}


def comparable(columns_answer):
    results = columns_answer["results"]
    errors = [[position, error_type] for position, error_type, _reason, *_cause in results["errors"]]
    failed = {position for position, _ in errors}
    return {"result": [None if p in failed else r for p, r in enumerate(results["result"])],
            "seq_no": [None if p in failed else s for p, s in enumerate(results["seq_no"])],
            "version": [None if p in failed else v for p, v in enumerate(results["version"])],
            "errors": errors}


def source(number):
    return orjson.dumps({"n": number, "title": f"words {number}"})


def test_a_plain_batch_answers_as_the_per_operation_path_and_replicates_the_same_operations(twin_registries):
    columnar, per_item = twin_registries
    ids = [f"d{number}" for number in range(30)]
    sources = [source(number) for number in range(30)]
    answer, body = columnar_write(columnar, "index", ids, sources, replicate=True)
    expected, expected_body = per_item_write(per_item, "index", ids, sources, replicate=True)
    assert comparable(answer) == as_columns(expected)
    assert answer["replicated"] == expected["replicated"] and body == expected_body
    assert answer["local_checkpoint"] == expected["local_checkpoint"] == 29
    # again: every document is updated now, versions 2
    answer, _ = columnar_write(columnar, "index", ids, sources)
    expected, _ = per_item_write(per_item, "index", ids, sources)
    assert comparable(answer) == as_columns(expected)
    assert set(answer["results"]["result"]) == {"updated"} and set(answer["results"]["version"]) == {2}


def test_a_refresh_true_write_is_searchable_and_says_forced_refresh(twin_registries):
    columnar, _ = twin_registries
    answer, _ = columnar_write(columnar, "create", ["a", "b"], [source(1), source(2)], refresh="true")
    assert answer["forced_refresh"] is True
    assert columnar.get("idx-uuid", 0).statistics().doc_count == 2


ids_strategy = st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), min_size=1, max_size=6)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(ids_strategy, st.lists(st.sampled_from(["index", "create"]), min_size=6, max_size=6),
                          st.lists(st.booleans(), min_size=6, max_size=6)), min_size=1, max_size=4))
def test_any_sequence_of_batches_leaves_both_paths_with_the_same_answers_and_documents(tmp_path_factory, batches):
    base = tmp_path_factory.mktemp("twins")
    columnar, per_item = open_registry(base / "columnar"), open_registry(base / "per-item")
    try:
        for ids, actions, parseable in batches:
            actions = actions[:len(ids)]
            sources = [source(position) if ok else b"{not json" for position, ok in enumerate(parseable[:len(ids)])]
            answer, _ = columnar_write(columnar, actions, ids, sources, replicate=True)
            expected, _ = per_item_write(per_item, actions, ids, sources, replicate=True)
            assert comparable(answer) == as_columns(expected)
            assert answer["replicated"] == expected["replicated"]
        for document_id in "abcde":
            got = shard_service.get(columnar, key({"id": document_id}), b"")
            want = shard_service.get(per_item, key({"id": document_id}), b"")
            assert got == want
    finally:
        for registry in (columnar, per_item):
            registry.close_all(logging.getLogger("test"), flush=False)


def open_shard(path):
    return Shard.open(path, ShardSettings(refresh_interval_seconds=None), Mapping.from_json(MAPPINGS),
                      AnalysisRegistry.from_index_settings({}))


def test_a_declined_batch_applies_nothing(tmp_path):
    shard = open_shard(tmp_path)
    assert shard.apply_index_batch_as_primary(["x", "x"], [source(1), source(2)], None, 1) is None
    assert shard.apply_index_batch_as_primary(["y"], [b"{broken"], None, 1) is None
    shard.apply_as_primary([IndexOperation("z", source(0))], 1)
    assert shard.apply_index_batch_as_primary(["z"], [source(3)], ["create"], 1) is None
    assert shard.max_seq_no == 0 and shard.get("x") is None and shard.get("y") is None
    assert shard.get("z").version == 1
    shard.close()


def test_a_batch_with_a_new_field_raises_mapping_update_required_before_applying(tmp_path):
    shard = open_shard(tmp_path)
    with pytest.raises(MappingUpdateRequired):
        shard.apply_index_batch_as_primary(["a", "b"], [source(1), b'{"brand_new": "x"}'], None, 1)
    assert shard.max_seq_no == -1 and shard.get("a") is None
    shard.close()


def test_generated_ids_are_filled_in_and_returned(tmp_path):
    shard = open_shard(tmp_path)
    outcome = shard.apply_index_batch_as_primary([None, "given", None], [source(1), source(2), source(3)], None, 1)
    assert outcome.document_ids[1] == "given" and all(outcome.document_ids)
    assert len(set(outcome.document_ids)) == 3 and list(outcome.seq_nos) == [0, 1, 2]
    assert [shard.get(document_id).source for document_id in outcome.document_ids] == [source(1), source(2), source(3)]
    shard.close()
