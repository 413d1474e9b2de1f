"""serialize_postings gives, term by term, exactly pyroaring's serialization of the same doc ids —
array, run and bitset containers, one or many containers per term, with and without offsets."""

from __future__ import annotations

from array import array

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from pyroaring import BitMap

from index.segment.roaring_codec import serialize_postings


def _doc_ids() -> st.SearchStrategy[list[int]]:
    scattered = st.sets(st.integers(0, (1 << 32) - 1), min_size=1, max_size=40)
    near = st.sets(st.integers(0, 300_000), min_size=1, max_size=60)
    runs = st.lists(st.tuples(st.integers(0, 400_000), st.integers(1, 9_000)), min_size=1, max_size=4).map(
        lambda spans: {doc for start, length in spans for doc in range(start, start + length)})
    strided = st.tuples(st.integers(0, 200_000), st.integers(1, 3), st.integers(1, 7_000)).map(
        lambda spec: set(range(spec[0], spec[0] + spec[1] * spec[2], spec[1])))
    return st.one_of(scattered, near, runs, strided).map(sorted)


@settings(max_examples=150, deadline=None)
@given(st.lists(_doc_ids(), min_size=1, max_size=12))
def test_every_term_serializes_byte_identical_to_pyroaring(doc_lists: list[list[int]]) -> None:
    offsets = np.cumsum([0] + [len(docs) for docs in doc_lists]).astype(np.int64)
    entry_docs = np.concatenate([np.asarray(docs, dtype=np.uint32) for docs in doc_lists])
    blob, term_starts = serialize_postings(entry_docs, offsets)
    assert len(term_starts) == len(doc_lists) + 1
    for term, docs in enumerate(doc_lists):
        expected = BitMap(array("I", docs)).serialize()
        assert blob[term_starts[term]: term_starts[term + 1]].tobytes() == expected


def test_no_terms_serialize_to_nothing() -> None:
    blob, term_starts = serialize_postings(np.zeros(0, dtype=np.uint32), np.zeros(1, dtype=np.int64))
    assert len(blob) == 0
    assert term_starts.tolist() == [0]
