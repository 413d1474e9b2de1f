"""encoded_batch.ascii_token_bounds cuts the batch into chunks of text (so its temporaries stay
small, ADR 0295): whatever the chunk size, the tokens — their bytes, text numbers and positions —
are those of one pass over the whole batch, and the encoded batch is unchanged."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from index.analysis import AnalysisRegistry, encoded_batch

_WORDS = st.sampled_from(["a", "fox", "don't", "3.14", "x_y", "___", "U.S.A", "über", "数据", "a" * 300, ""])
_TEXTS = st.lists(st.lists(_WORDS, max_size=12).map(" ".join), max_size=40)


def _token_strings(tokens: encoded_batch.ByteTokens) -> list[str]:
    buffer = tokens.buffer.tobytes()
    return [buffer[start:start + length].decode("utf-8")
            for start, length in zip(tokens.starts.tolist(), tokens.lengths.tolist())]


def _bounds_with_chunk_size(texts: list[str], kind: str, chunk_bytes: int) -> encoded_batch.ByteTokens:
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(encoded_batch, "_CHUNK_TEXT_BYTES", chunk_bytes)
        return encoded_batch.ascii_token_bounds(texts, kind)


@settings(max_examples=150, deadline=None)
@given(texts=_TEXTS.map(lambda texts: [text for text in texts if text.isascii()]),
       kind=st.sampled_from(["standard", "simple"]), chunk_bytes=st.integers(min_value=1, max_value=64))
def test_chunked_bounds_give_the_tokens_of_one_pass(texts, kind, chunk_bytes):
    whole = _bounds_with_chunk_size(texts, kind, 1 << 40)
    chunked = _bounds_with_chunk_size(texts, kind, chunk_bytes)
    assert _token_strings(chunked) == _token_strings(whole)
    assert chunked.text_index.tolist() == whole.text_index.tolist()
    assert chunked.positions.tolist() == whole.positions.tolist()
    assert chunked.buffer.size >= (int((chunked.starts + chunked.lengths).max()) + 7 if chunked.starts.size else 0)


@settings(max_examples=60, deadline=None)
@given(texts=_TEXTS, chunk_bytes=st.integers(min_value=1, max_value=64))
def test_the_encoded_batch_does_not_depend_on_the_chunk_size(texts, chunk_bytes):
    analyzer = AnalysisRegistry.from_index_settings({}).get("standard")
    whole = analyzer.analyze_batch_encoded(texts)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(encoded_batch, "_CHUNK_TEXT_BYTES", chunk_bytes)
        chunked = analyzer.analyze_batch_encoded(texts)
    assert chunked.terms == whole.terms
    assert np.array_equal(chunked.term_ids, whole.term_ids)
    assert np.array_equal(chunked.text_index, whole.text_index)
    assert np.array_equal(chunked.positions, whole.positions)
    # and both are what the per-text analyzer gives
    reference = analyzer.analyze_batch(texts)
    assert [chunked.terms[term_id] for term_id in chunked.term_ids.tolist()] == list(reference.terms)
