"""Properties of mapping JSON: any input builds a Mapping or fails with a mapping error, and what
to_json() shows builds the same Mapping again (the cluster state stores to_json())."""

from hypothesis import given, strategies as st

from index.errors import MappingError
from index.mapping import Mapping

NAMES = st.sampled_from(["a", "b", "a.b", "c.d.e", "type", "properties"])
PARAMETER_NAMES = st.sampled_from(["type", "index", "doc_values", "ignore_above", "null_value", "analyzer",
                                   "format", "coerce", "fields", "copy_to", "dynamic", "enabled", "boost",
                                   "scaling_factor", "normalizer", "properties", "bogus"])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-2, 300), st.floats(allow_nan=False),
                    st.sampled_from(["text", "keyword", "long", "byte", "date", "double", "boolean", "object",
                                     "scaled_float", "true", "false", "strict", "yyyy-MM-dd", "english",
                                     "lowercase", "a", "nested"]))
JSON = st.recursive(SCALARS, lambda children: st.one_of(
    st.lists(children, max_size=2), st.dictionaries(st.one_of(NAMES, PARAMETER_NAMES), children, max_size=3)),
    max_leaves=10)
MAPPING_JSON = st.dictionaries(st.sampled_from(["properties", "dynamic", "date_detection", "_meta", "bogus"]),
                               JSON, max_size=2)


@given(MAPPING_JSON)
def test_any_mapping_json_builds_or_fails_with_a_mapping_error_and_round_trips(mapping_json):
    try:
        mapping = Mapping.from_json(mapping_json)
    except MappingError:
        return
    shown = mapping.to_json()
    assert Mapping.from_json(shown) == mapping
    assert Mapping.from_json(shown).to_json() == shown
    assert mapping.merge(shown) == mapping  # putting the same mapping again changes nothing


LEAVES = st.sampled_from([
    {"type": "text", "analyzer": "english", "fields": {"raw": {"type": "keyword", "ignore_above": 10}}},
    {"type": "keyword", "index": "false", "doc_values": True}, {"type": "long", "coerce": False, "null_value": "5"},
    {"type": "date", "format": "yyyy/MM/dd||epoch_millis"}, {"type": "scaled_float", "scaling_factor": "100"},
    {"type": "boolean", "boost": 2}, {"type": "keyword", "copy_to": "x"}, {"type": "text", "index": True},
])
STRUCTURED = st.recursive(LEAVES, lambda children: st.fixed_dictionaries(
    {"properties": st.dictionaries(st.sampled_from(["a", "b.c", "d"]), children, max_size=3)},
    optional={"type": st.just("object"), "dynamic": st.sampled_from([True, "false", "strict"]),
              "enabled": st.booleans()}), max_leaves=6)
STRUCTURED_MAPPINGS = st.fixed_dictionaries(
    {"properties": st.dictionaries(st.sampled_from(["a", "b", "x.y"]), STRUCTURED, max_size=3)},
    optional={"dynamic": st.sampled_from([True, False, "strict"]), "numeric_detection": st.booleans(),
              "dynamic_templates": st.just([{"t": {"match": "s_*", "mapping": {"type": "keyword"}}}])})


@given(STRUCTURED_MAPPINGS)
def test_realistic_mappings_round_trip_through_to_json(mapping_json):
    try:
        mapping = Mapping.from_json(mapping_json)
    except MappingError:
        return
    shown = mapping.to_json()
    rebuilt = Mapping.from_json(shown)
    assert rebuilt == mapping and rebuilt.to_json() == shown
    assert [field.path for field in rebuilt.fields()] == [field.path for field in mapping.fields()]
    assert rebuilt.fields() == mapping.fields()
    assert mapping.merge(shown) == mapping
