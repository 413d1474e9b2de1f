"""bench/engine_queries.py: builds a shard directory once, reopens it, times the mix per query, and
its --compare check passes for the same code and fails when a saved answer differs."""

from __future__ import annotations

import sys
from pathlib import Path

import orjson
import pytest

@pytest.fixture
def engine_queries(load_bench_script, monkeypatch):
    # the script puts bench/ on sys.path and imports bench/engine.py as "engine": both undone after
    monkeypatch.setattr(sys, "path", list(sys.path))
    load_bench_script("engine.py", "engine")
    return load_bench_script("engine_queries.py", "quidditch_bench_engine_queries")


def _data_directory(tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    words = ["alpha", "beta", "gamma", "delta"]
    lines = [orjson.dumps({"id": number, "src": "test", "title": f"t{number}",
                           "body": " ".join(words[(number + shift) % 4] for shift in range(1 + number % 4)),
                           "n_words": 1 + number % 4, "n_chars": 10}) for number in range(40)]
    (data / "english.ndjson").write_bytes(b"\n".join(lines) + b"\n")
    (data / "queries.json").write_bytes(orjson.dumps([
        {"type": "term", "terms": ["alpha"]}, {"type": "or", "terms": ["beta", "gamma"]},
        {"type": "and", "terms": ["alpha", "beta"]}, {"type": "phrase", "terms": ["alpha", "beta"]},
        {"type": "range_term", "terms": ["delta"], "lo": 2, "hi": 3}]))
    return data


def test_a_saved_run_compares_equal_with_a_second_run_on_the_reopened_shard(tmp_path, engine_queries, capsys):
    data = _data_directory(tmp_path)
    common = ["--data", str(data), "--n", "40", "--index-dir", str(tmp_path / "shard"), "--reps", "2"]
    assert engine_queries.main(common + ["--save", str(tmp_path / "first.json")]) == 0
    assert "built" in capsys.readouterr().out
    assert engine_queries.main(common + ["--compare", str(tmp_path / "first.json")]) == 0
    output = capsys.readouterr().out
    assert "built" not in output           # reopened, not rebuilt
    assert "0 queries with other hits/scores/order" in output
    saved = orjson.loads((tmp_path / "first.json").read_bytes())
    assert len(saved) == 5 and saved[0]["hits"]


def test_the_compare_check_fails_when_a_saved_hit_differs(tmp_path, engine_queries):
    data = _data_directory(tmp_path)
    common = ["--data", str(data), "--n", "40", "--index-dir", str(tmp_path / "shard"), "--reps", "1"]
    assert engine_queries.main(common + ["--save", str(tmp_path / "saved.json")]) == 0
    saved = orjson.loads((tmp_path / "saved.json").read_bytes())
    saved[0]["hits"][0][1] += 1.0
    (tmp_path / "saved.json").write_bytes(orjson.dumps(saved))
    assert engine_queries.main(common + ["--compare", str(tmp_path / "saved.json")]) == 1
