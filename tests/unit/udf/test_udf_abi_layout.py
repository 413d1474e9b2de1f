"""The batch layout of ABI v1: alignment, no overlaps, and a byte-exact header."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from udf import abi


@given(st.integers(0, 5000), st.integers(0, 64), st.integers(0, 64))
def test_every_section_is_aligned_and_sections_do_not_overlap(document_count, field_count, param_count):
    layout = abi.plan_batch_layout(document_count, field_count, param_count)
    sections = [
        (0, abi.HEADER_BYTES),
        (layout.params_offset, 8 * param_count),
        (layout.scores_offset, 8 * document_count),
        (layout.field_values_offset, 8 * document_count * field_count),
        (layout.field_present_offset, document_count * field_count),
        (layout.output_offset, 8 * document_count),
    ]
    for start, _length in sections:
        assert start % abi.ALIGNMENT == 0
    for (start, length), (next_start, _next_length) in zip(sections, sections[1:]):
        assert start + length <= next_start
    last_start, last_length = sections[-1]
    assert last_start + last_length <= layout.total_bytes
    assert layout.total_bytes % abi.ALIGNMENT == 0


def test_a_batch_too_large_for_an_i32_region_is_refused():
    with pytest.raises(ValueError, match="bytes"):
        abi.plan_batch_layout(1 << 28, 8, 0)


def test_write_batch_puts_header_params_scores_columns_and_zeroed_output_where_the_header_says():
    layout = abi.plan_batch_layout(3, 2, 2)
    region = np.full(layout.total_bytes, 0xAB, dtype=np.uint8)
    abi.write_batch(
        region, layout, abi.KIND_SCORE,
        params=np.array([1.5, -2.0]),
        scores=np.array([0.25, 0.5, 0.75]),
        field_values=[np.array([1.0, np.nan, 3.0]), np.array([4.0, 5.0, 6.0])],
        field_present=[np.array([True, False, True]), np.array([True, True, True])],
    )
    header = region[:abi.HEADER_BYTES].view("<u4")
    assert list(header[:10]) == [
        1, 3, 2, 2, layout.params_offset, layout.scores_offset, layout.field_values_offset,
        layout.field_present_offset, layout.output_offset, 1,
    ]
    assert not header[10:].any()
    assert list(region[layout.params_offset:layout.params_offset + 16].view("<f8")) == [1.5, -2.0]
    assert list(region[layout.scores_offset:layout.scores_offset + 24].view("<f8")) == [0.25, 0.5, 0.75]
    values = region[layout.field_values_offset:layout.field_values_offset + 48].view("<f8")
    assert values[0] == 1.0 and np.isnan(values[1]) and list(values[2:]) == [3.0, 4.0, 5.0, 6.0]
    assert list(region[layout.field_present_offset:layout.field_present_offset + 6]) == [1, 0, 1, 1, 1, 1]
    assert not region[layout.output_offset:layout.total_bytes].any()


def test_a_filter_batch_without_scores_gets_zero_scores_and_kind_zero():
    layout = abi.plan_batch_layout(2, 0, 0)
    region = np.full(layout.total_bytes, 0xFF, dtype=np.uint8)
    abi.write_batch(region, layout, abi.KIND_FILTER, np.empty(0), None, [], [])
    assert region[abi.HEADER_KIND:abi.HEADER_KIND + 4].view("<u4")[0] == 0
    assert not region[layout.scores_offset:layout.scores_offset + 16].any()


def test_filter_output_treats_any_non_zero_byte_as_keep():
    layout = abi.plan_batch_layout(4, 0, 0)
    region = np.zeros(layout.total_bytes, dtype=np.uint8)
    region[layout.output_offset:layout.output_offset + 4] = [0, 1, 2, 255]
    assert list(abi.read_filter_output(region, layout)) == [False, True, True, True]


def test_score_output_is_a_copy_that_outlives_the_region():
    layout = abi.plan_batch_layout(2, 0, 0)
    region = np.zeros(layout.total_bytes, dtype=np.uint8)
    region[layout.output_offset:layout.output_offset + 16].view("<f8")[:] = [3.0, 4.0]
    scores = abi.read_score_output(region, layout)
    region[:] = 0
    assert list(scores) == [3.0, 4.0]
