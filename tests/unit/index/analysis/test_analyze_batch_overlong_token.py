"""A batch holding one over-long ASCII token: that text is split as the per-text path splits it,
and every other text of the batch still gets exactly its per-text terms and positions."""

from __future__ import annotations

import numpy as np
import pytest

from index.analysis import AnalysisRegistry


@pytest.mark.parametrize("analyzer_name", ["standard", "simple", "english"])
def test_batch_with_an_overlong_token_matches_per_text_analysis(analyzer_name: str) -> None:
    analyzer = AnalysisRegistry.from_index_settings({}).get(analyzer_name)
    texts = ["The quick brown fox's den, 3.14 wide", "a " + "y" * 300 + " tail", "Über café naïve",
             "x" * 256, "don't stop: u.s.a 1,000", "", "plain words only"]
    batch = analyzer.analyze_batch(texts)
    expected_terms, expected_texts, expected_positions = [], [], []
    for number, text in enumerate(texts):
        terms, positions = analyzer.terms_and_positions(text)
        expected_terms += terms
        expected_positions += positions
        expected_texts += [number] * len(terms)
    assert batch.terms == expected_terms
    assert np.array_equal(batch.text_index, expected_texts)
    assert np.array_equal(batch.positions, expected_positions)
    assert max(len(term) for term in batch.terms) <= 255
