"""encode_byte_tokens(sort=True): the distinct terms come out in Python's string order (sorted on their
UTF-8 bytes before decoding, long shared prefixes included) and every token's id still names its term."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from index.analysis.batch_terms import encode_byte_tokens

# tokens as the tokenizers give them: non-empty, no zero byte, no newline; shared prefixes longer than
# the 24-byte sort key and prefixes of each other are the interesting cases
characters = st.characters(blacklist_characters="\x00\n", blacklist_categories=("Cs",))
plain_tokens = st.text(characters, min_size=1, max_size=12)
long_tokens = st.builds(lambda tail, stem: stem + tail, st.text(characters, max_size=6),
                        st.sampled_from(["internationalization-of-", "x" * 23, "x" * 24, "x" * 25,
                                         "préfixe-très-long-partagé-"]))
tokens_strategy = st.lists(st.one_of(plain_tokens, long_tokens), min_size=1, max_size=60)


def encoded(tokens: list[str], sort: bool):
    raw = ("\n" + "\n".join(tokens) + "\n").encode("utf-8")
    buffer = np.frombuffer(raw + b"\n" * 8, dtype=np.uint8)
    newlines = np.flatnonzero(np.frombuffer(raw, dtype=np.uint8) == 10)
    starts, lengths = newlines[:-1] + 1, np.diff(newlines) - 1
    return encode_byte_tokens(buffer, starts.astype(np.int64), lengths.astype(np.int64), sort=sort)


@settings(max_examples=300, deadline=None)
@given(tokens_strategy)
def test_sorted_terms_are_the_distinct_tokens_in_string_order_and_ids_name_them(tokens):
    result = encoded(tokens, sort=True)
    assert result is not None
    terms, ids = result
    assert terms == sorted(set(tokens))
    assert [terms[token_id] for token_id in ids.tolist()] == tokens


@settings(max_examples=100, deadline=None)
@given(tokens_strategy)
def test_sorting_changes_only_the_numbering_not_the_tokens(tokens):
    unsorted_terms, unsorted_ids = encoded(tokens, sort=False)
    sorted_terms, sorted_ids = encoded(tokens, sort=True)
    assert sorted(unsorted_terms) == sorted_terms
    assert [unsorted_terms[i] for i in unsorted_ids.tolist()] == [sorted_terms[i] for i in sorted_ids.tolist()]


def test_strings_sharing_more_than_the_key_are_ordered_by_their_whole_bytes():
    stem = "a" * 30
    tokens = [stem + "z", stem, stem + "b", "a" * 24, stem + "é", stem + "b", "b"]
    terms, ids = encoded(tokens, sort=True)
    assert terms == ["a" * 24, stem, stem + "b", stem + "z", stem + "é", "b"]
    assert [terms[i] for i in ids.tolist()] == tokens
