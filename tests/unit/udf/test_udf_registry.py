"""Registration bodies, stored definitions and query params: pure data, no wasmtime."""

from __future__ import annotations

import base64
import hashlib

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from udf.errors import UdfDefinitionError, UdfInvocationError, UdfModuleTooLargeError
from udf.registry import (
    UdfDefinition,
    UdfInputs,
    UdfParam,
    parse_registration_body,
    resolve_params,
    validate_udf_name,
)

MODULE_BYTES = b"\x00asm\x01\x00\x00\x00"


def wasm_body(**extra):
    return {"wasm": base64.b64encode(MODULE_BYTES).decode(), **extra}


def test_a_wasm_body_is_decoded_with_its_inputs_in_declaration_order():
    registration = parse_registration_body("my-udf", wasm_body(
        description="d", kind="score",
        inputs={"fields": ["published_at", "price"], "params": ["now", {"name": "weight", "default": 2}]},
    ))
    assert registration.wasm_bytes == MODULE_BYTES
    assert registration.wat_text is None
    assert registration.kinds == ("score",)
    assert registration.inputs == UdfInputs(
        fields=("published_at", "price"),
        params=(UdfParam("now"), UdfParam("weight", 2.0)),
    )


def test_a_wat_body_keeps_the_text_for_the_runtime_to_compile():
    registration = parse_registration_body("x", {"wat": "(module)"})
    assert registration.wat_text == "(module)" and registration.wasm_bytes is None
    assert registration.kinds == () and registration.inputs == UdfInputs()


@pytest.mark.parametrize("body, reason", [
    ({}, "exactly one of [wasm]"),
    ({"wasm": "AAAA", "wat": "(module)"}, "got both"),
    ({"wasm": "not base64!!"}, "[wasm] is not valid base64"),
    ({"wasm": 12}, "[wasm] must be a base64 string"),
    ({"wasm": ""}, "[wasm] is empty"),
    ({"wat": "   "}, "[wat] is empty"),
    ({"wat": "(module)", "colour": "red"}, "unknown key [colour]"),
    ({"wat": "(module)", "kind": "map"}, "[kind] must be one of"),
    ({"wat": "(module)", "kind": 3}, "[kind] must be"),
    ({"wat": "(module)", "description": 3}, "[description] must be a string"),
    ({"wat": "(module)", "inputs": []}, "[inputs] must be an object"),
    ({"wat": "(module)", "inputs": {"fields": "price"}}, "[inputs.fields] must be a list"),
    ({"wat": "(module)", "inputs": {"fields": ["a", "a"]}}, "declares [a] twice"),
    ({"wat": "(module)", "inputs": {"fields": [""]}}, "[inputs.fields][0]"),
    ({"wat": "(module)", "inputs": {"params": ["1abc"]}}, "[inputs.params][0].name"),
    ({"wat": "(module)", "inputs": {"params": ["a", {"name": "a"}]}}, "declares [a] twice"),
    ({"wat": "(module)", "inputs": {"params": [{"name": "a", "default": "x"}]}}, "default must be a finite number"),
    ({"wat": "(module)", "inputs": {"params": [{"name": "a", "default": True}]}}, "default must be a finite number"),
    ({"wat": "(module)", "inputs": {"params": [{"name": "a", "other": 1}]}}, "[inputs.params][0]"),
    ({"wat": "(module)", "inputs": {"tables": []}}, "unknown key [inputs.tables]"),
    ({"wat": "(module)", "inputs": {"fields": [f"f{i}" for i in range(65)]}}, "over the limit of 64"),
])
def test_malformed_registration_bodies_are_refused_naming_the_key(body, reason):
    with pytest.raises(UdfDefinitionError) as raised:
        parse_registration_body("my-udf", body)
    assert reason in raised.value.reason
    assert raised.value.function_name == "my-udf"


@pytest.mark.parametrize("name", ["", "_hidden", "-x", "has space", "a/b", "x" * 256, 7, None])
def test_bad_names_are_refused(name):
    with pytest.raises(UdfDefinitionError, match="udf name"):
        validate_udf_name(name)


def test_a_module_over_the_size_cap_is_refused_with_its_size_and_the_limit():
    module = b"\x00asm" + b"\x00" * 2000
    with pytest.raises(UdfModuleTooLargeError) as raised:
        parse_registration_body("big", {"wasm": base64.b64encode(module).decode()}, max_module_bytes=1000)
    assert "over the limit of 1000 bytes" in raised.value.reason
    assert raised.value.details["limit_bytes"] == 1000


def test_a_module_exactly_at_the_size_cap_is_accepted():
    module = b"\x00asm" + b"\x00" * 996
    registration = parse_registration_body("edge", {"wasm": base64.b64encode(module).decode()}, max_module_bytes=1000)
    assert len(registration.wasm_bytes) == 1000


def test_wat_text_is_capped_at_a_multiple_of_the_module_cap():
    with pytest.raises(UdfModuleTooLargeError, match=r"\[wat\] is"):
        parse_registration_body("big", {"wat": ";;" + "x" * 5000}, max_module_bytes=1000)


def test_a_definition_survives_the_json_round_trip():
    definition = UdfDefinition.create(
        "recency", MODULE_BYTES, description="boost new docs", kinds=("score",),
        inputs=UdfInputs(fields=("published_at",), params=(UdfParam("now"), UdfParam("weight", 1.5))),
    )
    assert definition.sha256 == hashlib.sha256(MODULE_BYTES).hexdigest()
    assert UdfDefinition.from_json(definition.to_json()) == definition


def test_a_stored_definition_whose_module_does_not_match_its_sha256_is_refused():
    stored = UdfDefinition.create("x", MODULE_BYTES).to_json()
    stored["wasm_base64"] = base64.b64encode(MODULE_BYTES + b"!").decode()
    with pytest.raises(UdfDefinitionError, match=r"\[sha256\] does not match"):
        UdfDefinition.from_json(stored)


def test_a_stored_definition_without_kind_defers_kinds_to_the_module():
    stored = UdfDefinition.create("x", MODULE_BYTES, kinds=("filter",)).to_json()
    del stored["kind"]
    assert UdfDefinition.from_json(stored).kinds == ()


@given(st.lists(st.from_regex(r"[a-z_][a-z0-9_]{0,8}", fullmatch=True), unique=True, max_size=8),
       st.data())
def test_params_resolve_to_declaration_order_with_defaults_filled_in(names, data):
    defaults = {name: data.draw(st.none() | st.floats(-1e9, 1e9)) for name in names}
    given_values = {name: data.draw(st.floats(-1e9, 1e9)) for name in names
                    if defaults[name] is None or data.draw(st.booleans())}
    definition = UdfDefinition.create("p", MODULE_BYTES, inputs=UdfInputs(
        params=tuple(UdfParam(name, defaults[name]) for name in names)))
    resolved = resolve_params(definition, given_values)
    expected = [given_values.get(name, defaults[name]) for name in names]
    assert resolved.dtype == np.float64
    assert list(resolved) == expected


@pytest.mark.parametrize("params, reason", [
    ({"lo": 1, "hi": 2, "mid": 3}, "unknown param [mid]"),
    ({"lo": 1}, "param [hi] is required"),
    ({"lo": "1", "hi": 2}, "param [lo] must be a finite number"),
    ({"lo": True, "hi": 2}, "param [lo] must be a finite number"),
    ({"lo": float("nan"), "hi": 2}, "param [lo] must be a finite number"),
    ([1, 2], "[params] must be an object"),
])
def test_bad_query_params_are_refused_with_the_param_named(params, reason):
    definition = UdfDefinition.create("range", MODULE_BYTES, inputs=UdfInputs(
        params=(UdfParam("lo"), UdfParam("hi"))))
    with pytest.raises(UdfInvocationError) as raised:
        resolve_params(definition, params)
    assert reason in raised.value.reason


def test_the_api_view_has_the_registration_shape_and_omits_the_module_unless_asked():
    definition = UdfDefinition.create(
        "recency", MODULE_BYTES, description="d", kinds=("score",),
        inputs=UdfInputs(fields=("published_at",), params=(UdfParam("now"), UdfParam("weight", 1.5))),
    )
    view = definition.to_api_json()
    assert view == {
        "name": "recency", "description": "d", "kind": ["score"],
        "inputs": {"fields": ["published_at"], "params": [{"name": "now"}, {"name": "weight", "default": 1.5}]},
        "sha256": definition.sha256, "module_size_in_bytes": len(MODULE_BYTES), "abi_version": 1,
    }
    with_module = definition.to_api_json(include_module=True)
    assert base64.b64decode(with_module["wasm"]) == MODULE_BYTES
    # what GET returns can be PUT back
    registration = parse_registration_body("recency", {key: with_module[key] for key in ("wasm", "description", "kind", "inputs")})
    assert registration.inputs == definition.inputs and registration.kinds == definition.kinds
