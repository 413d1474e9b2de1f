"""Mapping.from_json / to_json / field / fields / parse_document for explicit mappings."""

import pytest

from index.errors import MapperParsingError, StrictDynamicMappingError
from index.mapping import FieldMapping, Mapping


def test_an_empty_mapping_renders_as_an_empty_object():
    assert Mapping.from_json(None).to_json() == {}
    assert Mapping.from_json({}).fields() == []


def test_to_json_round_trips_what_was_put_with_dotted_names_expanded():
    mapping = Mapping.from_json({"properties": {"title": {"type": "text", "analyzer": "english"},
                                                "user.name": {"type": "keyword"}}})
    assert mapping.to_json() == {"properties": {"title": {"type": "text", "analyzer": "english"},
                                                "user": {"properties": {"name": {"type": "keyword"}}}}}


def test_fields_lists_every_leaf_with_multi_fields():
    mapping = Mapping.from_json({"properties": {
        "title": {"type": "text", "fields": {"raw": {"type": "keyword", "ignore_above": 10}}},
        "meta": {"properties": {"views": {"type": "integer"}}}}})
    assert [field.path for field in mapping.fields()] == ["title", "title.raw", "meta.views"]
    assert mapping.field("title.raw") == FieldMapping(path="title.raw", type="keyword", ignore_above=10,
                                                     multi_field_of="title", norms=False, index_options="docs")
    assert mapping.field("meta") is None and mapping.is_object("meta")


def test_field_parameters_are_read_into_field_mapping():
    mapping = Mapping.from_json({"properties": {
        "body": {"type": "text", "analyzer": "english", "search_analyzer": "standard"},
        "when": {"type": "date", "format": "yyyy-MM-dd", "index": "false"},
        "tag": {"type": "keyword", "doc_values": False, "null_value": "none"},
        "score": {"type": "double", "boost": 2}}})
    assert mapping.field("body").analyzer == "english" and mapping.field("body").search_analyzer == "standard"
    assert mapping.field("when").date_format == "yyyy-MM-dd" and mapping.field("when").index is False
    assert mapping.field("tag").doc_values is False and mapping.field("tag").null_value == "none"
    assert mapping.field("score").boost == 2.0


def test_an_unknown_type_is_a_mapper_parsing_error_naming_the_field():
    with pytest.raises(MapperParsingError, match=r"No handler for type \[strang\] declared on field \[x\]"):
        Mapping.from_json({"properties": {"x": {"type": "strang"}}})


def test_an_unknown_parameter_is_a_mapper_parsing_error():
    with pytest.raises(MapperParsingError, match=r"unknown parameter \[analyzer\] on mapper \[n\] of type \[long\]"):
        Mapping.from_json({"properties": {"n": {"type": "long", "analyzer": "standard"}}})


def test_a_bad_date_format_is_refused_when_the_mapping_is_created():
    with pytest.raises(MapperParsingError):
        Mapping.from_json({"properties": {"d": {"type": "date", "format": "yyyy-qq"}}})


def typed_mapping():
    return Mapping.from_json({"dynamic": "strict", "properties": {
        "title": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 5}}},
        "count": {"type": "long"}, "small": {"type": "byte"}, "short": {"type": "short"},
        "integer": {"type": "integer"}, "price": {"type": "double"}, "ratio": {"type": "float"},
        "flag": {"type": "boolean"}, "when": {"type": "date"},
        "status": {"type": "keyword", "null_value": "unknown"},
        "strict_count": {"type": "long", "coerce": False},
        "lenient_count": {"type": "long", "ignore_malformed": True},
        "user": {"properties": {"name": {"type": "keyword"}, "age": {"type": "integer"}}}}})


def test_values_are_canonical_per_type_and_arrays_are_flattened():
    parsed = typed_mapping().parse_document({
        "title": ["Hello", "Hello world"], "count": "42", "price": 9, "ratio": 0.1, "flag": "true",
        "when": "2020-01-01T00:00:00Z", "user": [{"name": "a", "age": 1}, {"name": "b", "age": 2.9}],
        "integer": [1, [2, [3]]]})
    assert parsed.values == {
        "title": ["Hello", "Hello world"], "title.keyword": ["Hello"], "count": [42], "price": [9.0],
        "ratio": [0.10000000149011612], "flag": [True], "when": [1577836800000],
        "user.name": ["a", "b"], "user.age": [1, 2], "integer": [1, 2, 3], "_ignored": ["title.keyword"]}
    assert parsed.ignored_fields == ("title.keyword",)


def test_dotted_keys_in_the_source_are_the_same_as_nested_objects():
    mapping = typed_mapping()
    assert mapping.parse_document({"user.name": "x", "user": {"age": 3}}).values == {
        "user.name": ["x"], "user.age": [3]}


def test_null_adds_nothing_unless_the_field_has_a_null_value():
    parsed = typed_mapping().parse_document({"count": None, "status": None, "title": [None, "a"]})
    assert parsed.values == {"status": ["unknown"], "title": ["a"], "title.keyword": ["a"]}


def test_a_value_that_does_not_parse_names_field_type_and_document_id():
    with pytest.raises(MapperParsingError) as raised:
        typed_mapping().parse_document({"count": "abc"}, document_id="7")
    assert raised.value.reason == ("failed to parse field [count] of type [long] in document with id '7'."
                                   " Preview of field's value: 'abc'")


@pytest.mark.parametrize("field_name, value", [("small", 128), ("small", -129), ("short", 40000),
                                               ("integer", 2**31), ("count", 2**63)])
def test_integers_out_of_their_type_range_are_refused(field_name, value):
    with pytest.raises(MapperParsingError) as raised:
        typed_mapping().parse_document({field_name: value})
    assert "out of range" in raised.value.details["caused_by"]


def test_coerce_truncates_decimals_and_reads_numeric_strings():
    assert typed_mapping().parse_document({"small": "12", "integer": 7.9, "count": -3.5}).values == {
        "small": [12], "integer": [7], "count": [-3]}


def test_coerce_false_refuses_strings_and_decimals():
    for value in ("5", 5.5):
        with pytest.raises(MapperParsingError):
            typed_mapping().parse_document({"strict_count": value})
    assert typed_mapping().parse_document({"strict_count": 5.0}).values == {"strict_count": [5]}


def test_ignore_malformed_drops_the_bad_value_and_keeps_the_document():
    parsed = typed_mapping().parse_document({"lenient_count": ["x", 3]})
    assert parsed.values == {"lenient_count": [3], "_ignored": ["lenient_count"]}
    assert parsed.ignored_fields == ("lenient_count",)


def test_booleans_accept_only_true_false_and_their_strings():
    mapping = typed_mapping()
    assert mapping.parse_document({"flag": [True, "false", ""]}).values == {"flag": [True, False, False]}
    with pytest.raises(MapperParsingError):
        mapping.parse_document({"flag": "yes"})


def test_non_finite_doubles_are_refused():
    with pytest.raises(MapperParsingError):
        typed_mapping().parse_document({"price": "NaN"})


def test_numbers_and_booleans_into_text_are_stored_as_strings():
    assert typed_mapping().parse_document({"title": [1, True]}).values["title"] == ["1", "true"]


def test_an_object_into_a_leaf_field_is_refused():
    with pytest.raises(MapperParsingError, match=r"failed to parse field \[count\] of type \[long\]"):
        typed_mapping().parse_document({"count": {"a": 1}})


def test_a_concrete_value_into_an_object_field_is_refused():
    with pytest.raises(MapperParsingError, match=r"object mapping for \[user\] tried to parse field \[user\] as object"):
        typed_mapping().parse_document({"user": "bob"})


def test_strict_mapping_refuses_an_unknown_field_with_opensearch_message():
    with pytest.raises(StrictDynamicMappingError,
                       match=r"mapping set to strict, dynamic introduction of \[other\] within \[_doc\] is not allowed"):
        typed_mapping().parse_document({"other": 1})


def test_strict_mapping_names_the_enclosing_object():
    with pytest.raises(StrictDynamicMappingError, match=r"introduction of \[email\] within \[user\]"):
        typed_mapping().parse_document({"user": {"email": "x"}})


def test_metadata_fields_inside_a_document_are_refused():
    with pytest.raises(MapperParsingError, match=r"Field \[_id\] is a metadata field"):
        typed_mapping().parse_document({"_id": "1"})


def test_disabled_objects_are_not_parsed():
    mapping = Mapping.from_json({"properties": {"blob": {"type": "object", "enabled": False}}})
    assert mapping.parse_document({"blob": {"anything": [1, "x"]}}).values == {}
    assert mapping.required_update({"blob": {"anything": 1}}) is None


def test_an_empty_string_in_a_numeric_field_is_read_as_null():
    mapping = Mapping.from_json({"properties": {"n": {"type": "long"}, "m": {"type": "integer", "null_value": 0}}})
    assert mapping.parse_document({"n": "", "m": ""}).values == {"m": [0]}


def test_a_disabled_root_indexes_nothing():
    mapping = Mapping.from_json({"enabled": False})
    assert mapping.parse_document({"a": 1}).values == {} and mapping.required_update({"a": 1}) is None


def test_copy_to_indexes_the_value_again_in_each_target():
    mapping = Mapping.from_json({"properties": {
        "first": {"type": "text", "copy_to": "full"}, "last": {"type": "text", "copy_to": ["full"]},
        "full": {"type": "text"}}})
    assert mapping.field("first").copy_to == ("full",)
    assert mapping.to_json()["properties"]["first"] == {"type": "text", "copy_to": ["full"]}
    assert mapping.parse_document({"first": "John", "last": "Smith"}).values == {
        "first": ["John"], "full": ["John", "Smith"], "last": ["Smith"]}


def test_copy_to_an_unmapped_field_asks_for_it_dynamically():
    mapping = Mapping.from_json({"properties": {"first": {"type": "keyword", "copy_to": "all.names"}}})
    assert mapping.required_update({"first": "John"}) == {"properties": {"all": {"properties": {
        "names": {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}}}}}


def test_copy_to_is_refused_inside_a_multi_field():
    with pytest.raises(MapperParsingError, match="copy_to in multi fields is not allowed"):
        Mapping.from_json({"properties": {"a": {"type": "text", "fields": {"k": {"type": "keyword", "copy_to": "b"}}}}})


def test_a_mapping_wrapped_in_the_doc_type_name_is_unwrapped():
    assert Mapping.from_json({"_doc": {"properties": {"a": {"type": "long"}}}}).to_json() == {
        "properties": {"a": {"type": "long"}}}


def test_an_unknown_root_parameter_is_refused_with_opensearch_message():
    with pytest.raises(MapperParsingError, match=r"Root mapping definition has unsupported parameters:  \[foo : 1\]"):
        Mapping.from_json({"foo": 1})


def test_the_lowercase_normalizer_lowercases_keyword_values_after_ignore_above():
    mapping = Mapping.from_json({"properties": {"tag": {"type": "keyword", "normalizer": "lowercase", "ignore_above": 3}}})
    assert mapping.field("tag").normalizer == "lowercase"
    parsed = mapping.parse_document({"tag": ["ABC", "ABCD", "Ab"]})
    assert parsed.values == {"tag": ["abc", "ab"], "_ignored": ["tag"]} and parsed.ignored_fields == ("tag",)


def test_a_custom_normalizer_is_refused_clearly():
    with pytest.raises(MapperParsingError, match=r"normalizer \[mine\] on field \[tag\] is not supported"):
        Mapping.from_json({"properties": {"tag": {"type": "keyword", "normalizer": "mine"}}})


def test_check_analyzers_names_the_first_analyzer_the_index_does_not_know():
    mapping = Mapping.from_json({"properties": {"a": {"type": "text", "analyzer": "english"},
                                                "b": {"type": "text", "analyzer": "mine", "search_analyzer": "standard"}}})
    mapping.check_analyzers(lambda name: name in {"english", "mine", "standard"})
    with pytest.raises(MapperParsingError, match=r"analyzer \[mine\] has not been configured in mappings"):
        mapping.check_analyzers(lambda name: name in {"english", "standard"})


def test_strict_mapping_names_the_full_path_of_a_nested_object():
    mapping = Mapping.from_json({"dynamic": "strict", "properties": {"user": {"properties": {"address": {"properties": {}}}}}})
    with pytest.raises(StrictDynamicMappingError, match=r"introduction of \[zip\] within \[user.address\] is not allowed"):
        mapping.parse_document({"user": {"address": {"zip": 1}}})


def test_a_text_field_without_analyzer_uses_the_index_default_and_default_search():
    from index.analysis import AnalysisRegistry

    mapping = Mapping.from_json({"properties": {"plain": {"type": "text"}, "english": {"type": "text", "analyzer": "english"}}})
    assert (mapping.field("plain").analyzer, mapping.field("plain").effective_search_analyzer) == ("default", "default_search")
    assert (mapping.field("english").analyzer, mapping.field("english").effective_search_analyzer) == ("english", "english")
    assert mapping.to_json()["properties"]["plain"] == {"type": "text"}
    registry = AnalysisRegistry.from_index_settings({"analysis": {"analyzer": {
        "default": {"type": "simple"}, "default_search": {"type": "whitespace"}}}})
    assert registry.get(mapping.field("plain").analyzer).name == "default"
    assert registry.get(mapping.field("plain").effective_search_analyzer).name == "default_search"
    assert AnalysisRegistry().get("default_search").name == "standard"


def test_half_scaled_and_unsigned_numbers_are_stored_as_opensearch_stores_them():
    mapping = Mapping.from_json({"properties": {"h": {"type": "half_float"}, "u": {"type": "unsigned_long"},
                                                "s": {"type": "scaled_float", "scaling_factor": 100}}})
    assert mapping.field("s").scaling_factor == 100.0
    assert mapping.parse_document({"h": 1.1, "s": [1.234, "2.345"], "u": 2**64 - 1}).values == {
        "h": [1.099609375], "s": [1.23, 2.35], "u": [2**64 - 1]}
    with pytest.raises(MapperParsingError) as raised:
        mapping.parse_document({"u": -1})
    assert raised.value.details["caused_by"] == "Value [-1] is out of range for an unsigned_long"


def test_scaled_float_needs_a_scaling_factor():
    with pytest.raises(MapperParsingError, match=r"Field \[scaling_factor\] is required"):
        Mapping.from_json({"properties": {"s": {"type": "scaled_float"}}})


def test_copy_to_an_object_or_a_multi_field_is_refused_when_the_mapping_is_made():
    with pytest.raises(MapperParsingError, match=r"Cannot copy to field \[o\] since it is mapped as an object"):
        Mapping.from_json({"properties": {"a": {"type": "text", "copy_to": "o"}, "o": {"properties": {}}}})
    with pytest.raises(MapperParsingError, match=r"may not be used to copy to a multi-field: \[t.raw\]"):
        Mapping.from_json({"properties": {"a": {"type": "text", "copy_to": "t.raw"},
                                          "t": {"type": "text", "fields": {"raw": {"type": "keyword"}}}}})


def test_norms_index_options_and_fielddata_are_read_with_their_per_type_defaults():
    mapping = Mapping.from_json({"properties": {
        "tuned": {"type": "text", "norms": False, "fielddata": True, "index_options": "freqs"},
        "plain": {"type": "text"}, "tag": {"type": "keyword"}}})
    assert [(field.path, field.norms, field.index_options, field.fielddata) for field in mapping.fields()] == [
        ("tuned", False, "freqs", True), ("plain", True, "positions", False), ("tag", False, "docs", False)]
    with pytest.raises(MapperParsingError, match=r"Unknown value \[positions\] for field \[index_options\]"):
        Mapping.from_json({"properties": {"tag": {"type": "keyword", "index_options": "positions"}}})
