"""Each example module against a direct numpy computation, over random batches.

The runtime uses a tiny batch size so one call spans several wasm calls and batch edges.
"""

from __future__ import annotations

import base64
import shutil
import subprocess

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from udf.examples import C_BUILD_SCRIPT, c_registration_body, wat_registration_body
from udf.runtime import FieldColumn, UdfRuntime, UdfRuntimeConfig

MILLIS_PER_DAY = 86_400_000.0


@pytest.fixture(scope="module")
def runtime():
    with UdfRuntime(UdfRuntimeConfig(batch_document_count=7)) as udf_runtime:
        yield udf_runtime


@pytest.fixture(scope="module")
def stock_filter_wasm(tmp_path_factory):
    missing = [tool for tool in ("clang", "wasm-ld") if shutil.which(tool) is None]
    if missing:
        pytest.skip(f"{' and '.join(missing)} not installed: the C example needs `apt-get install -y clang lld`")
    output_directory = tmp_path_factory.mktemp("udf_c_examples")
    subprocess.run(["bash", str(C_BUILD_SCRIPT), str(output_directory)], check=True, capture_output=True)
    return (output_directory / "stock_filter.wasm").read_bytes()


def columns(draw, document_count, elements):
    values = np.array(draw(st.lists(elements, min_size=document_count, max_size=document_count)),
                      dtype=np.float64)
    present = np.array(draw(st.lists(st.booleans(), min_size=document_count, max_size=document_count)),
                       dtype=bool)
    return FieldColumn(values=values, present=present)


dates = st.integers(0, 4_102_444_800_000).map(float)             # 1970 .. 2100 in epoch millis
finite = st.floats(-1e12, 1e12, allow_nan=False, allow_infinity=False)


@given(st.data())
def test_the_recency_scorer_matches_its_formula(runtime, data):
    definition = runtime.build_definition("recency", wat_registration_body("recency_scorer"))
    document_count = data.draw(st.integers(0, 40))
    published_at = columns(data.draw, document_count, dates)
    scores = np.array(data.draw(st.lists(st.floats(0, 1e6), min_size=document_count, max_size=document_count)),
                      dtype=np.float64)
    now_millis = float(data.draw(dates))
    weight = data.draw(st.none() | st.floats(0, 100))
    params = {"now_millis": now_millis} if weight is None else {"now_millis": now_millis, "weight": weight}

    outcome = runtime.run_score(definition, scores, {"published_at": published_at}, params)

    effective_weight = 1.0 if weight is None else weight
    age_days = np.maximum(0.0, (now_millis - published_at.values) / MILLIS_PER_DAY)
    expected = np.where(published_at.present, scores * (1.0 + effective_weight / (1.0 + age_days)), scores)
    assert np.array_equal(outcome.scores, expected)
    assert outcome.batch_count == -(-document_count // 7)


@given(st.data())
def test_the_range_filter_keeps_exactly_the_present_values_within_bounds(runtime, data):
    definition = runtime.build_definition("range", wat_registration_body("range_filter"))
    document_count = data.draw(st.integers(0, 40))
    value = columns(data.draw, document_count, finite)
    lo, hi = data.draw(finite), data.draw(finite)

    outcome = runtime.run_filter(definition, document_count, {"value": value}, {"lo": lo, "hi": hi})

    expected = value.present & (lo <= value.values) & (value.values <= hi)
    assert np.array_equal(outcome.keep, expected)


@given(st.data())
def test_the_c_stock_filter_keeps_cheap_documents_in_stock(runtime, stock_filter_wasm, data):
    body = c_registration_body("stock_filter", base64.b64encode(stock_filter_wasm).decode())
    definition = runtime.build_definition("stock", body)
    document_count = data.draw(st.integers(0, 40))
    price = columns(data.draw, document_count, st.floats(0, 1000))
    stock = columns(data.draw, document_count, st.integers(0, 50).map(float))
    max_price, min_stock = data.draw(st.floats(0, 1000)), data.draw(st.integers(0, 50))

    outcome = runtime.run_filter(definition, document_count, {"price": price, "stock": stock},
                                 {"max_price": max_price, "min_stock": min_stock})

    expected = (price.present & stock.present & (price.values <= max_price) & (stock.values >= min_stock))
    assert np.array_equal(outcome.keep, expected)
