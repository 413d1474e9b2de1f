"""Segments: the on-disk builder + reader agree with the in-memory reference model."""

from __future__ import annotations

import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.errors import CorruptedIndexError
from index.segment import (
    SegmentCore, SegmentDocument, SegmentView, live_docs_of, read_live_docs_file, segment_file_name,
    write_live_docs_file, write_segment_file,
)
from index.segment.memory import MemorySegment
from pyroaring import BitMap


def make_documents(stub_mapping, sources):
    documents = []
    for number, source in enumerate(sources):
        values = None if source is None else stub_mapping.parse_document(source).values
        raw = b"" if source is None else orjson.dumps(source)
        documents.append(SegmentDocument(f"id{number % 7}", raw, values, number, 1, number + 1))
    return documents


def assert_same_segment(left, right):
    assert left.max_doc == right.max_doc
    assert left.field_names() == right.field_names()
    assert left.live_docs() == right.live_docs()
    for field in left.field_names():
        assert list(left.terms(field)) == list(right.terms(field)), field
        for term in left.terms(field):
            assert left.postings(field, term) == right.postings(field, term), (field, term)
            assert left.term_frequencies(field, term).tolist() == right.term_frequencies(field, term).tolist()
            left_offsets, left_flat = left.positions(field, term)
            right_offsets, right_flat = right.positions(field, term)
            assert left_offsets.tolist() == right_offsets.tolist(), (field, term)
            assert left_flat.tolist() == right_flat.tolist(), (field, term)
        assert left.field_lengths(field).tolist() == right.field_lengths(field).tolist(), field
        assert left.field_statistics(field) == right.field_statistics(field), field
    for field in ("count", "price", "flag", "n"):
        a, b = left.numeric_doc_values(field), right.numeric_doc_values(field)
        assert (a is None) == (b is None), field
        if a is not None:
            assert a.offsets.tolist() == b.offsets.tolist() and a.values.tolist() == b.values.tolist()
            assert a.is_float == b.is_float
    a, b = left.keyword_doc_values("tag"), right.keyword_doc_values("tag")
    assert (a is None) == (b is None)
    if a is not None:
        assert list(a.terms) == list(b.terms)
        assert a.offsets.tolist() == b.offsets.tolist() and a.ordinals.tolist() == b.ordinals.tolist()
    for doc in range(left.max_doc):
        assert left.source(doc) == right.source(doc)
        assert left.document_id(doc) == right.document_id(doc)
    for document_id in {left.document_id(doc) for doc in range(left.max_doc)} | {"absent"}:
        assert left.lookup_id(document_id) == right.lookup_id(document_id)
    assert left.seq_nos.tolist() == right.seq_nos.tolist()
    assert left.primary_terms.tolist() == right.primary_terms.tolist()
    assert left.versions.tolist() == right.versions.tolist()


words = st.sampled_from(["alpha", "beta", "gamma", "delta", "the", "Zeta", "ünï", "x"])
texts = st.lists(words, max_size=8).map(" ".join)
documents_strategy = st.lists(
    st.one_of(
        st.none(),
        st.fixed_dictionaries({}, optional={
            "title": st.one_of(texts, st.lists(texts, max_size=3)),
            "tag": st.one_of(words, st.lists(words, max_size=3)),
            "count": st.one_of(st.integers(-10**12, 10**12), st.lists(st.integers(-5, 5), max_size=3)),
            "price": st.floats(-1e6, 1e6, allow_nan=False),
            "flag": st.booleans(),
        }),
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sources=documents_strategy, deleted=st.sets(st.integers(0, 24), max_size=5))
def test_disk_segment_matches_the_reference_model(tmp_path_factory, stub_mapping, stub_analysis, sources, deleted):
    mapping, analysis = stub_mapping, stub_analysis   # stateless stand-ins: safe to share across examples
    directory = tmp_path_factory.mktemp("segment")
    documents = make_documents(mapping, sources)
    deleted = BitMap(doc for doc in deleted if doc < len(documents))
    write_segment_file(directory, "s1", documents, mapping, analysis)
    core = SegmentCore(directory, "s1")
    view = SegmentView(core, live_docs_of(core, deleted))
    model = MemorySegment("s1", documents, mapping, analysis, deleted=deleted)
    assert_same_segment(view, model)


def test_postings_spanning_many_blocks_and_sources_spanning_many_blocks_read_back(tmp_path, stub_mapping,
                                                                                     stub_analysis):
    sources = [{"title": f"word{number % 3000} common", "tag": f"t{number}", "body": "x" * 200}
               for number in range(6000)]
    documents = [SegmentDocument(f"doc{n}", orjson.dumps(s), stub_mapping.parse_document(s).values, n, 1, 1)
                 for n, s in enumerate(sources)]
    write_segment_file(tmp_path, "big", documents, stub_mapping, stub_analysis)
    view = SegmentView(core := SegmentCore(tmp_path, "big"), live_docs_of(core, BitMap()))
    assert len(view.postings("title", "common")) == 6000
    assert view.postings("title", "word17").to_array().tolist() == [17, 3017]
    assert view.postings("tag", "t5999").to_array().tolist() == [5999]
    assert orjson.loads(view.source(4321)) == sources[4321]
    assert view.lookup_id("doc5000") == 5000
    assert view.field_statistics("title") .sum_total_term_freq == 12000


def test_a_flipped_byte_in_a_segment_file_is_a_corrupted_index_error_naming_the_file(tmp_path, stub_mapping,
                                                                                       stub_analysis):
    documents = make_documents(stub_mapping, [{"title": "hello world"}] * 3)
    write_segment_file(tmp_path, "s1", documents, stub_mapping, stub_analysis)
    path = tmp_path / segment_file_name("s1")
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x10
    path.write_bytes(bytes(data))
    with pytest.raises(CorruptedIndexError, match="s1.seg"):
        SegmentCore(tmp_path, "s1")


def test_live_docs_files_round_trip_and_tombstones_are_never_live(tmp_path, stub_mapping, stub_analysis):
    documents = make_documents(stub_mapping, [{"title": "a"}, None, {"title": "b"}, {"title": "c"}])
    write_segment_file(tmp_path, "s1", documents, stub_mapping, stub_analysis)
    write_live_docs_file(tmp_path, "s1", 3, BitMap([2]))
    core = SegmentCore(tmp_path, "s1")
    live = live_docs_of(core, read_live_docs_file(tmp_path, "s1", 3))
    assert live.to_array().tolist() == [0, 3]
    assert np.asarray(core.seq_nos).tolist() == [0, 1, 2, 3]


@settings(max_examples=50, deadline=None)
@given(ids=st.lists(st.integers(0, 200_000), max_size=300), spread=st.sampled_from([1, 3, 70_000]))
def test_the_radix_term_order_equals_a_stable_argsort(ids, spread):
    from index.segment.inverter import stable_order_by_term
    term_ids = np.asarray([value % (spread * 3) for value in ids], dtype=np.int64)
    count = int(term_ids.max()) + 1 if len(term_ids) else 0
    assert stable_order_by_term(term_ids, count).tolist() == np.argsort(term_ids, kind="stable").tolist()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sources=documents_strategy, cuts=st.lists(st.integers(0, 25), max_size=2), data=st.data())
def test_merging_segments_equals_building_the_kept_documents_from_scratch(tmp_path_factory, stub_mapping,
                                                                          stub_analysis, sources, cuts, data):
    from index.segment.merger import MergePart, merge_segments
    from index.format import SEGMENT, write_checked_file
    directory = tmp_path_factory.mktemp("merge")
    documents = make_documents(stub_mapping, sources)
    documents = [SegmentDocument(d.document_id, d.source, d.values, d.seq_no, d.primary_term, d.version,
                                 routing=data.draw(st.sampled_from([None, "r1", "r2"])))
                 for d in documents]
    bounds = sorted({0, len(documents), *[c for c in cuts if c <= len(documents)]})
    parts, kept_documents = [], []
    for number, (start, end) in enumerate(zip(bounds, bounds[1:])):
        write_segment_file(directory, f"p{number}", documents[start:end], stub_mapping, stub_analysis)
        kept = sorted(data.draw(st.sets(st.integers(0, end - start - 1))))
        parts.append(MergePart(SegmentCore(directory, f"p{number}"), np.asarray(kept, dtype=np.int64)))
        kept_documents.extend(documents[start + doc] for doc in kept)
    if not parts:
        return
    write_checked_file(directory / segment_file_name("merged"), SEGMENT, merge_segments(parts))
    write_segment_file(directory, "scratch", kept_documents, stub_mapping, stub_analysis)
    merged, scratch = SegmentCore(directory, "merged"), SegmentCore(directory, "scratch")
    assert_same_segment(SegmentView(merged, live_docs_of(merged, BitMap())),
                        SegmentView(scratch, live_docs_of(scratch, BitMap())))
    assert [merged.routing(doc) for doc in range(merged.max_doc)] == [d.routing for d in kept_documents]
    assert merged.tombstones == scratch.tombstones


def test_a_segment_view_lists_every_postings_entry_like_its_core(tmp_path, stub_mapping, stub_analysis):
    sources = [{"title": f"word{number % 7} common"} for number in range(50)]
    documents = [SegmentDocument(f"doc{n}", orjson.dumps(s), stub_mapping.parse_document(s).values, n, 1, 1)
                 for n, s in enumerate(sources)]
    write_segment_file(tmp_path, "entries", documents, stub_mapping, stub_analysis)
    view = SegmentView(core := SegmentCore(tmp_path, "entries"), live_docs_of(core, BitMap([3])))
    expected = np.concatenate([core.postings("title", term).to_array() for term in core.terms("title")])
    assert view.entry_docs("title").tolist() == expected.tolist()
    assert view.entry_docs("missing").tolist() == []
