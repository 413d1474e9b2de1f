"""layout.encode_strings lays strings back to back in UTF-8 with exact byte offsets, whatever
the strings hold (newlines included), and decode_strings gives them back."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from index.segment.layout import decode_strings, encode_strings

ALPHABET = st.sampled_from(["a", "Z", "\n", "é", "中", "\U0001F600", " ", "\x00"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.text(ALPHABET, max_size=8), st.text(max_size=8)), max_size=40))
def test_the_blob_and_offsets_are_the_utf8_bytes_of_each_string_in_order(strings):
    blob, offsets = encode_strings(strings)
    encoded = [string.encode("utf-8") for string in strings]
    assert blob == b"".join(encoded)
    assert offsets.dtype.str == "<i8"
    assert offsets.tolist() == [sum(map(len, encoded[:number])) for number in range(len(strings) + 1)]
    assert decode_strings(blob, offsets) == strings
