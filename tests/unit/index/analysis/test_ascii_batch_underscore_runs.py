"""The numpy ASCII tokenizer drops runs of underscores alone, exactly as the regex path does."""

from __future__ import annotations

import pytest

from index.analysis import AnalysisRegistry

TEXTS_WITH_UNDERSCORES = [
    "_", "__", "a_b", "_a", "a_", "__init__ method", "x ___ y", "___\n___", "snake_case_name_",
    "1_000 and _1_", "don't_stop", "_ _ _", "a.b_c.d", "end with __",
]


@pytest.mark.parametrize("analyzer_name", ["standard", "simple"])
def test_batch_tokens_equal_per_text_tokens_around_underscores(analyzer_name):
    analyzer = AnalysisRegistry.from_index_settings({}).get(analyzer_name)
    batch = analyzer.analyze_batch(TEXTS_WITH_UNDERSCORES)
    expected_terms, expected_text_index, expected_positions = [], [], []
    for text_number, text in enumerate(TEXTS_WITH_UNDERSCORES):
        terms, positions = analyzer.terms_and_positions(text)
        expected_terms += terms
        expected_text_index += [text_number] * len(terms)
        expected_positions += positions
    assert batch.terms == expected_terms
    assert batch.text_index.tolist() == expected_text_index
    assert batch.positions.tolist() == expected_positions


def test_underscore_only_runs_are_no_tokens_but_underscores_inside_words_stay():
    analyzer = AnalysisRegistry.from_index_settings({}).get("standard")
    batch = analyzer.analyze_batch(["__ __init__ a_b ___"])
    assert batch.terms == ["__init__", "a_b"]
