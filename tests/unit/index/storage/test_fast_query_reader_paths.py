"""The reader's optional fast paths (used by index/query when present) agree with the
SegmentReader protocol methods they shortcut: decoded postings arrays, document frequencies from
offsets, positions of chosen entries, the live-docs mask and per-block score maxima."""

import numpy as np
import orjson
import pytest

from index.analysis import AnalysisRegistry
from index.mapping import Mapping
from index.operations import DeleteOperation, IndexOperation
from index.shard import Shard, ShardSettings

MAPPING = {"properties": {"body": {"type": "text"}, "tag": {"type": "keyword"}}}
WORDS = "ant bee cat dog eel fox".split()


@pytest.fixture()
def segment(tmp_path):
    shard = Shard.open(tmp_path, ShardSettings(refresh_interval_seconds=None), Mapping.from_json(MAPPING),
                       AnalysisRegistry.from_index_settings({}))
    documents = []
    for number in range(300):
        words = [WORDS[(number * 7 + step * step) % len(WORDS)] for step in range(1 + number % 9)]
        documents.append(IndexOperation(str(number), orjson.dumps({"body": " ".join(words), "tag": WORDS[number % 3]})))
    shard.apply_as_primary(documents, 1)
    shard.refresh()
    shard.apply_as_primary([DeleteOperation("4"), DeleteOperation("17")], 1)
    shard.refresh()
    searcher = shard.acquire_searcher()
    yield max(searcher.segments, key=lambda view: view.max_doc)
    shard.close()


@pytest.mark.parametrize("field, term", [("body", "ant"), ("body", "fox"), ("tag", "bee"), ("body", "absent")])
def test_decoded_postings_and_document_frequency_match_the_postings_bitmap(segment, field, term):
    bitmap = segment.postings(field, term)
    assert segment.postings_docs(field, term).tolist() == list(bitmap)
    assert segment.postings_docs(field, term).dtype == np.int64
    assert segment.document_frequency(field, term) == len(bitmap)


@pytest.mark.parametrize("field, term", [("body", "ant"), ("body", "cat"), ("tag", "cat")])
def test_positions_of_chosen_entries_are_those_entries_slices_of_the_full_positions(segment, field, term):
    offsets, flat = segment.positions(field, term)
    entries = np.arange(0, len(segment.postings_docs(field, term)), 3)
    counts, chosen = segment.positions_at(field, term, entries)
    expected = [flat[offsets[entry]:offsets[entry + 1]].tolist() for entry in entries]
    assert counts.tolist() == [len(positions) for positions in expected]
    assert chosen.tolist() == [position for positions in expected for position in positions]


def test_the_live_mask_marks_exactly_the_live_docs(segment):
    mask = segment.live_mask()
    assert mask is not None
    assert np.flatnonzero(mask).tolist() == list(segment.live_docs())


def test_block_maxima_are_the_highest_entry_score_of_each_block_and_are_kept_per_key(segment, monkeypatch):
    import index.segment.reader as reader

    monkeypatch.setattr(reader, "IMPACT_BLOCK_SIZE", 8)
    calls = []

    def score_entries(frequencies, lengths):
        calls.append(1)
        return frequencies.astype(np.float64) / (frequencies + lengths.astype(np.float64))

    block_size, maxima = segment.term_block_maxima("body", "ant", "key-a", score_entries)
    docs = segment.postings_docs("body", "ant")
    scores = score_entries(segment.term_frequencies("body", "ant"), segment.field_lengths("body")[docs])
    assert block_size == 8
    assert maxima.tolist() == [scores[start:start + 8].max() for start in range(0, len(scores), 8)]
    calls.clear()
    segment.term_block_maxima("body", "ant", "key-a", score_entries)
    assert calls == []
    segment.term_block_maxima("body", "ant", "key-b", score_entries)
    assert calls == [1]
