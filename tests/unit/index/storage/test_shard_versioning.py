"""Shard primary path: results, seq_nos and versions, and conflicts exactly as OpenSearch."""

from __future__ import annotations

import orjson
import pytest

from index.errors import DocumentMissingError, MappingUpdateRequired, VersionConflictError
from index.operations import DeleteOperation, IndexOperation, UpdateOperation
from index.shard import Shard, ShardSettings


@pytest.fixture
def shard(tmp_path, stub_mapping, stub_analysis):
    opened = Shard.open(tmp_path / "shard", ShardSettings(), stub_mapping, stub_analysis)
    yield opened
    opened.close()


def index(shard, document_id, term=1, **options):
    source = options.pop("source", {"title": f"text of {document_id}"})
    return shard.apply_as_primary([IndexOperation(document_id, orjson.dumps(source), **options)], term)[0]


def test_index_then_reindex_reports_created_then_updated_with_growing_versions_and_seq_nos(shard):
    first = index(shard, "a")
    second = index(shard, "a")
    assert (first.result, first.version, first.seq_no, first.primary_term) == ("created", 1, 0, 1)
    assert (second.result, second.version, second.seq_no) == ("updated", 2, 1)
    assert shard.local_checkpoint == 1 and shard.max_seq_no == 1


def test_create_on_an_existing_document_is_a_version_conflict_and_consumes_no_seq_no(shard):
    index(shard, "a")
    result = index(shard, "a", op_type="create")
    assert isinstance(result.error, VersionConflictError)
    assert result.error.reason == "[a]: version conflict, document already exists (current version [1])"
    assert result.replicated is None
    assert shard.max_seq_no == 0


def test_if_seq_no_mismatch_uses_opensearch_reason_text(shard):
    index(shard, "a")
    index(shard, "a")
    result = index(shard, "a", if_seq_no=0, if_primary_term=1)
    assert result.error.reason == ("[a]: version conflict, required seqNo [0], primary term [1]. current document "
                                   "has seqNo [1] and primary term [1]")
    ok = index(shard, "a", if_seq_no=1, if_primary_term=1)
    assert ok.error is None and ok.version == 3


def test_external_versions_must_grow_and_external_gte_accepts_equal(shard):
    assert index(shard, "a", version=5, version_type="external").version == 5
    assert isinstance(index(shard, "a", version=5, version_type="external").error, VersionConflictError)
    assert index(shard, "a", version=5, version_type="external_gte").version == 5
    low = index(shard, "a", version=4, version_type="external_gte")
    assert low.error.reason == "[a]: version conflict, current version [5] is higher than the one provided [4]"


def test_deleting_a_missing_document_is_not_found_but_still_takes_a_seq_no(shard):
    result = shard.apply_as_primary([DeleteOperation("ghost")], 1)[0]
    assert (result.result, result.seq_no, result.version) == ("not_found", 0, 1)
    assert result.replicated.kind == "delete"


def test_delete_then_index_continues_the_version_of_the_tombstone(shard):
    index(shard, "a")
    deleted = shard.apply_as_primary([DeleteOperation("a")], 1)[0]
    assert (deleted.result, deleted.version) == ("deleted", 2)
    assert shard.get("a") is None
    again = index(shard, "a")
    assert (again.result, again.version) == ("created", 3)


def test_partial_update_merges_recursively_and_detects_noops(shard):
    index(shard, "a", source={"title": "x", "meta": {"count": 1, "tag": "t"}})
    updated = shard.apply_as_primary([UpdateOperation("a", doc={"meta": {"count": 2}})], 1)[0]
    assert updated.result == "updated" and updated.version == 2
    assert orjson.loads(shard.get("a").source) == {"title": "x", "meta": {"count": 2, "tag": "t"}}
    noop = shard.apply_as_primary([UpdateOperation("a", doc={"meta": {"count": 2}})], 1)[0]
    assert (noop.result, noop.version, noop.seq_no, noop.replicated) == ("noop", 2, 1, None)
    forced = shard.apply_as_primary([UpdateOperation("a", doc={"meta": {"count": 2}}, detect_noop=False)], 1)[0]
    assert forced.result == "updated" and forced.version == 3


def test_update_of_a_missing_document_fails_unless_upserting(shard):
    missing = shard.apply_as_primary([UpdateOperation("m", doc={"title": "x"})], 1)[0]
    assert isinstance(missing.error, DocumentMissingError)
    assert missing.error.reason == "[m]: document missing"
    upserted = shard.apply_as_primary([UpdateOperation("m", doc={"title": "x"}, upsert={"title": "u"})], 1)[0]
    assert upserted.result == "created" and orjson.loads(shard.get("m").source) == {"title": "u"}
    doc_upsert = shard.apply_as_primary([UpdateOperation("n", doc={"title": "d"}, doc_as_upsert=True)], 1)[0]
    assert doc_upsert.result == "created" and orjson.loads(shard.get("n").source) == {"title": "d"}


def test_a_batch_sees_its_own_earlier_operations(shard):
    results = shard.apply_as_primary([
        IndexOperation("a", b'{"title":"one"}'),
        UpdateOperation("a", doc={"count": 3}),
        IndexOperation("a", b'{"title":"two"}', op_type="create"),
        DeleteOperation("a"),
    ], 1)
    assert [r.result for r in results[:2]] == ["created", "updated"]
    assert isinstance(results[2].error, VersionConflictError)
    assert results[3].result == "deleted" and results[3].version == 3
    assert [r.seq_no for r in results] == [0, 1, -2, 2]


def test_a_needed_mapping_update_is_raised_before_anything_is_applied(shard, stub_mapping):
    with pytest.raises(MappingUpdateRequired) as raised:
        shard.apply_as_primary([IndexOperation("a", b'{"title":"ok"}'),
                                IndexOperation("b", b'{"fresh":"new field","other":2}')], 1)
    assert raised.value.update == {"properties": {"fresh": {"type": "text"}, "other": {"type": "long"}}}
    assert shard.max_seq_no == -1 and shard.get("a") is None
    shard.update_mapping(stub_mapping.merge(raised.value.update))
    results = shard.apply_as_primary([IndexOperation("b", b'{"fresh":"new field","other":2}')], 1)
    assert results[0].result == "created"


def test_invalid_json_source_fails_that_operation_only(shard):
    results = shard.apply_as_primary([IndexOperation("bad", b"{nope"), IndexOperation("good", b'{"n":1}')], 1)
    assert results[0].error is not None and results[0].error.opensearch_type == "mapper_parsing_exception"
    assert results[1].result == "created" and results[1].seq_no == 0


def test_auto_generated_ids_are_twenty_characters_and_unique(shard):
    results = shard.apply_as_primary([IndexOperation(None, b'{"n":1}'), IndexOperation(None, b'{"n":2}')], 1)
    assert len({r.document_id for r in results}) == 2
    assert all(len(r.document_id) == 20 for r in results)
