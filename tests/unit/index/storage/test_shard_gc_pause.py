"""Bulk work pauses CPython's cyclic garbage collector only while it runs: after a write, a
replica apply or a refresh the collector is as enabled (or disabled) as before, also when the
call fails, and a paused region nested in another restores nothing until the outer one ends."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from index.operations import IndexOperation
from index.shard import Shard, ShardSettings, _cyclic_gc_paused


class _Parsed:
    def __init__(self, values):
        self.values = values


class _FlatMapping:
    def field(self, path):
        return None

    def parse_document(self, source, document_id=None):
        return _Parsed({key: [value] for key, value in source.items()})


class _NoAnalysis:
    def get(self, name):
        raise AssertionError("no text fields in these tests")


@pytest.fixture
def restore_gc():
    was_enabled = gc.isenabled()
    yield
    if was_enabled:
        gc.enable()
    else:
        gc.disable()


def test_collector_is_enabled_again_after_writes_and_refresh(tmp_path: Path, restore_gc) -> None:
    gc.enable()
    shard = Shard.open(tmp_path, ShardSettings(refresh_interval_seconds=None), _FlatMapping(), _NoAnalysis())
    try:
        seen_during_parse = []

        class _Spying(_FlatMapping):
            def parse_document(self, source, document_id=None):
                seen_during_parse.append(gc.isenabled())
                return super().parse_document(source)

        shard.mapping = _Spying()
        shard.apply_as_primary([IndexOperation(document_id="a", source=b'{"n": 1}')], primary_term=1)
        assert seen_during_parse == [False]
        assert gc.isenabled()
        shard.refresh()
        assert gc.isenabled()
        assert shard.get("a") is not None
    finally:
        shard.close()


def test_collector_left_disabled_when_it_was_disabled_before(tmp_path: Path, restore_gc) -> None:
    gc.disable()
    shard = Shard.open(tmp_path, ShardSettings(refresh_interval_seconds=None), _FlatMapping(), _NoAnalysis())
    try:
        shard.apply_as_primary([IndexOperation(document_id="a", source=b'{"n": 1}')], primary_term=1)
        assert not gc.isenabled()
    finally:
        shard.close()


def test_nested_pauses_restore_only_when_the_outermost_ends_even_on_error(restore_gc) -> None:
    gc.enable()
    with pytest.raises(RuntimeError):
        with _cyclic_gc_paused():
            with _cyclic_gc_paused():
                assert not gc.isenabled()
            assert not gc.isenabled()
            raise RuntimeError("boom")
    assert gc.isenabled()
