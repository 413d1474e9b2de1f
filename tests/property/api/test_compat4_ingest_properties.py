"""Property tests of the ingest engine against dumb models: a CSV line written from any values
(quoted where needed, quotes doubled) splits back into those values; setting a dotted path and
reading it back gives the value, and removing it leaves the rest of the document untouched; a
pipeline that only sets fields never fails."""

from __future__ import annotations

import copy

from hypothesis import given, settings
from hypothesis import strategies as st

from node.api.ingest_processors import IngestDocument, _split_csv_line, compile_pipeline

VALUES = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=12)
NAMES = st.text(alphabet="abcxyz_", min_size=1, max_size=4)
PLAIN_VALUES = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="{}"), max_size=12)


def _csv_line(values: list[str], separator: str, quote: str) -> str:
    def field(value: str) -> str:
        if separator in value or quote in value or value != value.strip():
            return quote + value.replace(quote, quote + quote) + quote
        return value
    return separator.join(field(value) for value in values)


@settings(max_examples=300, deadline=None)
@given(st.lists(VALUES, min_size=1, max_size=6), st.sampled_from([",", ";", "\t", "|"]), st.sampled_from(['"', "'"]))
def test_a_written_csv_line_splits_back_into_its_values(values, separator, quote):
    assert _split_csv_line(_csv_line(values, separator, quote), separator, quote, trim=False) == values


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(NAMES, st.integers(), max_size=4), st.lists(NAMES, min_size=1, max_size=3),
       st.one_of(st.integers(), st.text(max_size=5), st.booleans()))
def test_set_then_get_returns_the_value_and_remove_restores_the_other_fields(source, path_parts, value):
    path = ".".join(path_parts)
    document = IngestDocument(copy.deepcopy(source), {"_index": "i", "_id": "1"})
    blocked = any(isinstance(document.source.get(part), int) for part in path_parts[:1]) and len(path_parts) > 1
    if blocked:
        return  # a scalar on the way: OpenSearch refuses to set through it too
    document.set(path, value)
    assert document.get(path) == value
    document.remove(path)
    assert not document.has(path)
    untouched = {key: item for key, item in document.source.items() if key != path_parts[0]}
    assert untouched == {key: item for key, item in source.items() if key != path_parts[0]}


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(NAMES, PLAIN_VALUES), min_size=1, max_size=5), st.dictionaries(NAMES, VALUES, max_size=4))
def test_a_pipeline_of_sets_never_fails_and_the_last_set_wins(assignments, source):
    pipeline = compile_pipeline("p", {"processors": [{"set": {"field": f"out.{name}", "value": value}}
                                                     for name, value in assignments]})
    document = IngestDocument(dict(source), {"_index": "i", "_id": "1"})
    pipeline.execute(document)
    expected = {}
    for name, value in assignments:
        expected[name] = value
    assert {name: document.get(f"out.{name}") for name in expected} == expected
