"""dynamic: strict_allow_templates (OpenSearch 2.16): a new field is refused as under strict unless a
dynamic template maps it, in which case the template's mapping is added."""

import pytest

from index.errors import StrictDynamicMappingError
from index.mapping import Mapping

TEMPLATES = [
    {"strings": {"match": "stringField*", "match_mapping_type": "string", "mapping": {"type": "keyword"}}},
    {"objects": {"match": "objectField*", "match_mapping_type": "object",
                 "mapping": {"type": "object", "properties": {"bar1": {"type": "keyword"}}}}},
    {"longs": {"match": "longField*", "match_mapping_type": "long", "mapping": {"type": "long"}}},
    {"dates": {"match": "dateField*", "match_mapping_type": "date", "mapping": {"type": "date"}}},
]
MAPPING = Mapping.from_json({"dynamic": "strict_allow_templates", "dynamic_templates": TEMPLATES,
                             "properties": {"test1": {"type": "text"}}})


def test_the_value_is_accepted_and_kept_in_the_mapping_json():
    assert MAPPING.to_json()["dynamic"] == "strict_allow_templates"


def test_a_field_no_template_matches_is_refused_with_opensearchs_message():
    with pytest.raises(StrictDynamicMappingError) as raised:
        MAPPING.required_update({"test1": "x", "test2": "y"})
    assert str(raised.value) == ("mapping set to strict_allow_templates, dynamic introduction of [test2] "
                                 "within [_doc] is not allowed")


def test_a_field_whose_detected_type_a_template_does_not_match_is_refused():
    # longField* only matches longs: a string under that name is refused
    with pytest.raises(StrictDynamicMappingError):
        MAPPING.required_update({"longField1": "text"})


def test_fields_templates_match_are_added_with_the_templates_mappings():
    update = MAPPING.required_update({"stringField": "bar", "longField": 100, "dateField": "2024-06-25T05:11:51.243Z",
                                      "objectField": {"bar1": "b"}})
    properties = update["properties"]
    assert properties["stringField"] == {"type": "keyword"}
    assert properties["longField"] == {"type": "long"}
    assert properties["dateField"]["type"] == "date"
    assert properties["objectField"]["properties"]["bar1"] == {"type": "keyword"}


def test_a_templated_object_stays_strict_for_fields_inside_it_no_template_matches():
    with pytest.raises(StrictDynamicMappingError) as raised:
        MAPPING.required_update({"objectField": {"other": "x"}})
    assert "dynamic introduction of [other] within [objectField]" in str(raised.value)


def test_an_unknown_dynamic_value_is_still_refused():
    from index.errors import MapperParsingError

    with pytest.raises(MapperParsingError):
        Mapping.from_json({"dynamic": "sometimes"})


FALSE_ALLOWING = Mapping.from_json({"dynamic": "false_allow_templates", "dynamic_templates": TEMPLATES,
                                    "properties": {"url": {"type": "keyword"}}})


def test_false_allow_templates_adds_templated_fields_and_silently_leaves_out_the_others():
    update = FALSE_ALLOWING.required_update({"url": "u", "stringField": "bar", "author": "John Doe"})
    assert update == {"properties": {"stringField": {"type": "keyword"}}}
    assert FALSE_ALLOWING.required_update({"author": "John Doe"}) is None
    assert FALSE_ALLOWING.to_json()["dynamic"] == "false_allow_templates"


def test_integer_and_float_match_mapping_types_match_json_integers_and_decimals():
    mapping = Mapping.from_json({"dynamic": "false_allow_templates", "dynamic_templates": [
        {"ints": {"match": "i*", "match_mapping_type": "integer", "mapping": {"type": "integer"}}},
        {"floats": {"match": "f*", "match_mapping_type": "float", "mapping": {"type": "float"}}}]})
    update = mapping.required_update({"i1": 12345, "f1": 123.45, "i2": 1.5, "other": 1})
    assert update == {"properties": {"i1": {"type": "integer"}, "f1": {"type": "float"}}}
