"""index/segment/forked_build.py: a segment file written by a forked child is the in-process
build's file byte for byte; a child that fails or dies leaves no file and raises StorageError
naming it; a shard with forked builds on keeps every document through a failed build; a build
split between two processes (leading fields in a grandchild) is the one-process build's bytes."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

import pytest

from index import failpoints
from index.analysis import AnalysisRegistry
from index.errors import StorageError
from index.mapping import Mapping
from index.segment import allocation, builder, forked_build
from index.segment.builder import segment_file_name, write_segment_file
from index.segment.layout import SectionWriter
from index.segment.types import SegmentDocument
from index.shard import Shard, ShardSettings

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="forked builds need os.fork")

MAPPING_JSON = {"properties": {"title": {"type": "text"}, "body": {"type": "text"},
                               "tag": {"type": "keyword"}, "count": {"type": "integer"}}}


@pytest.fixture(autouse=True)
def forked_builds_off_afterwards():
    yield
    forked_build.use_forked_segment_builds(False)


def _documents(count: int) -> list[SegmentDocument]:
    documents = []
    for number in range(count):
        values = {"title": [f"title {number % 7}"], "body": [f"the quick brown fox number {number} jumps"],
                  "tag": [f"tag{number % 3}"], "count": [number]}
        documents.append(SegmentDocument(str(number), b'{"n": %d}' % number, values, number, 1, 1))
    return documents


def _write(directory: Path, name: str, documents: list[SegmentDocument]) -> int:
    return write_segment_file(directory, name, documents, Mapping.from_json(MAPPING_JSON),
                              AnalysisRegistry.from_index_settings({}), durable=False)


def test_a_forked_build_writes_the_same_bytes_as_an_in_process_build(tmp_path):
    documents = _documents(500)
    in_process_size = _write(tmp_path, "in_process", documents)
    forked_build.use_forked_segment_builds(True, minimum_documents=1)
    builds_before = forked_build.statistics().builds
    forked_size = _write(tmp_path, "forked", documents)
    assert forked_build.statistics().builds == builds_before + 1
    assert forked_size == in_process_size
    assert (tmp_path / segment_file_name("forked")).read_bytes() == \
        (tmp_path / segment_file_name("in_process")).read_bytes()


def test_batches_below_the_minimum_are_built_in_process(tmp_path):
    forked_build.use_forked_segment_builds(True, minimum_documents=1_000)
    builds_before = forked_build.statistics().builds
    _write(tmp_path, "small", _documents(10))
    assert forked_build.statistics().builds == builds_before
    assert forked_build.should_fork(1_000) and not forked_build.should_fork(999)


def test_a_failure_in_the_child_raises_storage_error_naming_the_file_and_leaves_no_file(tmp_path):
    forked_build.use_forked_segment_builds(True, minimum_documents=1)
    with failpoints.armed("segment.write"):    # inherited by the child at the fork
        with pytest.raises(StorageError) as raised:
            _write(tmp_path, "failing", _documents(20))
    assert "failing.seg" in str(raised.value) and "forked process" in str(raised.value)
    assert not (tmp_path / segment_file_name("failing")).exists()


def test_a_child_killed_half_way_leaves_no_file_and_raises_storage_error(tmp_path):
    path = tmp_path / "killed.seg"

    def write_half_then_die() -> int:
        path.write_bytes(b"half a segment")
        os.kill(os.getpid(), signal.SIGKILL)
        return 0

    with pytest.raises(StorageError) as raised:
        forked_build.run_in_forked_child(path, write_half_then_die)
    assert "killed.seg" in str(raised.value)
    assert not path.exists()


def test_the_children_cpu_is_counted(tmp_path):
    before = forked_build.statistics()
    forked_build.run_in_forked_child(tmp_path / "x.seg", lambda: sum(range(200_000)) * 0 + 7)
    after = forked_build.statistics()
    assert after.builds == before.builds + 1
    assert after.children_cpu_seconds >= before.children_cpu_seconds


def test_the_child_builds_even_when_another_thread_held_the_allocation_lock_at_the_fork(tmp_path):
    forked_build.use_forked_segment_builds(True, minimum_documents=1)
    holding, release = threading.Event(), threading.Event()

    def hold_the_lock() -> None:
        with allocation._lock:
            holding.set()
            release.wait()

    holder = threading.Thread(target=hold_the_lock)
    holder.start()
    holding.wait()
    try:
        # without the child's fresh lock, its build would wait forever for a lock no thread of it holds
        size = forked_build.run_in_forked_child(
            tmp_path / "x.seg", lambda: _write(tmp_path, "built_in_child", _documents(30)))
    finally:
        release.set()
        holder.join()
    assert size == (tmp_path / segment_file_name("built_in_child")).stat().st_size


def test_the_switch_refuses_a_minimum_below_one():
    with pytest.raises(ValueError, match="minimum_documents"):
        forked_build.use_forked_segment_builds(True, minimum_documents=0)


def _open_shard(path: Path) -> Shard:
    return Shard.open(path, ShardSettings(refresh_interval_seconds=None), Mapping.from_json(MAPPING_JSON),
                      AnalysisRegistry.from_index_settings({}))


def _index(shard: Shard, first: int, count: int) -> None:
    shard.apply_index_batch_as_primary([str(number) for number in range(first, first + count)],
                                       [b'{"title": "doc %d", "count": %d}' % (number, number)
                                        for number in range(first, first + count)], None, primary_term=1)


def test_a_shard_keeps_every_document_through_a_failed_forked_build_and_reopens(tmp_path):
    forked_build.use_forked_segment_builds(True, minimum_documents=1)
    shard = _open_shard(tmp_path)
    _index(shard, 0, 40)
    with failpoints.armed("segment.write"):
        with pytest.raises(StorageError):
            shard.refresh()
    _index(shard, 40, 10)
    shard.refresh()
    assert shard.statistics().doc_count == 50
    shard.flush()
    shard.close()
    reopened = _open_shard(tmp_path)
    assert reopened.statistics().doc_count == 50
    assert reopened.get("7", realtime=False) is not None
    assert sorted(entry.name for entry in tmp_path.iterdir() if entry.name.endswith(".seg")) == \
        sorted(segment_file_name(segment.name) for segment in reopened._commit.segments)
    reopened.close()


def _long_body_documents(count: int) -> list[SegmentDocument]:
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda".split()
    documents = []
    for number in range(count):
        body = " ".join(words[(number * 7 + index) % len(words)] + str(index % 13) for index in range(40))
        # a title half the body's length: two halves of comparable cost, so the split is taken
        values = {"body": [body], "tag": [f"tag{number % 3}"], "count": [number], "title": [body[: len(body) // 2]]}
        documents.append(SegmentDocument(str(number), b'{"n": %d}' % number, values, number, 1, 1))
    return documents


def test_a_build_split_across_two_processes_writes_the_same_bytes_as_one_process():
    documents = _long_body_documents(300)
    columns, _ = builder._gather_columns(documents)
    assert builder._leading_fields_for_a_child(sorted(columns), columns, documents) >= 1
    mapping, analysis = Mapping.from_json(MAPPING_JSON), AnalysisRegistry.from_index_settings({})
    assert builder.build_segment(documents, mapping, analysis, fork_leading_fields=True) == \
        builder.build_segment(documents, mapping, analysis)


def test_a_failure_in_the_split_half_fails_the_forked_build_with_storage_error(tmp_path, monkeypatch):
    original = builder._write_field

    def body_fails(writer, path, *arguments):
        if path == "body":
            raise ValueError("body cannot be inverted")
        return original(writer, path, *arguments)

    monkeypatch.setattr(builder, "_write_field", body_fails)     # inherited by the forked processes
    mapping, analysis = Mapping.from_json(MAPPING_JSON), AnalysisRegistry.from_index_settings({})
    # the leading field (body) is built by the forked half: its failure comes back from there
    with pytest.raises(forked_build.ForkedChildFailed, match="body cannot be inverted"):
        builder.build_segment(_long_body_documents(200), mapping, analysis, fork_leading_fields=True)
    forked_build.use_forked_segment_builds(True, minimum_documents=1, split=True)
    with pytest.raises(StorageError, match="body cannot be inverted"):
        _write(tmp_path, "split_failing", _long_body_documents(200))
    assert not (tmp_path / segment_file_name("split_failing")).exists()


def test_exported_sections_come_back_in_front_of_another_writers_with_shifted_offsets():
    first, second = SectionWriter(), SectionWriter()
    first.add_bytes("a", b"first section")
    second.add_bytes("b", b"second")
    imported, extra = SectionWriter.imported(first.export({"field": {"type": "text"}}))
    assert extra == {"field": {"type": "text"}}
    combined = imported.followed_by(second)
    sequential = SectionWriter()
    sequential.add_bytes("a", b"first section")
    sequential.add_bytes("b", b"second")
    assert combined.encode() == sequential.encode()
    with pytest.raises(ValueError, match="written twice"):
        imported.followed_by(imported)
    with pytest.raises(ValueError, match="directory says"):
        SectionWriter.imported(first.export(None)[:-1])


def test_a_forked_child_skips_giving_its_heap_back_while_the_parent_still_does(tmp_path):
    in_child = forked_build.run_in_forked_child(tmp_path / "x.seg",
                                                lambda: int(allocation._trim_when_the_last_regime_ends))
    assert in_child == 0
    assert allocation._trim_when_the_last_regime_ends is True
