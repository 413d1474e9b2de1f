"""Any valid definition survives to_json → orjson → from_json unchanged (it is what Raft stores)."""

from __future__ import annotations

import orjson
from hypothesis import given
from hypothesis import strategies as st

from udf.registry import UdfDefinition, UdfInputs, UdfParam

names = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,30}", fullmatch=True)
param_names = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True)
field_paths = st.text(min_size=1, max_size=40)
defaults = st.none() | st.floats(allow_nan=False, allow_infinity=False)


@st.composite
def definitions(draw):
    params = tuple(
        UdfParam(name, draw(defaults))
        for name in draw(st.lists(param_names, unique=True, max_size=10))
    )
    inputs = UdfInputs(fields=tuple(draw(st.lists(field_paths, unique=True, max_size=10))), params=params)
    return UdfDefinition.create(
        name=draw(names),
        module_bytes=draw(st.binary(min_size=1, max_size=300)),
        description=draw(st.text(max_size=100)),
        kinds=draw(st.sampled_from([(), ("filter",), ("score",), ("filter", "score")])),
        inputs=inputs,
        abi_version=draw(st.integers(1, 3)),
    )


@given(definitions())
def test_a_definition_round_trips_through_json_bytes(definition):
    stored = orjson.loads(orjson.dumps(definition.to_json()))
    assert UdfDefinition.from_json(stored) == definition
