"""roaring_codec.deserialize_postings decodes every term's serialized bitmap at once, exactly as
pyroaring's deserialize + to_array per term (array, run and bitset containers)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyroaring import BitMap

from index.segment.roaring_codec import deserialize_postings, serialize_postings


def _postings(draw_kind: str, seed: int) -> np.ndarray:
    generator = np.random.default_rng(seed)
    if draw_kind == "sparse":
        docs = generator.choice(300_000, size=int(generator.integers(1, 20)), replace=False)
    elif draw_kind == "one run":
        start = int(generator.integers(0, 200_000))
        docs = np.arange(start, start + int(generator.integers(1, 9_000)))
    elif draw_kind == "bitset":
        docs = generator.choice(70_000, size=int(generator.integers(4_000, 9_000)), replace=False)
    elif draw_kind == "short runs in a few chunks":
        docs = np.concatenate([np.arange(chunk * 65_536, chunk * 65_536 + int(generator.integers(1, 40)))
                               for chunk in range(int(generator.integers(1, 7)))])
    else:   # many short runs anywhere
        docs = np.concatenate([np.arange(first, first + int(generator.integers(1, 30)))
                               for first in generator.choice(500_000, size=int(generator.integers(1, 60)))])
    return np.unique(docs).astype(np.uint32)


KINDS = st.sampled_from(["sparse", "one run", "bitset", "short runs in a few chunks", "many short runs"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(KINDS, st.integers(0, 2 ** 32 - 1)), min_size=1, max_size=12), st.integers(0, 9))
def test_all_terms_decode_to_what_pyroaring_decodes(terms, leading_bytes):
    lists = [_postings(kind, seed) for kind, seed in terms]
    offsets = np.cumsum([0] + [len(docs) for docs in lists])
    blob, term_starts = serialize_postings(np.concatenate(lists), offsets)
    buffer = np.concatenate((np.full(leading_bytes, 7, dtype=np.uint8), blob))    # terms need not start at 0
    decoded = deserialize_postings(buffer, term_starts[:-1] + leading_bytes, np.diff(term_starts), np.diff(offsets))
    expected = np.concatenate([
        np.frombuffer(BitMap.deserialize(blob[term_starts[t]:term_starts[t + 1]].tobytes()).to_array(), dtype=np.uint32)
        for t in range(len(lists))])
    assert decoded.dtype == np.uint32
    assert np.array_equal(decoded, expected)
    assert np.array_equal(decoded, np.concatenate(lists))


def test_a_count_that_disagrees_with_the_bitmap_is_refused():
    blob, term_starts = serialize_postings(np.asarray([1, 5, 9], dtype=np.uint32), np.asarray([0, 3]))
    with pytest.raises(ValueError, match="term number 0: expected 4 docs, its bitmap holds 3"):
        deserialize_postings(blob, term_starts[:-1], np.diff(term_starts), np.asarray([4]))


def test_bytes_that_are_no_roaring_bitmap_are_refused():
    with pytest.raises(ValueError, match="term number 0: expected a roaring cookie"):
        deserialize_postings(np.zeros(16, dtype=np.uint8), np.asarray([0]), np.asarray([16]), np.asarray([1]))
