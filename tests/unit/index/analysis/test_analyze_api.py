"""analyze(): the engine of the _analyze API."""

import pytest

from index.analysis import AnalysisRegistry, Token, analyze
from index.errors import AnalysisError

REGISTRY = AnalysisRegistry()


def test_analyze_with_a_named_analyzer_reports_offsets_positions_and_types():
    assert analyze(REGISTRY, "Quick fox", analyzer="standard") == [
        Token("quick", 0, 0, 5, "<ALPHANUM>"), Token("fox", 1, 6, 9, "<ALPHANUM>")]


def test_analyze_defaults_to_the_standard_analyzer():
    assert [token.term for token in analyze(REGISTRY, "Hello World")] == ["hello", "world"]


def test_analyze_with_a_tokenizer_and_filters_builds_an_ad_hoc_chain():
    tokens = analyze(REGISTRY, "The Quick", tokenizer="whitespace", filters=["lowercase", {"type": "stop"}])
    assert [(token.term, token.position, token.type) for token in tokens] == [("quick", 1, "word")]


def test_analyze_with_char_filters_keeps_offsets_in_the_original_text():
    tokens = analyze(REGISTRY, "<b>bold</b> move", tokenizer="standard", char_filters=["html_strip"])
    assert [(token.term, token.start_offset, token.end_offset) for token in tokens] == [("bold", 3, 7), ("move", 12, 16)]


def test_several_texts_continue_positions_and_offsets():
    tokens = analyze(REGISTRY, ["one two", "three"], analyzer="standard")
    assert [(token.term, token.position, token.start_offset, token.end_offset) for token in tokens] == [
        ("one", 0, 0, 3), ("two", 1, 4, 7), ("three", 2, 8, 13)]


def test_several_texts_with_a_custom_analyzer_are_separated_by_its_position_gap():
    registry = AnalysisRegistry.from_index_settings({"analysis": {"analyzer": {"a": {"tokenizer": "standard"}}}})
    assert [token.position for token in analyze(registry, ["a b", "c"], analyzer="a")] == [0, 1, 102]


def test_analyze_with_an_unknown_analyzer_names_it():
    with pytest.raises(AnalysisError, match=r"failed to find analyzer \[nope\]"):
        analyze(REGISTRY, "x", analyzer="nope")


def test_analyze_with_an_unknown_tokenizer_or_filter_names_it():
    with pytest.raises(AnalysisError, match=r"failed to find global tokenizer under \[nope\]"):
        analyze(REGISTRY, "x", tokenizer="nope")
    with pytest.raises(AnalysisError, match=r"failed to find global filter under \[nope\]"):
        analyze(REGISTRY, "x", tokenizer="standard", filters=["nope"])


def test_an_analyzer_together_with_a_tokenizer_is_refused():
    with pytest.raises(AnalysisError):
        analyze(REGISTRY, "x", analyzer="standard", tokenizer="standard")


def test_analyze_refuses_to_produce_more_tokens_than_the_limit():
    from index.errors import LimitExceededError

    with pytest.raises(LimitExceededError, match=r"exceeded the allowed maximum of \[3\]"):
        analyze(REGISTRY, "a b c d", analyzer="standard", max_token_count=3)
    assert len(analyze(REGISTRY, "a b c", analyzer="standard", max_token_count=3)) == 3


def test_analyze_reports_offsets_in_utf16_units_like_opensearch():
    tokens = analyze(REGISTRY, ["🍕 pizza", "x"], analyzer="standard")
    assert [(token.term, token.start_offset, token.end_offset) for token in tokens] == [
        ("🍕", 0, 2), ("pizza", 3, 8), ("x", 9, 10)]


def test_every_listed_built_in_tokenizer_filter_and_char_filter_builds_and_runs():
    from index.analysis.char_filters import BUILT_IN_CHAR_FILTER_NAMES
    from index.analysis.token_filters import BUILT_IN_FILTER_NAMES
    from index.analysis.tokenizers import BUILT_IN_TOKENIZER_NAMES

    for tokenizer in BUILT_IN_TOKENIZER_NAMES:
        assert analyze(REGISTRY, "Quick brown-fox 42", tokenizer=tokenizer), tokenizer
    for token_filter in BUILT_IN_FILTER_NAMES:
        assert analyze(REGISTRY, "Quick brown-fox 42", tokenizer="standard", filters=[token_filter]), token_filter
    for char_filter in BUILT_IN_CHAR_FILTER_NAMES:
        assert analyze(REGISTRY, "<b>Quick</b>", tokenizer="standard", char_filters=[char_filter]), char_filter


def test_analyze_with_a_normalizer_gives_one_normalised_token():
    tokens = analyze(REGISTRY, "Foo BAR", normalizer="lowercase")
    assert [(token.term, token.start_offset, token.end_offset) for token in tokens] == [("foo bar", 0, 7)]
    with pytest.raises(AnalysisError, match=r"failed to find normalizer under name \[nope\]"):
        analyze(REGISTRY, "x", normalizer="nope")


def test_analyze_detail_shows_every_stage_of_a_custom_chain_with_its_names():
    from index.analysis import analyze_detail

    registry = AnalysisRegistry.from_index_settings({"analysis": {
        "filter": {"my_stop": {"type": "stop", "stopwords": ["the"]}},
        "analyzer": {"a": {"tokenizer": "standard", "filter": ["lowercase", "my_stop"], "char_filter": ["html_strip"]}}}})
    detail = analyze_detail(registry, "<b>The</b> Fox", analyzer="a", attributes=[])
    assert detail["custom_analyzer"] is True
    assert detail["charfilters"] == [{"name": "html_strip", "filtered_text": ["The Fox"]}]
    assert detail["tokenizer"]["name"] == "standard"
    assert [token["token"] for token in detail["tokenizer"]["tokens"]] == ["The", "Fox"]
    assert [(stage["name"], [token["token"] for token in stage["tokens"]]) for stage in detail["tokenfilters"]] == [
        ("lowercase", ["the", "fox"]), ("my_stop", ["fox"])]


def test_analyze_detail_of_a_built_in_analyzer_is_one_stage_with_the_requested_attributes():
    from index.analysis import analyze_detail

    detail = analyze_detail(REGISTRY, "Fox", analyzer="standard", attributes=["bytes"])
    assert detail == {"custom_analyzer": False, "analyzer": {"name": "standard", "tokens": [
        {"token": "fox", "start_offset": 0, "end_offset": 3, "type": "<ALPHANUM>", "position": 0, "bytes": "[66 6f 78]"}]}}
