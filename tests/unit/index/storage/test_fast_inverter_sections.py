"""The builder's vectorised section writers give exactly the bytes of their one-at-a-time forms:
stored sources from a list vs from a stream, strings encoded at once vs one by one, and the
inverted field of distinct single values vs invert_tokens."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from index.segment.builder import SOURCE_BLOCK_BYTES, _invert_distinct_single_values, write_sources
from index.segment.inverter import invert_tokens
from index.segment.layout import SectionWriter, encode_strings

SOURCE = st.one_of(st.binary(max_size=40), st.integers(0, 3).map(
    lambda quarter: b"s" * (SOURCE_BLOCK_BYTES // 4 * quarter)), st.just(b"x" * (SOURCE_BLOCK_BYTES + 7)))


@settings(max_examples=80, deadline=None)
@given(st.lists(SOURCE, max_size=30))
def test_sources_from_a_list_are_the_bytes_of_sources_from_a_stream(sources):
    streamed, listed = SectionWriter(), SectionWriter()
    write_sources(streamed, iter(sources), len(sources))
    write_sources(listed, list(sources), len(sources))
    assert listed.encode() == streamed.encode()


@given(st.lists(st.text(max_size=6), max_size=20))
def test_strings_encoded_at_once_equal_strings_encoded_one_by_one(strings):
    blob, offsets = encode_strings(strings)
    encoded = [string.encode("utf-8") for string in strings]
    assert blob == b"".join(encoded)
    assert offsets.tolist() == np.cumsum([0] + [len(item) for item in encoded]).tolist()


@given(st.lists(st.text(max_size=4), min_size=2, max_size=30), st.booleans())
def test_distinct_single_values_invert_like_invert_tokens_or_decline(terms, repeat_a_document):
    docs = np.arange(len(terms), dtype=np.int64)
    if repeat_a_document:
        docs[1] = 0
    fast = _invert_distinct_single_values(terms, docs)
    if len(set(terms)) < len(terms) or repeat_a_document:
        assert fast is None
        return
    expected = invert_tokens(terms, docs, np.zeros(len(terms), dtype=np.int64))
    assert fast.terms == expected.terms
    for name in ("term_entry_offsets", "entry_docs", "entry_frequencies", "entry_position_offsets", "positions"):
        assert getattr(fast, name).tolist() == getattr(expected, name).tolist(), name
        assert getattr(fast, name).dtype == getattr(expected, name).dtype, name
