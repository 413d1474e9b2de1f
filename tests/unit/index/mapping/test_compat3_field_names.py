"""Field names made only of dots, or empty: OpenSearch's wording, wrapped as it wraps them."""

import pytest

from index.errors import MapperParsingError
from index.mapping import Mapping


@pytest.mark.parametrize("source", [{".": 1}, {"..": {"a": 1}}, {"outer": {".": 2}}, {"top": [{"inner": {".": 2}}]}])
def test_a_document_key_of_only_dots_is_refused_with_opensearch_wording(source):
    with pytest.raises(MapperParsingError) as raised:
        Mapping.from_json({}).parse_document(source, "1")
    assert raised.value.reason == "field name cannot contain only the character [.]"
    assert raised.value.details["caused_by"] == {"type": "illegal_argument_exception",
                                                 "reason": "field name cannot contain only the character [.]"}


def test_an_empty_document_key_is_refused_with_an_illegal_argument_cause():
    with pytest.raises(MapperParsingError) as raised:
        Mapping.from_json({}).parse_document({"": 1}, "1")
    assert raised.value.details["caused_by"]["type"] == "illegal_argument_exception"
    assert "field name cannot be an empty string" in raised.value.reason


def test_an_empty_property_name_in_a_mapping_is_a_mapper_parsing_error_caused_by_illegal_argument():
    with pytest.raises(MapperParsingError) as raised:
        Mapping.from_json({"properties": {"": {"type": "keyword"}}})
    assert raised.value.reason == "Failed to parse mapping [_doc]: field name cannot be an empty string"
    assert raised.value.details["caused_by"]["type"] == "illegal_argument_exception"


@pytest.mark.parametrize("name", [".", ".."])
def test_a_property_name_of_only_dots_in_a_mapping_is_refused(name):
    with pytest.raises(MapperParsingError, match=r"field name cannot contain only the character \[\.\]"):
        Mapping.from_json({"properties": {name: {"type": "keyword"}}})


def test_a_name_starting_or_ending_with_a_dot_is_ambiguous():
    with pytest.raises(MapperParsingError, match="makes object resolution ambiguous"):
        Mapping.from_json({}).parse_document({"a.": 1}, "1")
