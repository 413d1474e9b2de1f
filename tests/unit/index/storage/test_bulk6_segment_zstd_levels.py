"""Segments from the indexing buffer are compressed at zstd level 1, merged segments at level 3 (ADR 0335)."""

from __future__ import annotations

import threading

import numpy as np
import orjson
import pytest
import zstandard
from pyroaring import BitMap

from index.format import SEGMENT, read_checked_file, write_checked_file
from index.segment import SegmentCore, SegmentDocument, SegmentView, live_docs_of, segment_file_name, write_segment_file
from index.segment.layout import (
    FRESH_SEGMENT_ZSTD_LEVEL, MERGED_SEGMENT_ZSTD_LEVEL, SectionReader, compressor, zstd_level,
)
from index.segment.merger import MergePart, merge_segments

# repetitive enough that levels 1 and 3 give different frames (checked below, so no test passes vacuously)
SAMPLE = b"".join(b"document-%06d has the words alpha beta gamma %d; " % (n, n * 7919 % 1000) for n in range(4000))


def frame_at(level: int, data: bytes) -> bytes:
    return zstandard.ZstdCompressor(level=level).compress(data)


def test_the_two_levels_give_different_frames_for_the_sample():
    assert frame_at(1, SAMPLE) != frame_at(3, SAMPLE)
    assert (FRESH_SEGMENT_ZSTD_LEVEL, MERGED_SEGMENT_ZSTD_LEVEL) == (1, 3)


def test_the_compressor_is_at_the_fresh_level_unless_inside_zstd_level():
    assert compressor().compress(SAMPLE) == frame_at(FRESH_SEGMENT_ZSTD_LEVEL, SAMPLE)
    with zstd_level(MERGED_SEGMENT_ZSTD_LEVEL):
        assert compressor().compress(SAMPLE) == frame_at(MERGED_SEGMENT_ZSTD_LEVEL, SAMPLE)
        with zstd_level(FRESH_SEGMENT_ZSTD_LEVEL):     # nests
            assert compressor().compress(SAMPLE) == frame_at(FRESH_SEGMENT_ZSTD_LEVEL, SAMPLE)
        assert compressor().compress(SAMPLE) == frame_at(MERGED_SEGMENT_ZSTD_LEVEL, SAMPLE)
    assert compressor().compress(SAMPLE) == frame_at(FRESH_SEGMENT_ZSTD_LEVEL, SAMPLE)


def test_zstd_level_is_restored_after_an_exception_and_belongs_to_its_thread():
    with pytest.raises(RuntimeError):
        with zstd_level(MERGED_SEGMENT_ZSTD_LEVEL):
            raise RuntimeError("boom")
    assert compressor().compress(SAMPLE) == frame_at(FRESH_SEGMENT_ZSTD_LEVEL, SAMPLE)
    seen = []
    with zstd_level(MERGED_SEGMENT_ZSTD_LEVEL):
        thread = threading.Thread(target=lambda: seen.append(compressor().compress(SAMPLE)))
        thread.start()
        thread.join()
    assert seen == [frame_at(FRESH_SEGMENT_ZSTD_LEVEL, SAMPLE)]


def documents_with_long_ids(stub_mapping, count: int, first: int = 0) -> list[SegmentDocument]:
    documents = []
    for number in range(first, first + count):
        source = {"title": f"word{number % 13} common text {number % 5}", "count": number}
        document_id = f"document-{number:06d}-of-a-fairly-repetitive-id-space-{number % 10}"
        documents.append(SegmentDocument(document_id, orjson.dumps(source),
                                         stub_mapping.parse_document(source).values, number, 1, 1))
    return documents


def stored_and_raw(directory, segment_name: str, section: str) -> tuple[bytes, bytes]:
    _, body = read_checked_file(directory / segment_file_name(segment_name), SEGMENT)
    reader = SectionReader(body)
    return bytes(reader.raw(section)), reader.bytes(section)


def test_a_fresh_segment_is_written_at_level_1_and_a_merge_at_level_3(tmp_path, stub_mapping, stub_analysis):
    write_segment_file(tmp_path, "a", documents_with_long_ids(stub_mapping, 600), stub_mapping, stub_analysis)
    write_segment_file(tmp_path, "b", documents_with_long_ids(stub_mapping, 600, 600), stub_mapping, stub_analysis)
    stored, raw = stored_and_raw(tmp_path, "a", "document_ids.blob")
    assert frame_at(1, raw) != frame_at(3, raw)
    assert stored == frame_at(FRESH_SEGMENT_ZSTD_LEVEL, raw)

    parts = [MergePart(SegmentCore(tmp_path, name), np.arange(600, dtype=np.int64)) for name in ("a", "b")]
    write_checked_file(tmp_path / segment_file_name("merged"), SEGMENT, merge_segments(parts))
    stored, raw = stored_and_raw(tmp_path, "merged", "document_ids.blob")
    assert frame_at(1, raw) != frame_at(3, raw)
    assert stored == frame_at(MERGED_SEGMENT_ZSTD_LEVEL, raw)
    # and the merged segment reads back as the documents it holds
    merged = SegmentCore(tmp_path, "merged")
    view = SegmentView(merged, live_docs_of(merged, BitMap()))
    assert view.max_doc == 1200
    assert [merged.document_id(doc) for doc in (0, 599, 600, 1199)] == [
        "document-000000-of-a-fairly-repetitive-id-space-0", "document-000599-of-a-fairly-repetitive-id-space-9",
        "document-000600-of-a-fairly-repetitive-id-space-0", "document-001199-of-a-fairly-repetitive-id-space-9"]
