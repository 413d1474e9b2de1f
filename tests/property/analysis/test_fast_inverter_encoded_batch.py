"""Property: the dictionary-encoded batch path (analyze_batch_encoded) decodes to exactly what
analyze_batch and the per-text path give, for every analyzer it serves, on texts that hit every
rule: unicode, separators, digits, underscores, apostrophes, 7/8/9-byte tokens, over-long
tokens, empty texts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.analysis import AnalysisRegistry
from index.analysis import batch_terms

REGISTRY = AnalysisRegistry.from_index_settings({"analysis": {
    "filter": {
        "my_stop": {"type": "stop", "stopwords": ["alpha", "the", "x"]},
        "my_marker": {"type": "keyword_marker", "keywords": ["running"]},
        "my_length": {"type": "length", "min": 2, "max": 9},
    },
    "analyzer": {
        "custom_chain": {"type": "custom", "tokenizer": "standard",
                         "filter": ["lowercase", "my_stop", "my_marker", "porter_stem", "my_length"]},
        "custom_letter": {"type": "custom", "tokenizer": "letter", "filter": ["lowercase", "asciifolding"]},
    },
}})
ENCODED_ANALYZERS = ["standard", "simple", "english", "stop", "custom_chain", "custom_letter"]

INTERESTING = list("aZq09_ .,;:'\"-\n\t!?/") + [
    "é", "ß", "İ", "中", "ひ", "カ", "한", "\u0301", "’", "‘", "\xa0", "—", "“", "”", "─", "→", "☀", "😀",
    "\u200b", "\u00ad", "\ufe0f", "𝐀", "²", "٣", "·",
]
WORDS = st.sampled_from(["a", "ab", "abcdefg", "abcdefgh", "abcdefghi", "Don't", "3.14", "1,000", "u.s.a",
                         "__init__", "_", "snake_case", "x" * 255, "y" * 256, "q" * 600, "Ünïcödé", "naïve",
                         "running", "Runs", "the", "ALPHA", "dogs'", "bob's", "café—bar", "“quoted”"])
TEXT = st.one_of(
    st.text(st.sampled_from(INTERESTING), max_size=40),
    st.lists(WORDS, max_size=12).map(" ".join),
    st.lists(st.one_of(WORDS, st.sampled_from(INTERESTING)), max_size=12).map("".join),
    st.text(max_size=25),
    st.text(st.sampled_from(list("ab1_.'")), min_size=250, max_size=270),
)


def per_text(analyzer, texts):
    terms, text_index, positions = [], [], []
    for number, text in enumerate(texts):
        text_terms, text_positions = analyzer.terms_and_positions(text)
        terms += text_terms
        text_index += [number] * len(text_terms)
        positions += text_positions
    return terms, text_index, positions


def decoded(encoded):
    return ([encoded.terms[term_id] for term_id in encoded.term_ids.tolist()],
            encoded.text_index.tolist(), encoded.positions.tolist())


@settings(max_examples=300, deadline=None)
@given(st.lists(TEXT, max_size=10), st.sampled_from(ENCODED_ANALYZERS))
def test_the_encoded_batch_decodes_to_the_batch_and_the_per_text_tokens(texts, analyzer_name):
    analyzer = REGISTRY.get(analyzer_name)
    encoded = analyzer.analyze_batch_encoded(texts)
    assert encoded is not None
    batch = analyzer.analyze_batch(texts)
    assert decoded(encoded) == (batch.terms, batch.text_index.tolist(), batch.positions.tolist())
    assert decoded(encoded) == per_text(analyzer, texts)
    assert encoded.terms == sorted(set(encoded.terms))             # sorted, distinct
    assert set(encoded.term_ids.tolist()) == set(range(len(encoded.terms)))   # every term used


@settings(max_examples=200, deadline=None)
@given(st.characters(min_codepoint=0x80, max_codepoint=0xFFFF), st.sampled_from(["standard", "simple"]))
def test_a_character_the_byte_path_treats_as_a_separator_changes_no_token(character, analyzer_name):
    from index.analysis.encoded_batch import _non_separator_pattern

    if _non_separator_pattern(analyzer_name).search(character) is not None:
        return   # not a separator: such texts take the exact Unicode path
    analyzer = REGISTRY.get(analyzer_name)
    for text in (f"ab{character}cd", f"3{character}4", f"a{character}'b", f"_{character}_", f"don{character}t"):
        assert analyzer.terms_and_positions(text) == analyzer.terms_and_positions(text.replace(character, " "))


def test_analyzers_the_byte_path_cannot_prove_identical_are_left_to_the_string_path():
    for name in ("whitespace", "keyword"):
        assert REGISTRY.get(name).analyze_batch_encoded(["a b"]) is None


def test_a_hash_collision_between_long_tokens_is_detected_and_never_merges_two_terms(monkeypatch):
    real_token_keys = batch_terms.token_keys

    def colliding_token_keys(words, starts, lengths):
        keys = real_token_keys(words, starts, lengths)
        keys[lengths > 7] = np.uint64(1 << 63)      # every long token gets the same key
        return keys

    monkeypatch.setattr(batch_terms, "token_keys", colliding_token_keys)
    analyzer = REGISTRY.get("standard")
    assert analyzer.analyze_batch_encoded(["abcdefghij abcdefghik"]) is None
    # one distinct long term cannot collide with itself: still encoded
    encoded = analyzer.analyze_batch_encoded(["abcdefghij x abcdefghij"])
    assert encoded is not None and decoded(encoded)[0] == ["abcdefghij", "x", "abcdefghij"]


@pytest.mark.parametrize("length", [1, 7, 8, 9, 15, 16, 17, 255, 256, 511, 600])
def test_tokens_around_word_boundaries_and_the_length_limit_encode_exactly(length):
    analyzer = REGISTRY.get("standard")
    texts = ["k" * length + " " + "k" * (length - 1) + "z", "K" * length]
    assert decoded(analyzer.analyze_batch_encoded(texts)) == per_text(analyzer, texts)
