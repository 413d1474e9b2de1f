"""Columns from a segment's doc values: first value per document, missing fields, keywords refused."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from udf.columns import columns_from_segment
from udf.errors import UdfInvocationError


@dataclass(frozen=True)
class NumericDocValuesShape:        # the shape of index/'s NumericDocValues
    offsets: np.ndarray
    values: np.ndarray
    is_float: bool


class SegmentShape:                 # just what columns_from_segment reads of a SegmentReader
    def __init__(self, numeric: dict, keyword_fields: set[str]) -> None:
        self._numeric = numeric
        self._keyword_fields = keyword_fields

    def numeric_doc_values(self, field_name):
        return self._numeric.get(field_name)

    def keyword_doc_values(self, field_name):
        return object() if field_name in self._keyword_fields else None


SEGMENT = SegmentShape(
    numeric={
        # doc 0: [3, 8]; doc 1: none; doc 2: [5]; doc 3: [1]
        "price": NumericDocValuesShape(np.array([0, 2, 2, 3, 4]), np.array([3, 8, 5, 1]), False),
        "published_at": NumericDocValuesShape(np.array([0, 1, 2, 2, 3]),
                                              np.array([1.7e12, 1.6e12, 1.5e12]), True),
    },
    keyword_fields={"tag"},
)


def test_each_candidate_gets_its_first_value_and_a_presence_flag_in_candidate_order():
    columns = columns_from_segment("f", ["price", "published_at"], SEGMENT, np.array([2, 0, 1, 3]))
    assert list(columns["price"].present) == [True, True, False, True]
    assert list(columns["price"].values[[0, 1, 3]]) == [5.0, 3.0, 1.0]
    assert np.isnan(columns["price"].values[2])
    assert list(columns["published_at"].present) == [False, True, True, True]
    assert list(columns["published_at"].values[1:]) == [1.7e12, 1.6e12, 1.5e12]


def test_a_field_the_segment_lacks_is_all_missing():
    columns = columns_from_segment("f", ["rating"], SEGMENT, np.array([0, 1]))
    assert not columns["rating"].present.any() and np.isnan(columns["rating"].values).all()


def test_a_keyword_field_is_refused_as_an_input():
    with pytest.raises(UdfInvocationError, match=r"field \[tag\] is a keyword field"):
        columns_from_segment("f", ["tag"], SEGMENT, np.array([0]))
