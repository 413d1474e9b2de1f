"""The columnar indexing buffer (ADR 0360): a primary batch of same-shaped flat documents stays
columns (DocumentColumns) in the buffer; BufferedDocuments reads as the list of SegmentDocuments it
stands for; a segment built from columnar runs is byte-identical to one built from those
SegmentDocuments; realtime get, a failed build's put-back, updates and log replay behave as with
per-document buffers."""

from __future__ import annotations

import errno

import orjson
import pytest

from index import failpoints
from index.analysis import AnalysisRegistry
from index.mapping import Mapping
from index.operations import IndexOperation
from index.segment.builder import build_segment
from index.segment.types import BufferedDocuments, DocumentColumns, SegmentDocument
from index.shard import Shard, ShardSettings

MAPPING = {"properties": {"title": {"type": "text", "fields": {"raw": {"type": "keyword"}}},
                          "body": {"type": "text"}, "n": {"type": "integer"}, "tag": {"type": "keyword"}}}


def _mapping() -> Mapping:
    return Mapping.from_json(MAPPING)


def _analysis() -> AnalysisRegistry:
    return AnalysisRegistry.from_index_settings({})


def _columns(first: int, count: int, versions=None, routings=None) -> DocumentColumns:
    numbers = range(first, first + count)
    titles = [f"title {n} Ünïcode" if n % 7 == 0 else f"title {n}" for n in numbers]
    bodies = [f"the body of document {n} says {n % 5} things" for n in numbers]
    sources = [orjson.dumps({"title": t, "body": b, "n": n}) for t, b, n in zip(titles, bodies, numbers)]
    return DocumentColumns([f"id{n}" for n in numbers], sources,
                           {"title": titles, "title.raw": list(titles), "body": bodies, "n": list(numbers)},
                           first_seq_no=first, primary_term=2, versions=versions, routings=routings)


def test_a_columnar_run_reads_as_the_segment_documents_it_stands_for() -> None:
    columns = _columns(10, 3, versions=[1, 4, 1], routings=[None, "r", None])
    buffered = BufferedDocuments()
    buffered.append(SegmentDocument("x", b"{}", {"n": [1]}, 9, 2, 1))
    buffered.append_columns(columns)
    buffered.extend([SegmentDocument("y", b"{}", None, 13, 2, 2)])
    assert len(buffered) == 5
    second = buffered[2]
    assert second == SegmentDocument("id11", columns.sources[1], {"title": ["title 11"], "title.raw": ["title 11"],
                                     "body": ["the body of document 11 says 1 things"], "n": [11]}, 11, 2, 4, "r")
    assert [document.document_id for document in buffered] == ["x", "id10", "id11", "id12", "y"]
    assert buffered[-1].is_tombstone and buffered[1:3] == [buffered[1], buffered[2]]
    assert buffered.source_at(3) == columns.sources[2] and buffered.routing_at(2) == "r"
    assert buffered.source_at(0) == b"{}" and buffered.routing_at(4) is None
    with pytest.raises(IndexError):
        buffered[5]


def test_joining_two_buffers_copies_their_document_runs_so_neither_changes_the_other() -> None:
    first, second = BufferedDocuments(), BufferedDocuments()
    first.append(SegmentDocument("a", b"{}", {}, 0, 1, 1))
    second.append_columns(_columns(1, 2))
    second.append(SegmentDocument("b", b"{}", {}, 3, 1, 1))
    joined = first + second
    joined.append(SegmentDocument("c", b"{}", {}, 4, 1, 1))
    assert [d.document_id for d in joined] == ["a", "id1", "id2", "b", "c"]
    assert len(first) == 1 and len(second) == 3 and second[-1].document_id == "b"


@pytest.mark.parametrize("layout", ["one run", "three runs", "runs and documents", "with a tombstone",
                                    "a replica's run"])
def test_a_segment_built_from_columnar_runs_has_the_bytes_of_one_built_from_their_documents(layout) -> None:
    buffered = BufferedDocuments()
    if layout == "one run":
        buffered.append_columns(_columns(0, 300))
    elif layout == "a replica's run":    # seq_nos with gaps and two terms, listed per document
        run = _columns(0, 50)
        buffered.append_columns(DocumentColumns(run.document_ids, run.sources, run.values, 7, 2, [1] * 50, None,
                                                [7 + 2 * n for n in range(50)], [2] * 25 + [3] * 25))
    elif layout == "three runs":
        buffered.append_columns(_columns(0, 100))
        buffered.append_columns(_columns(100, 50, versions=[2] * 50))
        buffered.append_columns(_columns(150, 70, routings=["r"] * 70))
    else:
        buffered.append_columns(_columns(0, 100))
        buffered.append(SegmentDocument("other", b'{"tag":"t"}', {"tag": ["t"]}, 100, 2, 1, "r2"))
        if layout == "with a tombstone":
            buffered.append(SegmentDocument("gone", b"", None, 101, 2, 3))
        buffered.append_columns(_columns(102, 40))
    as_list = list(buffered)
    assert build_segment(buffered, _mapping(), _analysis()) == build_segment(as_list, _mapping(), _analysis())


def _plain_batch(first: int, count: int) -> tuple[list[str], list[bytes]]:
    numbers = range(first, first + count)
    return ([f"d{n}" for n in numbers],
            [orjson.dumps({"title": f"t{n}", "body": f"body {n}", "n": n}) for n in numbers])


def test_a_plain_primary_batch_is_buffered_as_one_columnar_run_and_read_back_in_realtime(tmp_path) -> None:
    shard = Shard.open(tmp_path, ShardSettings(refresh_interval_seconds=None), _mapping(), _analysis())
    ids, sources = _plain_batch(0, 20)
    shard.apply_index_batch_as_primary(ids, sources, None, primary_term=1)
    parts = shard._buffer.documents.parts
    assert len(parts) == 1 and isinstance(parts[0], DocumentColumns)
    assert parts[0].values["title.raw"] == [f"t{n}" for n in range(20)]
    assert shard.get("d7").source == sources[7] and shard.get("d7").seq_no == 7
    # an update of buffered ids: the new copies are a second run with their versions, the old superseded
    outcome = shard.apply_index_batch_as_primary(["d3", "d30"], _plain_batch(30, 2)[1], None, primary_term=1)
    assert outcome.results == ["updated", "created"] and outcome.versions == [2, 1]
    assert shard.get("d3").version == 2 and shard.get("d3").source == _plain_batch(30, 1)[1][0]
    shard.refresh()
    searcher = shard.acquire_searcher()
    assert searcher.get("d3") is not None and searcher.get("d30") is not None
    assert shard.statistics().doc_count == 21
    shard.close()


def test_a_replica_batch_of_flat_documents_is_buffered_as_columns_with_its_own_seq_nos_and_terms(tmp_path) -> None:
    from index.operations import ReplicatedOperation
    shard = Shard.open(tmp_path, ShardSettings(refresh_interval_seconds=None), _mapping(), _analysis())
    ids, sources = _plain_batch(0, 6)
    operations = [ReplicatedOperation("index", seq_no, 1 if seq_no < 6 else 2, 1, document_id, source)
                  for seq_no, document_id, source in zip([0, 2, 4, 6, 8, 10], ids, sources)]
    shard.apply_as_replica(operations, request_primary_term=2)
    parts = shard._buffer.documents.parts
    assert len(parts) == 1 and isinstance(parts[0], DocumentColumns)
    assert parts[0].seq_nos == [0, 2, 4, 6, 8, 10] and parts[0].primary_terms == [1, 1, 1, 2, 2, 2]
    assert shard.get("d3").seq_no == 6 and shard.get("d3").primary_term == 2 and shard.get("d3").source == sources[3]
    shard.refresh()
    found = shard.get("d4", realtime=False)
    assert (found.seq_no, found.primary_term, found.source) == (8, 2, sources[4])
    assert shard.local_checkpoint == 0 and shard.max_seq_no == 10
    shard.close()


def test_a_failed_build_puts_the_columnar_runs_back_and_a_reopen_replays_them(tmp_path) -> None:
    shard = Shard.open(tmp_path, ShardSettings(refresh_interval_seconds=None), _mapping(), _analysis())
    ids, sources = _plain_batch(0, 10)
    shard.apply_index_batch_as_primary(ids, sources, None, primary_term=1)
    with failpoints.armed("segment.write", errno.ENOSPC, times=1):
        with pytest.raises(Exception):
            shard.refresh()
    # written while the failed build was pending would land after it: the put-back keeps the order
    shard.apply_as_primary([IndexOperation("late", b'{"tag": "x"}')], primary_term=1)
    assert [document.document_id for document in shard._buffer.documents] == ids + ["late"]
    assert shard.get("d4").source == sources[4] and shard.get("late").source == b'{"tag": "x"}'
    shard.refresh()
    assert shard.statistics().doc_count == 11
    shard.close()
    reopened = Shard.open(tmp_path, ShardSettings(refresh_interval_seconds=None), _mapping(), _analysis())
    assert reopened.get("d9").source == sources[9] and reopened.get("late") is not None
    reopened.close()
