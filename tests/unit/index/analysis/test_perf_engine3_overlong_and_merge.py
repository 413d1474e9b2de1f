"""The byte path cuts several over-long tokens into pieces and merges the per-text Unicode
path's tokens in text order, exactly as the string path does."""

from __future__ import annotations

import pytest

from index.analysis import AnalysisRegistry


def decoded_tokens(encoded):
    return ([encoded.terms[term_id] for term_id in encoded.term_ids.tolist()], encoded.text_index.tolist(),
            encoded.positions.tolist())


def string_path_tokens(batch):
    return list(batch.terms), list(batch.text_index), list(batch.positions)


@pytest.mark.parametrize("analyzer_name", ["standard", "simple", "english"])
def test_several_over_long_tokens_among_unicode_texts_encode_like_the_string_path(analyzer_name):
    analyzer = AnalysisRegistry.from_index_settings({}).get(analyzer_name)
    texts = [
        "short " + "a" * 600 + " mid " + "b" * 256 + " end",      # 3 pieces, then 2 pieces
        "東京 タワー and words",                                    # the per-text Unicode path
        "c" * 255 + " " + "d" * 510 + "x" * 3,                    # exactly the limit, then 3 pieces
        "",
        "über straße " + "e" * 300,                                # accented: per-text path too
        "plain ascii text",
        "f" * 1000,
        "日本語",
    ]
    encoded = analyzer.analyze_batch_encoded(texts)
    assert encoded is not None
    assert decoded_tokens(encoded) == string_path_tokens(analyzer.analyze_batch(texts))


def test_a_batch_of_only_unicode_path_texts_and_one_ascii_text_keeps_text_order():
    analyzer = AnalysisRegistry.from_index_settings({}).get("standard")
    texts = ["日本", "日本", "ascii here", "中文 字", "中文"]
    encoded = analyzer.analyze_batch_encoded(texts)
    assert decoded_tokens(encoded) == string_path_tokens(analyzer.analyze_batch(texts))
