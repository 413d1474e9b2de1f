"""The reference segment implements the SegmentReader protocol with the documented conventions."""

import numpy as np
import orjson
import pytest

from index.segment.types import SegmentReader
from index.testing import ReferenceSegment, build_reference_searcher

MAPPING = {"properties": {"title": {"type": "text"}, "tag": {"type": "keyword"}, "n": {"type": "integer"},
                          "x": {"type": "double"}, "ok": {"type": "boolean"}, "day": {"type": "date"}}}


@pytest.fixture(scope="module")
def searcher():
    return build_reference_searcher([[
        ("a", {"title": ["the quick fox", "fox again"], "tag": ["b", "a", "b"], "n": [3, 1], "ok": True,
               "day": "1970-01-02"}),
        ("b", {"title": "slow", "x": 2.5, "ok": False}),
        ("c", {"other": {"deep": "value"}}),
    ]], MAPPING, deleted_document_ids=["c"])


@pytest.fixture(scope="module")
def segment(searcher):
    return searcher.segments[0]


def test_it_satisfies_the_runtime_protocol(segment):
    assert isinstance(segment, ReferenceSegment)
    assert isinstance(segment, SegmentReader)
    assert segment.max_doc == 3


def test_text_positions_continue_after_a_gap_between_array_values(segment):
    assert list(segment.terms("title")) == ["again", "fox", "quick", "slow", "the"]
    offsets, positions = segment.positions("title", "fox")
    assert offsets.tolist() == [0, 2]
    assert positions.tolist() == [2, 3 + 100]
    assert segment.term_frequencies("title", "fox").tolist() == [2]
    assert segment.field_lengths("title").tolist() == [5, 1, 0]
    statistics = segment.field_statistics("title")
    assert (statistics.doc_count, statistics.sum_total_term_freq) == (2, 6)


def test_keyword_values_are_terms_and_sorted_set_doc_values(segment):
    assert segment.postings("tag", "b").to_array().tolist() == [0]
    assert segment.term_frequencies("tag", "b").tolist() == [2]
    doc_values = segment.keyword_doc_values("tag")
    assert list(doc_values.terms) == ["a", "b"]
    assert doc_values.offsets.tolist() == [0, 2, 2, 2]
    assert doc_values.ordinals.tolist() == [0, 1]


def test_numbers_dates_and_booleans_are_numeric_doc_values(segment):
    numbers = segment.numeric_doc_values("n")
    assert numbers.offsets.tolist() == [0, 2, 2, 2] and numbers.values.tolist() == [1, 3] and not numbers.is_float
    doubles = segment.numeric_doc_values("x")
    assert doubles.is_float and doubles.values.dtype == np.float64 and doubles.values.tolist() == [2.5]
    assert segment.numeric_doc_values("day").values.tolist() == [86_400_000]
    assert segment.numeric_doc_values("ok").values.tolist() == [1, 0]
    assert segment.postings("ok", "true").to_array().tolist() == [0]
    assert segment.numeric_doc_values("title") is None and segment.keyword_doc_values("n") is None


def test_id_and_field_names_special_fields(segment):
    assert segment.postings("_id", "b").to_array().tolist() == [1]
    assert segment.postings("_field_names", "other.deep").to_array().tolist() == [2]
    assert "title" in segment.field_names() and "_id" in segment.field_names()


def test_deletes_are_a_live_docs_bitmap(segment):
    assert segment.live_docs().to_array().tolist() == [0, 1]
    assert segment.lookup_id("c") is None and segment.lookup_id("b") == 1
    assert segment.postings("_id", "c").to_array().tolist() == [2]   # postings include deleted docs


def test_stored_fields_and_sequence_numbers(segment):
    assert orjson.loads(segment.source(1)) == {"title": "slow", "x": 2.5, "ok": False}
    assert segment.document_id(2) == "c"
    assert segment.seq_nos.tolist() == [0, 1, 2]
    assert segment.primary_terms.tolist() == [1, 1, 1] and segment.versions.tolist() == [1, 1, 1]


def test_absent_terms_give_empty_results(segment):
    assert len(segment.postings("title", "zebra")) == 0
    assert segment.term_frequencies("title", "zebra").tolist() == []
    offsets, positions = segment.positions("nope", "zebra")
    assert offsets.tolist() == [0] and positions.tolist() == []
    assert segment.field_lengths("nope").tolist() == [0, 0, 0]


def test_the_searcher_grows_a_dynamic_mapping_and_supersedes_updated_ids():
    searcher = build_reference_searcher([[("1", {"fresh": "text here"})], [("1", {"fresh": "newer"})]])
    assert searcher.mapping.field("fresh").type == "text"
    assert searcher.segments[0].live_docs().to_array().tolist() == []
    assert searcher.segments[1].live_docs().to_array().tolist() == [0]
