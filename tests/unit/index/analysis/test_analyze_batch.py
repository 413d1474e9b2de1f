"""analyze_batch gives exactly the per-text terms and positions, in columnar form."""

import numpy as np

from index.analysis import AnalysisRegistry

REGISTRY = AnalysisRegistry()

TEXTS = [
    "The quick brown fox's tail",
    "",
    "naïve Café — 中文 mixed with ASCII",
    "U.S.A. 3.14 1,000 a.1 hello_world __ _x",
    "   ",
    "the and of",
    "y" * 600,
    "Dogs RUNNING quickly",
]


def per_text(analyzer, texts):
    terms, text_index, positions = [], [], []
    for number, text in enumerate(texts):
        text_terms, text_positions = analyzer.terms_and_positions(text)
        terms += text_terms
        text_index += [number] * len(text_terms)
        positions += text_positions
    return terms, text_index, positions


def test_batch_equals_the_per_text_path_for_every_builtin_analyzer():
    for name in REGISTRY.names():
        analyzer = REGISTRY.get(name)
        batch = analyzer.analyze_batch(TEXTS)
        assert (batch.terms, batch.text_index.tolist(), batch.positions.tolist()) == per_text(analyzer, TEXTS), name


def test_batch_columns_are_int32_and_text_index_is_non_decreasing():
    batch = REGISTRY.get("standard").analyze_batch(TEXTS)
    assert batch.text_index.dtype == np.int32 and batch.positions.dtype == np.int32
    assert np.all(np.diff(batch.text_index) >= 0)
    assert len(batch.terms) == len(batch.text_index) == len(batch.positions)


def test_batch_of_no_texts_is_empty():
    batch = REGISTRY.get("standard").analyze_batch([])
    assert batch.terms == [] and batch.text_index.size == 0 and batch.positions.size == 0


def test_english_batch_keeps_stop_word_gaps_per_text():
    batch = REGISTRY.get("english").analyze_batch(["the dogs", "a cat and the dog"])
    assert batch.terms == ["dog", "cat", "dog"]
    assert batch.text_index.tolist() == [0, 1, 1]
    assert batch.positions.tolist() == [1, 1, 4]
