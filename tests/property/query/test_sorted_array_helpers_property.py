"""Property: the binary-search set helpers equal numpy's sorting ones."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from index.query.execution import sorted_intersection, sorted_membership

sorted_unique = st.sets(st.integers(0, 200), max_size=40).map(lambda values: np.array(sorted(values), dtype=np.int64))


@settings(max_examples=200, deadline=None)
@given(sorted_unique, sorted_unique)
def test_sorted_membership_equals_isin(values, members):
    assert sorted_membership(values, members).tolist() == np.isin(values, members).tolist()


@settings(max_examples=200, deadline=None)
@given(sorted_unique, sorted_unique)
def test_sorted_intersection_equals_intersect1d_with_indices(left, right):
    common, left_index, right_index = sorted_intersection(left, right)
    expected, expected_left, expected_right = np.intersect1d(left, right, assume_unique=True, return_indices=True)
    assert common.tolist() == expected.tolist()
    assert left_index.tolist() == expected_left.tolist()
    assert right_index.tolist() == expected_right.tolist()
