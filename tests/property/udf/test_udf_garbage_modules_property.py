"""Whatever bytes arrive as a module, registration answers with a UdfError, never a crash."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from udf.errors import UdfDefinitionError, UdfValidationError
from udf.runtime import UdfRuntime

WASM_HEADER = b"\x00asm\x01\x00\x00\x00"


@pytest.fixture(scope="module")
def runtime():
    with UdfRuntime() as udf_runtime:
        yield udf_runtime


@given(st.binary(max_size=200), st.booleans())
def test_arbitrary_bytes_are_refused_with_a_reason(runtime, tail, with_header):
    module = (WASM_HEADER if with_header else b"") + tail
    with pytest.raises((UdfValidationError, UdfDefinitionError)) as raised:
        runtime.build_definition("garbage", {"wasm": base64.b64encode(module).decode()})
    assert raised.value.reason
    assert raised.value.function_name == "garbage"


@given(st.text(max_size=200))
def test_arbitrary_wat_text_is_refused_with_a_reason(runtime, text):
    with pytest.raises((UdfValidationError, UdfDefinitionError)) as raised:
        runtime.build_definition("garbage", {"wat": text})
    assert raised.value.reason
