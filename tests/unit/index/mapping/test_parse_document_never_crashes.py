"""Property: any JSON document against any mapping either parses or fails with a mapping error.

A KeyError or TypeError escaping parse_document would surface to users as a 500; every bad input
must be a MapperParsingError (400) or one of its siblings.
"""

from hypothesis import given, strategies as st

from index.errors import MappingError
from index.mapping import Mapping

NAMES = st.sampled_from(["a", "b", "c", "a.b", "x"])
LEAF_DEFINITIONS = st.sampled_from([
    {"type": "text"}, {"type": "keyword", "ignore_above": 3}, {"type": "long"}, {"type": "byte", "coerce": False},
    {"type": "double"}, {"type": "float", "ignore_malformed": True}, {"type": "boolean", "null_value": True},
    {"type": "date"}, {"type": "date", "format": "yyyy/MM/dd||epoch_second"}, {"type": "half_float"},
    {"type": "scaled_float", "scaling_factor": 10}, {"type": "unsigned_long"},
    {"type": "keyword", "normalizer": "lowercase", "copy_to": "x"},
    {"type": "text", "fields": {"raw": {"type": "keyword"}}, "copy_to": ["b"]},
])
DEFINITIONS = st.recursive(LEAF_DEFINITIONS, lambda children: st.fixed_dictionaries(
    {"properties": st.dictionaries(NAMES, children, max_size=3)},
    optional={"dynamic": st.sampled_from([True, False, "strict"]), "enabled": st.just(False)}), max_leaves=6)
MAPPINGS = st.fixed_dictionaries({"properties": st.dictionaries(NAMES, DEFINITIONS, max_size=3)},
                                 optional={"dynamic": st.sampled_from([True, False, "strict"]),
                                           "date_detection": st.booleans(), "numeric_detection": st.booleans()})
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**65), 2**65), st.floats(),
                    st.text(max_size=5), st.sampled_from(["", "2020-01-01", "2020/01/01", "1.5", "1e400", "NaN", "true"]))
VALUES = st.recursive(SCALARS, lambda children: st.one_of(st.lists(children, max_size=3),
                                                          st.dictionaries(NAMES, children, max_size=3)), max_leaves=8)
DOCUMENTS = st.dictionaries(NAMES, VALUES, max_size=4)


@given(MAPPINGS, DOCUMENTS)
def test_parse_document_only_ever_raises_mapping_errors(mapping_json, document):
    try:
        mapping = Mapping.from_json(mapping_json)
    except MappingError:
        return  # e.g. copy_to pointing at an object: refused when the mapping is made
    for attempt in range(2):
        try:
            mapping.parse_document(document, document_id="1")
            return
        except MappingError as error:
            update = getattr(error, "update", None)
            if update is None or attempt:
                return
            try:
                mapping = mapping.merge(update)
            except MappingError:
                return
