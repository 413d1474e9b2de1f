"""Mapping.parse_flat_documents (the batch form the shard's bulk fast path uses) agrees with
parse_document on every document of any batch: where it answers, its values equal what
parse_document gives (nothing ignored, nothing raised); where it answers None, the caller's
parse_document decides. Batches mix shapes, key orders, out-of-range numbers, wrong types, objects,
arrays and non-objects."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from index.errors import IndexEngineError
from index.mapping import Mapping

MAPPING_JSON = {
    "properties": {
        "title": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 5}}},
        "name": {"type": "text", "fields": {"raw": {"type": "keyword"}}},
        "body": {"type": "text"},
        "tag": {"type": "keyword"},
        "short_tag": {"type": "keyword", "ignore_above": 3},
        "count": {"type": "integer"},
        "small": {"type": "byte"},
        "big": {"type": "long"},
        "ratio": {"type": "double"},
        "single": {"type": "float"},
        "flag": {"type": "boolean"},
        "when": {"type": "date"},
        "copied": {"type": "keyword", "copy_to": "tag"},
        "lowered": {"type": "keyword", "normalizer": "lowercase"},
    }
}
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2 ** 64), 2 ** 64), st.integers(-200, 200),
    st.floats(allow_nan=True), st.text(max_size=8), st.sampled_from(["", "5", "2020-01-02", "abc", "true"]),
    st.lists(st.integers(-3, 3), max_size=2), st.dictionaries(st.sampled_from(["a", "b"]), st.integers(), max_size=1))
keys = st.sampled_from(sorted(MAPPING_JSON["properties"]) + ["unmapped", "obj.dotted"])
documents = st.dictionaries(keys, scalars, max_size=6)
# batches where most documents share a shape, as bulk requests do
shaped_batches = st.lists(st.sampled_from(["title", "body", "count", "big", "ratio", "flag", "name"]),
                          min_size=1, max_size=4, unique=True).flatmap(
    lambda shape: st.lists(st.fixed_dictionaries({key: scalars for key in shape}), min_size=1, max_size=12))


def _reference(mapping: Mapping, document):
    try:
        parsed = mapping.parse_document(document)
    except IndexEngineError as error:
        return ("error", type(error).__name__)
    return ("values", parsed.values, parsed.ignored_fields)


def _check_batch(batch: list) -> None:
    mapping = Mapping.from_json(MAPPING_JSON)
    answers = mapping.parse_flat_documents(batch)
    assert len(answers) == len(batch)
    for document, answer in zip(batch, answers):
        if answer is None:
            continue
        assert _reference(mapping, document) == ("values", answer, ())


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(documents, st.just([]), st.none(), st.integers()), max_size=10))
def test_batch_answers_equal_parse_document_for_documents_of_any_shape(batch: list) -> None:
    _check_batch(batch)


@settings(max_examples=300, deadline=None)
@given(shaped_batches)
def test_batch_answers_equal_parse_document_for_batches_of_one_shape(batch: list) -> None:
    _check_batch(batch)


def test_a_batch_of_plain_flat_documents_is_answered_in_full_in_document_key_order() -> None:
    mapping = Mapping.from_json(MAPPING_JSON)
    batch = [{"title": "hi", "count": n, "ratio": 0.5, "flag": n % 2 == 0, "big": -n} for n in range(5)]
    answers = mapping.parse_flat_documents(batch)
    assert answers == [mapping.parse_document(document).values for document in batch]
    assert [list(answer) for answer in answers] == [["title", "title.keyword", "count", "ratio", "flag", "big"]] * 5


def test_documents_the_batch_cannot_answer_are_left_to_parse_document() -> None:
    mapping = Mapping.from_json(MAPPING_JSON)
    batch = [
        {"title": "fine", "count": 1},
        {"title": "too long for the keyword", "count": 1},      # ignore_above: recorded in _ignored
        {"title": "fine", "count": 2 ** 40},                    # out of the integer range: an error
        {"title": "fine", "count": "7"},                        # a string number: coerced by the walk
        {"unmapped": 1},                                        # needs a mapping update
        {"when": "2020-01-02"},                                 # dates are not plain
        {"ratio": math.inf},                                    # not finite: an error
        ["not", "an", "object"],
    ]
    answers = mapping.parse_flat_documents(batch)
    assert answers[0] == {"title": ["fine"], "title.keyword": ["fine"], "count": [1]}
    assert answers[1:] == [None] * 7


def test_an_index_with_enabled_false_is_left_to_parse_document() -> None:
    mapping = Mapping.from_json({"enabled": False})
    assert mapping.parse_flat_documents([{"a": 1}]) == [None]
    assert mapping.parse_document({"a": 1}).values == {}
