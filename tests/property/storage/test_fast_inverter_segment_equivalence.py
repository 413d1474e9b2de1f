"""Property: a segment built through the dictionary-encoded inverter is byte-for-byte the segment
the string path builds (analyze_batch + invert_tokens), and reads back like the in-memory
reference model — for text fields under several analyzers, arrays of text values (position
increment gap), multi-valued and empty fields, tombstones, keywords and numbers."""

from __future__ import annotations

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from index.analysis import AnalysisRegistry
from index.mapping import Mapping
from index.segment import SegmentCore, SegmentDocument, SegmentView, live_docs_of, write_segment_file
from index.segment.builder import build_segment
from index.segment.memory import MemorySegment
from pyroaring import BitMap

ANALYSIS = AnalysisRegistry.from_index_settings({"analysis": {"analyzer": {
    "custom_chain": {"type": "custom", "tokenizer": "standard", "filter": ["lowercase", "stop", "porter_stem"]},
}}})
MAPPING = Mapping.from_json({"properties": {
    "title": {"type": "text"},
    "body": {"type": "text", "analyzer": "english"},
    "simple_text": {"type": "text", "analyzer": "simple"},
    "custom_text": {"type": "text", "analyzer": "custom_chain"},
    "white": {"type": "text", "analyzer": "whitespace"},
    "tag": {"type": "keyword"},
    "count": {"type": "long"},
}})
TEXT_FIELDS = ["title", "body", "simple_text", "custom_text", "white"]


class StringPathAnalysis:
    """The registry with every analyzer reduced to analyze_batch: the builder's string path."""

    class _StringPathAnalyzer:
        def __init__(self, analyzer):
            self.analyze_batch = analyzer.analyze_batch
            self.terms_and_positions = analyzer.terms_and_positions

    def get(self, name):
        return self._StringPathAnalyzer(ANALYSIS.get(name))


PIECES = st.sampled_from(["alpha", "Beta", "the", "running", "dogs'", "don't", "3.14", "1,000", "__init__",
                          "_", "abcdefgh", "abcdefghi", "x" * 300, "ünï", "中文", "😀", "\xa0", "—", "“q”", " ",
                          "", "é"])
TEXT = st.one_of(st.lists(PIECES, max_size=8).map(" ".join), st.text(max_size=15),
                 st.lists(PIECES, max_size=6).map("".join))
TEXT_VALUE = st.one_of(TEXT, st.lists(TEXT, max_size=3))
SOURCES = st.lists(
    st.one_of(st.none(), st.fixed_dictionaries({}, optional={
        **{field: TEXT_VALUE for field in TEXT_FIELDS},
        "tag": st.one_of(st.sampled_from(["a", "b", "é"]), st.lists(st.sampled_from(["a", "b"]), max_size=3)),
        "count": st.integers(-5, 5),
    })),
    max_size=20,
)


def documents_of(sources):
    documents = []
    for number, source in enumerate(sources):
        values = None if source is None else MAPPING.parse_document(source).values
        raw = b"" if source is None else orjson.dumps(source)
        documents.append(SegmentDocument(f"id{number % 5}", raw, values, number, 1, number + 1))
    return documents


@settings(max_examples=120, deadline=None)
@given(SOURCES)
def test_the_encoded_path_builds_the_same_bytes_as_the_string_path(sources):
    documents = documents_of(sources)
    assert build_segment(documents, MAPPING, ANALYSIS) == build_segment(documents, MAPPING, StringPathAnalysis())


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(SOURCES)
def test_the_encoded_path_reads_back_like_the_reference_model(tmp_path_factory, sources):
    documents = documents_of(sources)
    directory = tmp_path_factory.mktemp("segment")
    write_segment_file(directory, "s1", documents, MAPPING, ANALYSIS)
    core = SegmentCore(directory, "s1")
    view = SegmentView(core, live_docs_of(core, BitMap()))
    model = MemorySegment("s1", documents, MAPPING, ANALYSIS)
    assert view.field_names() == model.field_names()
    for field in model.field_names():
        assert list(view.terms(field)) == list(model.terms(field)), field
        for term in model.terms(field):
            assert view.postings(field, term) == model.postings(field, term), (field, term)
            assert view.term_frequencies(field, term).tolist() == model.term_frequencies(field, term).tolist()
            view_offsets, view_flat = view.positions(field, term)
            model_offsets, model_flat = model.positions(field, term)
            assert (view_offsets.tolist(), view_flat.tolist()) == (model_offsets.tolist(), model_flat.tolist())
        assert view.field_lengths(field).tolist() == model.field_lengths(field).tolist(), field
    for doc in range(model.max_doc):
        assert view.source(doc) == model.source(doc)
