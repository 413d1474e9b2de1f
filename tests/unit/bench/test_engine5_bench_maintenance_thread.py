"""bench/engine.py runs the shard's scheduled maintenance on its own thread, as node/workers does:
every document still lands, a failed maintenance run fails the bench instead of vanishing, and the
session-4 inline mode stays available (ADR 0310)."""

from __future__ import annotations

import orjson
import pytest


@pytest.fixture
def engine(load_bench_script):
    return load_bench_script("engine.py", "quidditch_bench_engine_maintenance")


def _lines(count: int) -> list[bytes]:
    return [orjson.dumps({"id": number, "src": "test", "title": f"title {number}",
                          "body": f"words and a unique{number} marker", "n_words": 5, "n_chars": 30}) + b"\n"
            for number in range(count)]


@pytest.mark.parametrize("background", [True, False], ids=["maintenance-thread", "inline"])
def test_both_maintenance_modes_index_every_document_and_flush_by_count_when_asked(tmp_path, engine, background):
    adapter = engine.QuidditchShard(tmp_path / "shard", batch_size=5, flush_every_operations=10,
                                    background_maintenance=background)
    try:
        assert adapter.index(_lines(60)) == 60
        assert adapter.shard.statistics().segment_count > 1     # maintenance flushed along the way
    finally:
        adapter.close()


def test_a_failed_maintenance_run_fails_the_indexing(tmp_path, engine, monkeypatch):
    def broken_maintenance(self):
        raise OSError("disk gone")

    monkeypatch.setattr(engine.Shard, "scheduled_maintenance", broken_maintenance)
    adapter = engine.QuidditchShard(tmp_path / "shard", batch_size=5)
    try:
        with pytest.raises(RuntimeError, match="scheduled maintenance failed") as raised:
            adapter.index(_lines(20))
        assert isinstance(raised.value.__cause__, OSError)
    finally:
        adapter.close()
