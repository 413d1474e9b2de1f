"""The builder's column gathering (fast path for same-shaped single-value documents included) equals
a plain per-document reference, whatever the documents' shapes."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from index.segment.builder import _gather_columns, _uniform_single_value_columns
from index.segment.types import SegmentDocument

PATHS = ["a", "b", "c.d", "e"]


def reference_columns(documents):
    columns = {}
    for doc, document in enumerate(documents):
        if document.values is None:
            continue
        for path, values in document.values.items():
            for value in values:
                if value is not None:
                    columns.setdefault(path, ([], []))
                    columns[path][0].append(doc)
                    columns[path][1].append(value)
    return columns


def as_documents(value_dicts):
    return [SegmentDocument(f"id{n}", b"{}", values, n, 1, 1) for n, values in enumerate(value_dicts)]


scalar = st.one_of(st.integers(-5, 5), st.text(max_size=3), st.booleans(), st.none())
value_list = st.lists(scalar, max_size=3)
value_dict = st.dictionaries(st.sampled_from(PATHS), value_list, max_size=4)
uniform_dict = st.fixed_dictionaries({path: st.lists(st.one_of(st.integers(), st.text(max_size=4)),
                                                      min_size=1, max_size=1) for path in PATHS})


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(value_dict, uniform_dict, st.none()), max_size=12))
def test_gathered_columns_equal_the_per_document_reference(value_dicts):
    documents = as_documents(value_dicts)
    columns, tombstones = _gather_columns(documents)
    assert columns == reference_columns(documents)
    assert list(tombstones) == [doc for doc, values in enumerate(value_dicts) if values is None]


@settings(max_examples=200, deadline=None)
@given(st.lists(uniform_dict, min_size=1, max_size=12))
def test_same_shaped_single_value_documents_take_the_fast_path_with_the_same_answer(value_dicts):
    fast = _uniform_single_value_columns(value_dicts, list(PATHS))
    assert fast is not None
    assert fast == reference_columns(as_documents(value_dicts))


def test_the_fast_path_declines_every_other_shape():
    one = {"a": [1], "b": ["x"]}
    assert _uniform_single_value_columns([one, {"a": [2]}], ["a", "b"]) is None            # a missing path
    assert _uniform_single_value_columns([one, {"a": [], "b": ["y"]}], ["a", "b"]) is None  # no value
    assert _uniform_single_value_columns([one, {"a": [2, 3], "b": []}], ["a", "b"]) is None  # 2 + 0 values
    assert _uniform_single_value_columns([one, {"a": [None], "b": ["y"]}], ["a", "b"]) is None  # a null
    assert _uniform_single_value_columns([{"a": [1]}], ["a"]) is None                        # one path
    assert _uniform_single_value_columns([one, {"a": [2], "b": ["y"]}], ["a", "b"]) == {
        "a": ([0, 1], [1, 2]), "b": ([0, 1], ["x", "y"])}
