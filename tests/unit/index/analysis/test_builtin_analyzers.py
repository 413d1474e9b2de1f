"""The built-in analyzers give the terms, positions and offsets OpenSearch gives."""

import pytest

from index.analysis import AnalysisRegistry, Token
from index.errors import AnalysisError

REGISTRY = AnalysisRegistry()


def terms(analyzer_name, text):
    return [token.term for token in REGISTRY.get(analyzer_name).analyze(text)]


def test_standard_lowercases_and_splits_on_punctuation_but_keeps_words_with_inner_apostrophes():
    assert terms("standard", "The QUICK brown-fox can't jump!") == ["the", "quick", "brown", "fox", "can't", "jump"]


def test_standard_keeps_decimal_numbers_and_acronyms_with_dots_together():
    assert terms("standard", "Pi is 3.14, not 1,000 in the U.S.A.") == [
        "pi", "is", "3.14", "not", "1,000", "in", "the", "u.s.a"]


def test_standard_splits_letters_from_digits_joined_by_a_dot():
    assert terms("standard", "a.1 1.a") == ["a", "1", "1", "a"]


def test_standard_keeps_underscores_inside_words_and_drops_lone_underscores():
    assert terms("standard", "hello_world __ _id") == ["hello_world", "_id"]


def test_standard_emits_each_ideograph_as_its_own_token():
    tokens = REGISTRY.get("standard").analyze("中文 text")
    assert [(token.term, token.type) for token in tokens] == [
        ("中", "<IDEOGRAPHIC>"), ("文", "<IDEOGRAPHIC>"), ("text", "<ALPHANUM>")]


def test_standard_keeps_accented_letters_including_decomposed_ones():
    assert terms("standard", "Café nai\u0308ve") == ["café", "nai\u0308ve"]


def test_standard_types_numbers_as_num_and_words_as_alphanum():
    tokens = REGISTRY.get("standard").analyze("route 66 b2b")
    assert [token.type for token in tokens] == ["<ALPHANUM>", "<NUM>", "<ALPHANUM>"]


def test_standard_splits_tokens_longer_than_255_characters():
    long_word = "x" * 300
    tokens = REGISTRY.get("standard").analyze(long_word)
    assert [(len(token.term), token.start_offset, token.end_offset, token.position) for token in tokens] == [
        (255, 0, 255, 0), (45, 255, 300, 1)]


def test_standard_reports_offsets_into_the_original_text():
    assert REGISTRY.get("standard").analyze("  Hello, World") == [
        Token("hello", 0, 2, 7, "<ALPHANUM>"), Token("world", 1, 9, 14, "<ALPHANUM>")]


def test_simple_keeps_only_letters():
    assert terms("simple", "It's 42 o'clock, R2D2") == ["it", "s", "o", "clock", "r", "d"]


def test_whitespace_splits_only_on_whitespace_and_keeps_case():
    assert terms("whitespace", "Hello, World!\tfoo-bar") == ["Hello,", "World!", "foo-bar"]


def test_whitespace_does_not_split_on_a_no_break_space():
    assert terms("whitespace", "a\u00a0b c") == ["a\u00a0b", "c"]


def test_keyword_emits_the_whole_text_as_one_token():
    assert REGISTRY.get("keyword").analyze("New York") == [Token("New York", 0, 0, 8, "word")]


def test_stop_removes_english_stop_words_and_leaves_position_gaps():
    tokens = REGISTRY.get("stop").analyze("The quick and the dead")
    assert [(token.term, token.position) for token in tokens] == [("quick", 1), ("dead", 4)]


def test_english_removes_possessives_stop_words_and_stems_with_porter():
    tokens = REGISTRY.get("english").analyze("The dog's owners are running quickly")
    assert [(token.term, token.position) for token in tokens] == [
        ("dog", 1), ("owner", 2), ("run", 4), ("quickli", 5)]


def test_terms_and_positions_agrees_with_analyze_for_every_builtin():
    text = "The Runner's 2 dogs can't stop at U.S.A. borders, naïve café 中文"
    for name in REGISTRY.names():
        analyzer = REGISTRY.get(name)
        tokens = analyzer.analyze(text)
        assert analyzer.terms_and_positions(text) == (
            [token.term for token in tokens], [token.position for token in tokens]), name


def test_an_unknown_analyzer_name_is_an_analysis_error_naming_it():
    with pytest.raises(AnalysisError, match=r"failed to find analyzer \[nope\]"):
        REGISTRY.get("nope")


def test_names_lists_the_builtins():
    assert {"standard", "simple", "whitespace", "keyword", "stop", "english"} <= set(REGISTRY.names())


def test_pattern_analyzer_uses_java_ascii_word_classes():
    assert terms("pattern", "Café au-lait") == ["caf", "au", "lait"]


def test_standard_emits_emoji_as_tokens_with_their_modifiers():
    tokens = REGISTRY.get("standard").analyze("I ❤️ 🍕 👍🏽 🇫🇷")
    assert [(token.term, token.type) for token in tokens] == [
        ("i", "<ALPHANUM>"), ("❤️", "<EMOJI>"), ("🍕", "<EMOJI>"), ("👍🏽", "<EMOJI>"), ("🇫🇷", "<EMOJI>")]


def test_fingerprint_sorts_deduplicates_folds_and_joins():
    assert terms("fingerprint", "Yes yes, Gödel said this sentence is consistent and.") == [
        "and consistent godel is said sentence this yes"]
