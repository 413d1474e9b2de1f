"""The committed format-version-1 shard (tests/fixtures/format_v1) still opens and reads."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import orjson
import pytest

from index.errors import CorruptedIndexError
from index.format import (
    ALL_FILE_KINDS, FORMAT_VERSION, OLDEST_READABLE_FORMAT_VERSION, SEGMENT, decode_checked_file, encode_checked_file,
)
from index.shard import Shard, ShardSettings

FIXTURE = Path(__file__).resolve().parents[3] / "fixtures" / "format_v1"


def load_fixture_module():
    spec = importlib.util.spec_from_file_location("format_v1_fixture", FIXTURE / "make_fixture.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_version_1_fixture_opens_replays_and_serves_every_document(tmp_path):
    fixture = load_fixture_module()
    copy = tmp_path / "shard"
    shutil.copytree(FIXTURE / "shard", copy)
    shard = Shard.open(copy, ShardSettings(), fixture.FlatKeywordMapping(), None)
    try:
        assert (shard.local_checkpoint, shard.max_seq_no) == (6, 6)
        for document_id, expected in fixture.EXPECTED_DOCUMENTS.items():
            stored = shard.get(document_id)
            assert orjson.loads(stored.source) == expected, document_id
        assert shard.get("b") is None
        assert shard.get("c").version == 2
        searcher = shard.acquire_searcher()
        live = {segment.document_id(doc) for segment in searcher.segments for doc in segment.live_docs()}
        assert live == {"a", "c", "d"}                    # "e" is replayed but not yet refreshed
        first = searcher.segments[0]
        assert list(first.keyword_doc_values("tags").terms) == ["x", "y"]
        assert first.numeric_doc_values("count").values.tolist() == [1, 2, 3]
        shard.refresh()
        live = {segment.document_id(doc) for segment in shard.acquire_searcher().segments
                for doc in segment.live_docs()}
        assert live == {"a", "c", "d", "e"}
    finally:
        shard.close()


def test_every_file_kind_has_distinct_magic_and_version_1_is_readable():
    assert OLDEST_READABLE_FORMAT_VERSION <= 1 <= FORMAT_VERSION
    assert len({kind.magic for kind in ALL_FILE_KINDS}) == len(ALL_FILE_KINDS)


def test_a_file_from_a_newer_format_version_is_refused_with_the_versions_named(tmp_path):
    data = encode_checked_file(SEGMENT, b"body", version=FORMAT_VERSION + 1)
    with pytest.raises(CorruptedIndexError, match=f"format version {FORMAT_VERSION + 1}"):
        decode_checked_file(tmp_path / "x.seg", SEGMENT, data)
