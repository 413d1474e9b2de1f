"""Property: parse_document agrees with a plain recursive flattening of the document (a dumb model)."""

from hypothesis import given, strategies as st

from index.errors import MapperParsingError
from index.mapping import Mapping

MAPPING = Mapping.from_json({"dynamic": False, "properties": {
    "a": {"type": "keyword"}, "n": {"type": "long"},
    "o": {"properties": {"a": {"type": "keyword", "fields": {"t": {"type": "text"}}},
                         "p": {"properties": {"a": {"type": "keyword"}}}}}}})
LEAVES = {"a": "keyword", "n": "long", "o.a": "keyword", "o.p.a": "keyword"}
OBJECTS = {"o", "o.p"}

KEYS = st.sampled_from(["a", "n", "o", "p", "x", "o.a", "o.p", "p.a", "o.p.a"])
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.text("ab", max_size=2))
VALUES = st.recursive(SCALARS, lambda children: st.one_of(st.lists(children, max_size=3),
                                                          st.dictionaries(KEYS, children, max_size=3)), max_leaves=12)
DOCUMENTS = st.dictionaries(KEYS, VALUES, max_size=4)


class ModelError(Exception):
    pass


def canonical(kind, value):
    if kind == "long":
        if isinstance(value, bool):
            raise ModelError
        if value == "":
            return None
        try:
            return int(value)
        except ValueError:
            raise ModelError from None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def flatten(document, prefix, output):
    for key, value in document.items():
        head, *rest = key.split(".")
        if rest:
            flatten({head: {".".join(rest): value}}, prefix, output)
            continue
        flatten_value(prefix + head, value, output)


def flatten_value(path, value, output):
    if isinstance(value, list):
        for item in value:
            flatten_value(path, item, output)
    elif isinstance(value, dict):
        if path in LEAVES:
            raise ModelError
        if path in OBJECTS:
            flatten(value, path + ".", output)
    elif value is not None:
        if path in OBJECTS:
            raise ModelError
        if path in LEAVES:
            converted = canonical(LEAVES[path], value)
            if converted is not None:
                output.setdefault(path, []).append(converted)
                if path == "o.a":
                    output.setdefault("o.a.t", []).append(converted)


@given(DOCUMENTS)
def test_parse_document_equals_the_flattening_model(document):
    expected: dict = {}
    try:
        flatten(document, "", expected)
    except ModelError:
        expected = None
    try:
        parsed = MAPPING.parse_document(document).values
    except MapperParsingError:
        parsed = None
    assert parsed == expected
    try:
        assert MAPPING.required_update(document) is None  # dynamic false: never an update
    except MapperParsingError:
        assert expected is None
