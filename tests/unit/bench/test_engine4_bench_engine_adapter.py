"""bench/engine.py's shard adapter: it indexes through the columnar write a node's _bulk uses and
falls back to the per-operation path for a batch the shard declines, counting every document."""

from __future__ import annotations

import orjson
import pytest


@pytest.fixture
def engine(load_bench_script):
    return load_bench_script("engine.py", "quidditch_bench_engine")


def _lines(count: int) -> list[bytes]:
    return [orjson.dumps({"id": number, "src": "test", "title": f"title {number}",
                          "body": f"common words and a unique{number} marker", "n_words": 5, "n_chars": 30}) + b"\n"
            for number in range(count)]


def test_every_line_becomes_a_searchable_document_whose_id_is_its_line_number(tmp_path, engine):
    adapter = engine.QuidditchShard(tmp_path / "shard", batch_size=7)
    try:
        assert adapter.index(_lines(30)) == 30
        adapter.open()
        hits = adapter.search(adapter.build({"type": "term", "terms": ["unique17"]}))
        assert [hit.document_id for hit in hits] == ["17"]
        assert len(adapter.search(adapter.build({"type": "term", "terms": ["common"]}))) == 10
    finally:
        adapter.close()


def test_a_batch_the_columnar_path_declines_is_indexed_by_the_per_operation_path(tmp_path, engine):
    lines = _lines(10)
    lines[3] = b"{not json\n"        # the columnar write declines the whole batch, nothing applied
    adapter = engine.QuidditchShard(tmp_path / "shard", batch_size=5)
    try:
        # the per-operation path indexes the other nine and reports the bad one as an item error
        assert adapter.index(lines) == 9
    finally:
        adapter.close()


def test_the_shard_flushes_by_operation_count_only_when_asked(tmp_path, engine):
    segment_counts = {}
    for flush_every in (None, 10):
        adapter = engine.QuidditchShard(tmp_path / f"shard-{flush_every}", batch_size=5,
                                        flush_every_operations=flush_every)
        try:
            assert adapter.index(_lines(40)) == 40
            segment_counts[flush_every] = adapter.shard.statistics().segment_count
        finally:
            adapter.close()
    # like the peers: one segment from the final refresh; node/'s bound: one per flush
    assert segment_counts[None] == 1
    assert segment_counts[10] > 1
