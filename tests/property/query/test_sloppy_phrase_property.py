"""Property: the vectorised sloppy-phrase frequency equals the per-document heap walk."""

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from index.query.execution import _sloppy_frequency, sloppy_frequencies

BIAS = 1 << 20

@st.composite
def slot_positions(draw):
    slot_count = draw(st.integers(1, 4))
    per_doc = draw(st.dictionaries(st.integers(0, 30),
                                   st.lists(st.sets(st.integers(0, 25), max_size=6), min_size=slot_count,
                                            max_size=slot_count), max_size=8))
    return slot_count, per_doc


@settings(max_examples=150, deadline=None)
@given(slot_positions(), st.integers(0, 6))
def test_vectorised_sloppy_frequencies_equal_the_heap_walk(data, slop):
    slot_count, per_doc = data
    slot_keys = []
    for slot in range(slot_count):
        keys = sorted((doc << 32) | (position + BIAS) for doc, slots in per_doc.items() for position in slots[slot])
        slot_keys.append(np.array(keys, dtype=np.int64))
    docs, frequencies = sloppy_frequencies(slot_keys, slop)
    expected = {}
    for doc, slots in per_doc.items():
        lists = [sorted(position + BIAS for position in positions) for positions in slots]
        frequency = _sloppy_frequency(lists, slop)
        if frequency > 0:
            expected[doc] = frequency
    assert docs.tolist() == sorted(expected)
    for doc, frequency in zip(docs.tolist(), frequencies.tolist()):
        assert math.isclose(frequency, expected[doc], rel_tol=1e-12)
