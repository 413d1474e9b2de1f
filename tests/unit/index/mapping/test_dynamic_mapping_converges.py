"""Property: one dynamic update is always enough — after merging it, the document never asks again.

node/ retries a write after committing the update; if an update could ask for another, that loop
would not end.
"""

from hypothesis import given, strategies as st

from index.errors import MapperParsingError, MappingUpdateRequired
from index.mapping import Mapping

KEYS = st.sampled_from(["a", "b", "c", "a.b", "b.c", "x.y.z", "d"])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10, 10), st.floats(allow_nan=False, allow_infinity=False),
                    st.sampled_from(["text", "2020-01-01", "2015/09/02", "12", "1.5", ""]))
VALUES = st.recursive(SCALARS, lambda children: st.one_of(st.lists(children, max_size=3),
                                                          st.dictionaries(KEYS, children, max_size=3)), max_leaves=10)
DOCUMENTS = st.dictionaries(KEYS, VALUES, max_size=4)
STARTING_MAPPINGS = st.sampled_from([
    None,
    {"properties": {"a": {"type": "keyword"}, "b": {"properties": {"c": {"type": "long"}}}}},
    {"numeric_detection": True, "dynamic_templates": [
        {"strings": {"match_mapping_type": "string", "mapping": {"type": "keyword"}}}]},
    {"properties": {"b": {"dynamic": False, "properties": {}}}},
])


@given(STARTING_MAPPINGS, DOCUMENTS)
def test_after_merging_the_required_update_no_further_update_is_required(mapping_json, document):
    mapping = Mapping.from_json(mapping_json)
    try:
        update = mapping.required_update(document)
    except MapperParsingError:
        return  # structurally impossible documents fail before any update
    if update is not None:
        mapping = mapping.merge(update)
    try:
        assert mapping.required_update(document) is None
        mapping.parse_document(document)
    except MappingUpdateRequired as required:
        raise AssertionError(f"a second update was required: {required.update}") from None
    except MapperParsingError:
        pass  # a value that does not fit the type its first value chose, as in OpenSearch
