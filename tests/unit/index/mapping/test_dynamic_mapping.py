"""Dynamic mapping: the update a document needs, as OpenSearch derives it from first values."""

import pytest

from index.errors import MappingUpdateRequired
from index.mapping import Mapping

KEYWORD_SUB_FIELD = {"keyword": {"type": "keyword", "ignore_above": 256}}


def test_strings_become_text_with_a_keyword_sub_field():
    assert Mapping.from_json(None).required_update({"title": "hello"}) == {
        "properties": {"title": {"type": "text", "fields": KEYWORD_SUB_FIELD}}}


def test_numbers_booleans_and_objects_get_long_float_boolean_and_object():
    update = Mapping.from_json(None).required_update({"n": 1, "x": 1.5, "b": False, "o": {"k": 2}, "e": {}})
    assert update == {"properties": {"n": {"type": "long"}, "x": {"type": "float"}, "b": {"type": "boolean"},
                                     "o": {"properties": {"k": {"type": "long"}}}, "e": {"type": "object"}}}


def test_date_strings_are_detected_with_the_dynamic_date_formats():
    update = Mapping.from_json(None).required_update({"iso": "2020-01-01T10:00:00Z", "slashes": "2015/09/02"})
    assert update == {"properties": {
        "iso": {"type": "date"},
        "slashes": {"type": "date", "format": "yyyy/MM/dd HH:mm:ss||yyyy/MM/dd||epoch_millis"}}}


def test_numeric_looking_strings_are_not_dates_and_stay_text():
    update = Mapping.from_json(None).required_update({"year": "2020", "zip": "12345"})
    assert update["properties"]["year"]["type"] == "text" and update["properties"]["zip"]["type"] == "text"


def test_numeric_detection_maps_numeric_strings_to_numbers():
    mapping = Mapping.from_json({"numeric_detection": True})
    assert mapping.required_update({"a": "5", "b": "5.5"}) == {"properties": {"a": {"type": "long"},
                                                                              "b": {"type": "float"}}}


def test_date_detection_can_be_turned_off():
    assert Mapping.from_json({"date_detection": False}).required_update({"d": "2020-01-01"})["properties"]["d"][
        "type"] == "text"


def test_null_and_empty_arrays_add_nothing():
    assert Mapping.from_json(None).required_update({"a": None, "b": [], "c": [None]}) is None


def test_the_first_value_of_an_array_decides_the_type():
    assert Mapping.from_json(None).required_update({"a": [None, 3, "x"]}) == {"properties": {"a": {"type": "long"}}}


def test_dotted_source_keys_add_objects():
    assert Mapping.from_json(None).required_update({"a.b": 1}) == {
        "properties": {"a": {"properties": {"b": {"type": "long"}}}}}


def test_only_new_fields_are_in_the_update():
    mapping = Mapping.from_json({"properties": {"user": {"properties": {"name": {"type": "keyword"}}}}})
    assert mapping.required_update({"user": {"name": "a", "age": 3}}) == {
        "properties": {"user": {"properties": {"age": {"type": "long"}}}}}


def test_parse_document_raises_mapping_update_required_carrying_the_update():
    with pytest.raises(MappingUpdateRequired) as raised:
        Mapping.from_json(None).parse_document({"n": 1})
    assert raised.value.update == {"properties": {"n": {"type": "long"}}}


def test_after_merging_the_update_the_document_parses():
    mapping = Mapping.from_json(None)
    source = {"title": "Hello", "n": [1, 2], "o": {"d": "2020-01-01"}}
    merged = mapping.merge(mapping.required_update(source))
    assert merged.required_update(source) is None
    assert merged.parse_document(source).values == {"title": ["Hello"], "title.keyword": ["Hello"],
                                                    "n": [1, 2], "o.d": [1577836800000]}


def test_dynamic_false_ignores_unknown_fields_at_that_level_only():
    mapping = Mapping.from_json({"properties": {"closed": {"dynamic": False, "properties": {}}}})
    assert mapping.required_update({"closed": {"x": 1}}) is None
    assert mapping.parse_document({"closed": {"x": 1}}).values == {}
    assert mapping.required_update({"open": 1}) == {"properties": {"open": {"type": "long"}}}


def test_dynamic_true_below_a_strict_root_allows_new_fields_there():
    mapping = Mapping.from_json({"dynamic": "strict", "properties": {"free": {"dynamic": True, "properties": {}}}})
    assert mapping.required_update({"free": {"x": "y"}}) == {
        "properties": {"free": {"properties": {"x": {"type": "text", "fields": KEYWORD_SUB_FIELD}}}}}


def test_long_strings_are_left_out_of_the_keyword_sub_field():
    mapping = Mapping.from_json(None)
    long_text = "x" * 300
    merged = mapping.merge(mapping.required_update({"t": long_text}))
    # the sub-field's value is dropped and named in the `_ignored` metadata field (ADR 0347)
    assert merged.parse_document({"t": long_text}).values == {"t": [long_text], "_ignored": ["t.keyword"]}


TEMPLATED = Mapping.from_json({"dynamic_templates": [
    {"strings_as_keywords": {"match_mapping_type": "string", "unmatch": "*_text", "mapping": {"type": "keyword"}}},
    {"longs_as_integers": {"match_mapping_type": "long", "mapping": {"type": "integer"}}},
    {"opaque_meta": {"path_match": "meta.*", "match_mapping_type": "object", "mapping": {"enabled": False}}},
    {"named": {"match": "x_*", "mapping": {"type": "{dynamic_type}", "meta": {"source": "{name}"}}}},
    {"regex": {"match_pattern": "regex", "match": "^r\\d+$", "mapping": {"type": "keyword", "index": False}}},
]})


def test_the_first_matching_dynamic_template_gives_the_mapping():
    update = TEMPLATED.required_update({"title": "hello", "body_text": "hi", "count": 5, "x_ratio": 1.5})
    assert update == {"properties": {
        "title": {"type": "keyword"},
        "body_text": {"type": "text", "fields": KEYWORD_SUB_FIELD},
        "count": {"type": "integer"},
        "x_ratio": {"type": "double", "meta": {"source": "x_ratio"}}}}


def test_an_object_template_can_disable_new_objects():
    update = TEMPLATED.required_update({"meta": {"blob": {"anything": 1}}})
    assert update == {"properties": {"meta": {"properties": {"blob": {"enabled": False, "type": "object"}}}}}
    merged = TEMPLATED.merge(update)
    assert merged.required_update({"meta": {"blob": {"anything": 1}}}) is None


def test_regex_templates_match_the_whole_field_name():
    assert TEMPLATED.required_update({"r12": True})["properties"]["r12"] == {"type": "keyword", "index": False}
    assert TEMPLATED.required_update({"r12x": True})["properties"]["r12x"] == {"type": "boolean"}


def test_dynamic_templates_are_shown_and_merged_by_name():
    merged = TEMPLATED.merge({"dynamic_templates": [
        {"longs_as_integers": {"match_mapping_type": "long", "mapping": {"type": "short"}}},
        {"new_one": {"match": "z", "mapping": {"type": "keyword"}}}]})
    names = [next(iter(entry)) for entry in merged.to_json()["dynamic_templates"]]
    assert names == ["strings_as_keywords", "longs_as_integers", "opaque_meta", "named", "regex", "new_one"]
    assert merged.required_update({"n": 1}) == {"properties": {"n": {"type": "short"}}}


def test_a_malformed_dynamic_template_is_refused():
    import pytest as _pytest

    from index.errors import MapperParsingError
    with _pytest.raises(MapperParsingError):
        Mapping.from_json({"dynamic_templates": [{"a": {"match": "x"}}]})
    with _pytest.raises(MapperParsingError, match="No field type matched on \\[strange\\]"):
        Mapping.from_json({"dynamic_templates": [{"a": {"match_mapping_type": "strange", "mapping": {}}}]})
