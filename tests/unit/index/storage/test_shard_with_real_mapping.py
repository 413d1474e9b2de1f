"""The shard engine with the real index.mapping and index.analysis (contracts §1-2)."""

from __future__ import annotations

import orjson
import pytest

from index.analysis import AnalysisRegistry
from index.errors import MappingUpdateRequired
from index.mapping import Mapping
from index.operations import IndexOperation
from index.segment import SegmentCore, SegmentDocument, SegmentView, live_docs_of, write_segment_file
from index.segment.memory import MemorySegment
from index.shard import Shard, ShardSettings
from pyroaring import BitMap

DOCUMENTS = [
    {"title": "The Quick brown foxes", "when": "2020-01-02", "n": 5, "ok": True, "tags": ["a", "b"],
     "body": "running dogs and the jumping foxes"},
    {"title": "Lazy dogs", "when": 1577836800000, "n": [7, 3], "ok": False, "tags": "b", "body": ["the first", "the second"]},
    {"title": "", "n": 1, "nested": {"price": 2.5}},
]
MAPPING_JSON = {"properties": {"body": {"type": "text", "analyzer": "english"}}}


def apply_with_mapping_updates(shard, operations):
    while True:
        try:
            return shard.apply_as_primary(operations, 1)
        except MappingUpdateRequired as required:
            shard.update_mapping(shard.mapping.merge(required.update))


def test_dynamic_fields_need_a_mapping_update_first_then_index_and_search(tmp_path):
    analysis = AnalysisRegistry.from_index_settings({})
    shard = Shard.open(tmp_path, ShardSettings(), Mapping.from_json(MAPPING_JSON), analysis)
    with pytest.raises(MappingUpdateRequired):
        shard.apply_as_primary([IndexOperation("0", orjson.dumps(DOCUMENTS[0]))], 1)
    assert shard.max_seq_no == -1
    results = apply_with_mapping_updates(
        shard, [IndexOperation(str(n), orjson.dumps(document)) for n, document in enumerate(DOCUMENTS)])
    assert [r.result for r in results] == ["created"] * 3
    shard.refresh()
    [segment] = shard.acquire_searcher().segments
    assert segment.postings("title", "quick").to_array().tolist() == [0]
    assert segment.postings("body", "fox").to_array().tolist() == [0]            # english stemming
    assert segment.postings("title.keyword", "Lazy dogs").to_array().tolist() == [1]
    assert segment.postings("_field_names", "nested.price").to_array().tolist() == [2]
    when = segment.numeric_doc_values("when")
    assert when.values.tolist() == [1577923200000, 1577836800000]
    assert segment.numeric_doc_values("n").values.tolist() == [5, 3, 7, 1]
    assert segment.numeric_doc_values("ok").values.tolist() == [1, 0]
    assert segment.numeric_doc_values("nested.price").is_float
    tags = segment.keyword_doc_values("tags.keyword")
    assert list(tags.terms) == ["a", "b"] and tags.ordinals.tolist() == [0, 1, 1]
    shard.close()
    reopened = Shard.open(tmp_path, ShardSettings(), shard.mapping, analysis)
    assert orjson.loads(reopened.get("1").source) == DOCUMENTS[1]
    reopened.close()


def test_disk_segment_matches_the_reference_model_with_real_analysis(tmp_path):
    analysis = AnalysisRegistry.from_index_settings({})
    mapping = Mapping.from_json(MAPPING_JSON)
    for document in DOCUMENTS:
        try:
            mapping.parse_document(document)
        except MappingUpdateRequired as required:
            mapping = mapping.merge(required.update)
    documents = [SegmentDocument(str(n), orjson.dumps(d), mapping.parse_document(d).values, n, 1, 1)
                 for n, d in enumerate(DOCUMENTS)]
    write_segment_file(tmp_path, "s", documents, mapping, analysis)
    core = SegmentCore(tmp_path, "s")
    disk = SegmentView(core, live_docs_of(core, BitMap()))
    model = MemorySegment("s", documents, mapping, analysis)
    assert disk.field_names() == model.field_names()
    for field in model.field_names():
        assert list(disk.terms(field)) == list(model.terms(field))
        for term in model.terms(field):
            assert disk.postings(field, term) == model.postings(field, term)
            assert disk.term_frequencies(field, term).tolist() == model.term_frequencies(field, term).tolist()
            if mapping.field(field) is not None and mapping.field(field).type == "text":
                assert [a.tolist() for a in disk.positions(field, term)] == \
                       [a.tolist() for a in model.positions(field, term)], (field, term)
        assert disk.field_lengths(field).tolist() == model.field_lengths(field).tolist()


def test_a_postings_level_merge_equals_a_fresh_build_with_real_analysis(tmp_path):
    import numpy as np
    from index.format import SEGMENT, write_checked_file
    from index.segment import segment_file_name
    from index.segment.merger import MergePart, merge_segments
    analysis = AnalysisRegistry.from_index_settings({})
    mapping = Mapping.from_json(MAPPING_JSON)
    sources = DOCUMENTS * 3
    for document in sources:
        try:
            mapping.parse_document(document)
        except MappingUpdateRequired as required:
            mapping = mapping.merge(required.update)
    documents = [SegmentDocument(str(n), orjson.dumps(d), mapping.parse_document(d).values, n, 1, 1)
                 for n, d in enumerate(sources)]
    write_segment_file(tmp_path, "a", documents[:5], mapping, analysis)
    write_segment_file(tmp_path, "b", documents[5:], mapping, analysis)
    kept_a, kept_b = [0, 1, 3, 4], [0, 2, 3]
    parts = [MergePart(SegmentCore(tmp_path, "a"), np.asarray(kept_a)), MergePart(SegmentCore(tmp_path, "b"),
                                                                                 np.asarray(kept_b))]
    write_checked_file(tmp_path / segment_file_name("merged"), SEGMENT, merge_segments(parts))
    write_segment_file(tmp_path, "fresh", [documents[i] for i in kept_a] + [documents[5 + i] for i in kept_b],
                       mapping, analysis)
    merged, fresh = SegmentCore(tmp_path, "merged"), SegmentCore(tmp_path, "fresh")
    merged_view = SegmentView(merged, live_docs_of(merged, BitMap()))
    fresh_view = SegmentView(fresh, live_docs_of(fresh, BitMap()))
    assert merged_view.field_names() == fresh_view.field_names()
    for field in fresh_view.field_names():
        assert list(merged_view.terms(field)) == list(fresh_view.terms(field))
        for term in fresh_view.terms(field):
            assert merged_view.postings(field, term) == fresh_view.postings(field, term)
            assert [a.tolist() for a in merged_view.positions(field, term)] == \
                   [a.tolist() for a in fresh_view.positions(field, term)], (field, term)
        assert merged_view.field_statistics(field) == fresh_view.field_statistics(field)
    for field in ("n", "when", "ok", "nested.price"):
        assert merged_view.numeric_doc_values(field).values.tolist() == fresh_view.numeric_doc_values(field).values.tolist()
        assert merged_view.numeric_doc_values(field).offsets.tolist() == fresh_view.numeric_doc_values(field).offsets.tolist()
    assert merged_view.keyword_doc_values("tags.keyword").ordinals.tolist() == \
           fresh_view.keyword_doc_values("tags.keyword").ordinals.tolist()
    assert [merged_view.source(d) for d in range(7)] == [fresh_view.source(d) for d in range(7)]
