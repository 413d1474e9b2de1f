"""Mapping.parse_flat_columns (the columnar form the shard's primary bulk path keeps in its buffer,
ADR 0360) answers only for a batch that parse_flat_documents answers in full, and then with exactly
its values: document i's values are {path: [column[i]]}. Batches mix shapes, key orders,
out-of-range numbers, wrong types, ignore_above, objects, arrays and non-objects."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from index.mapping import Mapping

MAPPING_JSON = {
    "properties": {
        "title": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 5}}},
        "name": {"type": "text", "fields": {"raw": {"type": "keyword"}}},
        "body": {"type": "text"},
        "tag": {"type": "keyword"},
        "count": {"type": "integer"},
        "small": {"type": "byte"},
        "big": {"type": "long"},
        "ratio": {"type": "double"},
        "flag": {"type": "boolean"},
        "when": {"type": "date"},
        "copied": {"type": "keyword", "copy_to": "tag"},
    }
}
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2 ** 64), 2 ** 64), st.integers(-200, 200),
    st.floats(allow_nan=True), st.text(max_size=8), st.sampled_from(["", "5", "2020-01-02", "abc"]),
    st.lists(st.integers(-3, 3), max_size=2), st.dictionaries(st.sampled_from(["a", "b"]), st.integers(), max_size=1))
keys = st.sampled_from(sorted(MAPPING_JSON["properties"]) + ["unmapped"])
documents = st.dictionaries(keys, scalars, max_size=5)
# mostly one shape with values of the accepted types, as bulk requests are
plain_values = {"title": st.text(max_size=8), "name": st.text(max_size=8), "body": st.text(max_size=20),
                "tag": st.text(max_size=4), "count": st.integers(-(2 ** 31) - 2, 2 ** 31 + 1),
                "small": st.integers(-130, 130), "big": st.integers(-(2 ** 63) - 1, 2 ** 63),
                "ratio": st.floats(allow_nan=True), "flag": st.booleans()}
shaped_batches = st.lists(st.sampled_from(sorted(plain_values)), min_size=1, max_size=4, unique=True).flatmap(
    lambda shape: st.lists(st.fixed_dictionaries({key: st.one_of(plain_values[key], scalars) if key == shape[0]
                                                  else plain_values[key] for key in shape}),
                           min_size=1, max_size=12))


def _check_batch(batch: list) -> None:
    mapping = Mapping.from_json(MAPPING_JSON)
    per_document = mapping.parse_flat_documents(batch)
    columns = mapping.parse_flat_columns(batch)
    if columns is None:
        return
    assert None not in per_document
    assert {len(column) for column in columns.values()} == {len(batch)}
    for position, values in enumerate(per_document):
        assert {path: [column[position]] for path, column in columns.items()} == values


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(documents, st.just([]), st.none(), st.integers()), max_size=10))
def test_columns_equal_the_per_document_answers_for_documents_of_any_shape(batch: list) -> None:
    _check_batch(batch)


@settings(max_examples=400, deadline=None)
@given(shaped_batches)
def test_columns_equal_the_per_document_answers_for_batches_of_one_shape(batch: list) -> None:
    _check_batch(batch)


def test_a_batch_of_plain_same_shaped_documents_is_answered_as_columns_with_multi_fields() -> None:
    mapping = Mapping.from_json(MAPPING_JSON)
    batch = [{"title": "hi", "count": n, "flag": n % 2 == 0} for n in range(3)]
    assert mapping.parse_flat_columns(batch) == {"title": ["hi"] * 3, "title.keyword": ["hi"] * 3,
                                                "count": [0, 1, 2], "flag": [True, False, True]}


def test_one_document_of_another_shape_or_type_or_over_ignore_above_declines_the_whole_batch() -> None:
    mapping = Mapping.from_json(MAPPING_JSON)
    plain = [{"title": "a", "count": 1}, {"count": 2, "title": "b"}]
    assert mapping.parse_flat_columns(plain) == {"title": ["a", "b"], "title.keyword": ["a", "b"], "count": [1, 2]}
    assert mapping.parse_flat_columns(plain + [{"title": "c"}]) is None
    assert mapping.parse_flat_columns(plain + [{"title": "c", "tag": "x"}]) is None
    assert mapping.parse_flat_columns(plain + [{"title": "c", "count": "3"}]) is None
    assert mapping.parse_flat_columns(plain + [{"title": "toolong", "count": 3}]) is None
    assert mapping.parse_flat_columns(plain + [{"title": "c", "count": 2 ** 31}]) is None
    assert mapping.parse_flat_columns([{"copied": "x"}]) is None
    assert mapping.parse_flat_columns([]) is None and mapping.parse_flat_columns([{}]) is None
