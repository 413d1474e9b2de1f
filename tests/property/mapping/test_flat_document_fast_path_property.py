"""The flat-document fast path of Mapping.parse_document gives exactly what the full document walk
gives (values, their order, ignored fields, errors and mapping updates), for any flat document
over a mapping with text, keyword (with ignore_above), numbers, booleans, dates and multi-fields."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from index.errors import IndexEngineError
from index.mapping import Mapping

MAPPING_JSON = {
    "properties": {
        "title": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 5}}},
        "body": {"type": "text"},
        "tag": {"type": "keyword"},
        "short_tag": {"type": "keyword", "ignore_above": 3},
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
    st.none(), st.booleans(), st.integers(-(2 ** 64), 2 ** 64), st.floats(allow_nan=True),
    st.text(max_size=8), st.sampled_from(["", "5", "2020-01-02", "abc", "true"]),
    st.lists(st.integers(-3, 3), max_size=2))
keys = st.sampled_from(sorted(MAPPING_JSON["properties"]) + ["unmapped", "obj.dotted", "_id"])


def _outcome(mapping: Mapping, document: dict):
    try:
        parsed = mapping.parse_document(document)
    except IndexEngineError as error:
        return type(error).__name__, str(error)
    return list(parsed.values.items()), parsed.ignored_fields


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(keys, scalars, max_size=8))
def test_fast_path_and_full_walk_agree_on_every_flat_document(document: dict) -> None:
    with_fast_path = Mapping.from_json(MAPPING_JSON)
    full_walk_only = Mapping.from_json(MAPPING_JSON)
    full_walk_only._plain_root_leaves = {}
    assert _outcome(with_fast_path, document) == _outcome(full_walk_only, document)


def test_a_plain_flat_document_takes_the_fast_path() -> None:
    mapping = Mapping.from_json(MAPPING_JSON)
    assert set(mapping._plain_root_leaves) >= {"title", "body", "tag", "count", "big", "ratio", "flag"}
    assert "copied" not in mapping._plain_root_leaves and "short_tag" not in mapping._plain_root_leaves
    parsed = mapping.parse_document({"title": "hi", "count": 3, "flag": True})
    assert parsed.values == {"title": ["hi"], "title.keyword": ["hi"], "count": [3], "flag": [True]}
