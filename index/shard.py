"""The shard engine: one copy of one shard on local disk (contracts §4).

Owns: the write path (versioning, seq_no assignment on a primary, out-of-order application on
a replica, the write-ahead log), the in-memory indexing buffer and live version map (realtime
get, exact version checks before a refresh), refresh (buffer -> searchable segment), flush
(segments + live docs + commit point, then log trimming), merges, start-up recovery (commit
point + log replay from the local checkpoint + 1), rollback, history for peer recovery, reader
contexts (scroll / PIT) and statistics.

Thread-safety contract: one writer at a time — every mutating method and realtime ``get`` take
the shard's writer lock. ``acquire_searcher`` returns an immutable snapshot that any number of
threads may read concurrently while writes, refreshes and merges go on. The durability wait
(fsync of the log) happens outside the writer lock, so concurrent writers share fsyncs; so does
parsing the sources of index operations. A refresh builds its segment outside it too. A merge
holds the writer lock only to plan and to swap; its build runs beside writers (one merge at a time).
Flush and a completed merge also refresh (new writes become searchable), as a commit must contain
every operation at or below the local checkpoint.

Document history kept on disk: a delete is stored as a *tombstone* document (never live) that
records its seq_no/term/version, so a restarted copy still orders late replica operations and a
rollback can tell what an id looked like before. Merges drop deleted documents and tombstones
unless an operation above the global checkpoint may still need them (ADR 0010) or the tombstone is
younger than ``gc_deletes_seconds`` (60 s, OpenSearch's index.gc_deletes: until then a re-created
id continues the deleted one's version); a dropped tombstone means a re-created id starts again at
version 1, as after OpenSearch's gc_deletes.

Must never: change its own mapping (MappingUpdateRequired goes back to node/), import node/,
raft/, udf/ or any async library, or acknowledge a write before its log record is durable under
durability "request".
"""

from __future__ import annotations

import base64
import contextlib
import functools
import gc
import os
import shutil
import threading
import time
import uuid as uuid_module
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace as replaced
from itertools import repeat
from operator import attrgetter
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import orjson
from pyroaring import BitMap, FrozenBitMap

from index.commit import COMMIT_FILE_NAME, CommitPoint, CommittedSegment, read_commit_point, write_commit_point
from index.errors import (
    CorruptedLogError, DocumentMissingError, IndexEngineError, MapperParsingError, MappingUpdateRequired,
    MergeAbortedError, SearchContextMissingError, ShardClosedError, StaleOperationError, StorageError, VersionConflictError,
)
from index.format import SEGMENT, fsync_directory, fsync_file, write_checked_file
from index.merge import (
    DEFAULT_IDLE_MERGE_MAX_DOCS, MergeCandidate, choose_force_merge, choose_idle_merge, choose_merge,
)
from index.operations import (
    CommitSnapshot, DeleteOperation, IndexOperation, OperationResult, ReplicatedOperation, StoredDocument,
    UpdateOperation, build_operation_result, build_replicated_operation, frozen_dataclass_builder,
)
from index.searcher import Searcher
from index.segment import (
    SegmentCore, SegmentDocument, SegmentView, live_docs_of, read_live_docs_file, segment_file_name,
    write_live_docs_file, write_segment_file,
)
from index.segment.merger import MergePart, merge_segments
from index.segment.types import BufferedDocuments, DocumentColumns
from index.translog import Translog
from index.translog.records import encode_index_batch, encode_index_columns

UNASSIGNED_SEQ_NO = -2
NO_OPS_PERFORMED = -1
TRANSLOG_DIRECTORY = "translog"
SNAPSHOTS_DIRECTORY = "snapshots"
REPLAY_REFRESH_DOCUMENTS = 50_000
# the write path writes the buffer out itself only this far past the budget maintenance keeps: the
# timer's soft limit stays the normal case (batched, off the request), this is the backstop when no
# timer runs or writes outpace it (OpenSearch throttles indexing past 1.5x its buffer instead)
INDEXING_BUFFER_HARD_LIMIT_FACTOR = 4


_LOOK_IT_UP = object()


# ---- the cyclic garbage collector during bulk work (ADR 0130) ------------------------------
# Indexing allocates several container objects per document (parsed values, buffer entries,
# version map states) that stay alive until a refresh. CPython's cyclic GC counts those
# allocations and keeps re-walking everything alive: measured 37-45% of the CPU of applying
# 100k bench documents. Bulk regions pause it and restore it when the last one ends; while
# paused regions keep overlapping (concurrent writers), the young generation is still collected
# explicitly every _YOUNG_COLLECTION_ALLOCATIONS allocations, so cyclic garbage stays bounded.
_YOUNG_COLLECTION_ALLOCATIONS = 200_000
_gc_pause_lock = threading.Lock()
_gc_pause_depth = 0
_gc_enabled_before_pause = False


@contextlib.contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """No cyclic collection inside a synchronous stretch that allocates many acyclic objects (a
    batch's operations, parsed sources). Pauses nest across threads (depth-counted): the collector
    comes back when the last one ends. node/ uses this same pause for its bulk parsing."""
    global _gc_pause_depth, _gc_enabled_before_pause
    with _gc_pause_lock:
        if _gc_pause_depth == 0:
            _gc_enabled_before_pause = gc.isenabled()
            gc.disable()
        _gc_pause_depth += 1
    try:
        yield
    finally:
        with _gc_pause_lock:
            _gc_pause_depth -= 1
            if _gc_pause_depth == 0:
                if _gc_enabled_before_pause:
                    gc.enable()
            elif _gc_enabled_before_pause and gc.get_count()[0] > _YOUNG_COLLECTION_ALLOCATIONS:
                gc.collect(0)


_cyclic_gc_paused = cyclic_gc_paused   # the name index/'s own callers and tests use


class OperationsNotRetainedError(StorageError):
    """``operations_since`` cannot serve the range: the log no longer holds it (use file copy)."""

    opensearch_type = "illegal_state_exception"


GLOBAL_CHECKPOINT_PERSIST_SECONDS = 1.0   # how stale the global checkpoint on disk may be (ADR 0228)

@dataclass(frozen=True, slots=True)
class ShardSettings:
    refresh_interval_seconds: float | None = 1.0       # None = -1 (never automatically)
    translog_durability: str = "request"               # or "async"
    translog_sync_interval_seconds: float = 5.0
    translog_retention_operations: int = 10_000        # ops below the checkpoint kept for peer recovery
    merge_segments_per_tier: int = 10
    # a shard that took no operation for this long merges its smallest segments until at most
    # idle_merge_max_segments remain, never writing more than idle_merge_max_docs documents in one
    # merge (index/merge.py choose_idle_merge, ADR 0380 and its amendment): a query pays ~90 us per
    # segment, and a load leaves up to segments_per_tier - 1 small ones per tier; None: no idle merges
    idle_merge_after_seconds: float | None = 1.0
    idle_merge_max_segments: int = 1
    idle_merge_max_docs: int = DEFAULT_IDLE_MERGE_MAX_DOCS
    max_result_window: int = 10_000
    # scheduled maintenance flushes (commits the segments, trims what a restart must replay) when
    # any of these three says so (ADR 0290):
    # - the uncommitted log (its generations from the last commit's on) outgrew this many bytes:
    #   index.translog.flush_threshold_size, OpenSearch's name and default
    flush_threshold_bytes: int = 512 * 1024 * 1024
    # - this many operations were processed since the last commit (the local checkpoint moved that
    #   far): replay re-applies each one (~15 µs of CPU here against Lucene's few), so this bounds a
    #   restart's replay; None: no such bound. 30k, not 10k (ADR 0315): every such flush writes the
    #   buffer as a segment of its own, and 10k-document segments cost a merge level more
    flush_threshold_operations: int | None = 30_000
    # - with refresh on, a scheduled refresh that finds at least this many operations processed since
    #   the last commit commits them too: one segment for both, so flushing costs no extra build
    #   (ADR 0315); None: refreshes never flush
    flush_at_refresh_operations: int | None = 10_000
    # - the shard took no operation for this long and holds uncommitted ones (OpenSearch flushes
    #   inactive shards, indices.memory.shard_inactive_time); None: never for inactivity
    flush_after_inactive_seconds: float | None = 30.0
    indexing_buffer_bytes: int = 64 * 1024 * 1024    # maintenance writes (unpublished) a fuller buffer
    # the write path's own bound (F12): a write leaving the buffer at or past it writes the buffer out
    # (unpublished) before returning, so memory stays bounded when no maintenance timer runs; None:
    # INDEXING_BUFFER_HARD_LIMIT_FACTOR x indexing_buffer_bytes
    indexing_buffer_hard_limit_bytes: int | None = None
    # a write that leaves the log's current generation larger starts a new one, so a flush can trim
    # all but the generations holding retained operations (OpenSearch's generation_threshold_size)
    translog_generation_threshold_bytes: int = 64 * 1024 * 1024
    # index.gc_deletes: how long a delete's tombstone outlives merges, so that re-creating the id
    # continues its version (index → delete → index gives version 3, and an external version
    # below the delete's still conflicts) as in OpenSearch. Measured from the segment's writing (or
    # the shard's opening), never shorter than from the delete itself
    gc_deletes_seconds: float = 60.0


@dataclass(frozen=True, slots=True)
class ShardStatistics:
    doc_count: int                  # live documents visible to search (refreshed)
    deleted_docs: int
    buffered_operations: int        # documents written since the last refresh
    segment_count: int
    size_bytes: int                 # segment files
    refresh_total: int
    refresh_time_seconds: float
    flush_total: int
    flush_time_seconds: float
    merge_total: int
    merge_time_seconds: float
    merged_docs_total: int
    merge_current: int              # merges being built now (0 or 1: one at a time per shard)
    merge_current_docs: int         # documents those merges are writing
    translog_operations: int
    translog_size_bytes: int
    translog_uncommitted_operations: int
    local_checkpoint: int
    max_seq_no: int
    global_checkpoint: int
    max_primary_term: int
    open_reader_contexts: int


class _DocState(NamedTuple):
    """What one id looks like now: its latest operation and where its live copy is.

    A NamedTuple rather than a frozen dataclass: the version map holds one per buffered id and the
    bulk fast path makes them with ``tuple.__new__`` inside ``map`` (no per-document Python
    frame), ~10x cheaper than a frozen dataclass's ``__init__``."""

    seq_no: int
    primary_term: int
    version: int
    deleted: bool
    buffer: Any = None              # the _Buffer holding the copy (it may be mid-refresh)
    buffer_index: int | None = None
    segment: Any = None             # _LiveSegment holding the copy
    doc: int = -1


class _Buffer:
    """Documents written since the last refresh, and which of them were superseded since."""

    __slots__ = ("documents", "deleted", "size_bytes")

    def __init__(self) -> None:
        # runs of SegmentDocuments and of DocumentColumns (the columnar primary path, ADR 0360)
        self.documents = BufferedDocuments()
        self.deleted: set[int] = set()
        self.size_bytes = 0                      # _source bytes held: what bounds the buffer


class _LiveSegment:
    __slots__ = ("core", "deleted", "committed_live_docs_generation", "committed_deleted", "synced",
                 "view", "view_deleted", "retained_deleted", "tombstones_kept_until")

    def __init__(self, core: SegmentCore, deleted: BitMap, committed_generation: int, synced: bool,
                 tombstones_kept_until: float = 0.0) -> None:
        self.core = core
        # before this instant (the shard's clock) a merge keeps this segment's tombstones even
        # below the history boundary: index.gc_deletes after the deletes were written, so a
        # re-created id continues their version as OpenSearch's does for 60 s
        self.tombstones_kept_until = tombstones_kept_until
        self.deleted = deleted                       # non-live copies (tombstones here are rolled back)
        self.committed_live_docs_generation = committed_generation
        self.committed_deleted = BitMap(deleted) if committed_generation else BitMap()
        self.synced = synced
        self.view: SegmentView | None = None
        self.view_deleted: FrozenBitMap | None = None
        # deleted copies a merge kept on purpose (history above the checkpoint): not reclaimable now
        self.retained_deleted = FrozenBitMap()

    def current_view(self) -> SegmentView:
        if self.view is None or self.view_deleted != self.deleted:
            self.view = SegmentView(self.core, live_docs_of(self.core, self.deleted))
            self.view_deleted = FrozenBitMap(self.deleted)
        return self.view

    def live_count(self) -> int:
        return len(self.current_view().live_docs())


class _LocalCheckpointTracker:
    """Every seq_no <= checkpoint is processed; above it, the processed ones with their term."""

    def __init__(self, checkpoint: int, max_seq_no: int) -> None:
        self.checkpoint = checkpoint
        self.max_seq_no = max_seq_no
        self.processed_above: dict[int, int] = {}

    def term_of_processed(self, seq_no: int) -> int | None:
        return self.processed_above.get(seq_no)

    def is_processed(self, seq_no: int) -> bool:
        return seq_no <= self.checkpoint or seq_no in self.processed_above

    def mark_processed(self, seq_no: int, primary_term: int) -> None:
        if seq_no > self.max_seq_no:
            self.max_seq_no = seq_no
        if seq_no <= self.checkpoint:
            return
        self.processed_above[seq_no] = primary_term
        while self.checkpoint + 1 in self.processed_above:
            self.checkpoint += 1
            del self.processed_above[self.checkpoint]

    def mark_range_processed(self, first_seq_no: int, last_seq_no: int, primary_term: int) -> None:
        """``mark_processed`` for every seq_no in [first, last]; one step when it extends the
        checkpoint (a primary's batch on a copy without gaps)."""
        if first_seq_no == self.checkpoint + 1 and not self.processed_above and last_seq_no >= first_seq_no:
            self.checkpoint = last_seq_no
            if last_seq_no > self.max_seq_no:
                self.max_seq_no = last_seq_no
            return
        for seq_no in range(first_seq_no, last_seq_no + 1):
            self.mark_processed(seq_no, primary_term)

    def rollback_above(self, seq_no: int) -> None:
        self.processed_above = {s: t for s, t in self.processed_above.items() if s <= seq_no}
        self.checkpoint = min(self.checkpoint, seq_no)
        self.max_seq_no = max([self.checkpoint, *self.processed_above]) if self.max_seq_no > seq_no else self.max_seq_no

    def gaps(self) -> list[int]:
        return [s for s in range(self.checkpoint + 1, self.max_seq_no + 1) if s not in self.processed_above]


@dataclass(frozen=True, slots=True)
class _MergePlan:
    segments: list                   # the _LiveSegments being merged
    items: list                      # (segment, doc, stays deleted) the merged segment keeps
    deleted_at_start: dict           # id(segment) -> FrozenBitMap of its deletes when planned
    name: str


@dataclass(frozen=True, slots=True)
class _SwapPoint:
    """The shard at the instant a flush took its buffer (ADR 0315): what its commit holds."""

    local_checkpoint: int
    max_seq_no: int
    mapping_version: Any
    deleted_by_segment: dict[str, BitMap]     # segment name -> its non-live docs then (the built one's too)


@dataclass(slots=True)
class _Prepared:
    """One primary operation after validation, before it touches the shard."""

    result: OperationResult
    values: dict | None = None       # parsed fields of an index operation (None: delete / no write)
    previous: _DocState | None = None


_build_segment_document = frozen_dataclass_builder(SegmentDocument)
_REPLICATED_COLUMNS = attrgetter("kind", "seq_no", "primary_term", "version", "document_id", "source", "routing")
_PLAIN_INDEX_ATTRIBUTES = attrgetter("if_seq_no", "if_primary_term", "version", "version_type", "op_type")
_PLAIN_INDEX_SETTINGS = frozenset({(None, None, None, "internal", "index"), (None, None, None, "internal", "create")})
# _DocState._make without its Python frame: map() calls tuple.__new__ directly
_make_doc_state = functools.partial(tuple.__new__, _DocState)


@dataclass(frozen=True, slots=True)
class _PlainIndexBatch:
    """A batch of IndexOperations without version checks, as columns (the primary's fast path)."""

    document_ids: list          # None at auto_id_positions
    sources: list
    routings: list | None       # None: no operation has a routing
    op_types: list | None       # only when some operation is a create
    has_create: bool
    auto_id_positions: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class IndexBatchOutcome:
    """What the primary's columnar fast path did with a batch of plain index/create operations, as
    columns (``apply_index_batch_as_primary``): every operation succeeded; no per-document result
    object was made. ``results`` and ``versions`` are lists, one entry per document, in order."""

    document_ids: list[str]         # generated ones filled in
    sources: list[bytes]
    routings: list | None           # None: no document has a routing
    results: list[str]              # "created" | "updated"
    versions: list[int]
    first_seq_no: int               # the batch holds first_seq_no, first_seq_no + 1, ... in order
    primary_term: int

    @property
    def seq_nos(self) -> range:
        return range(self.first_seq_no, self.first_seq_no + len(self.document_ids))

    def operation_results(self) -> list[OperationResult]:
        """The same outcome as apply_as_primary's per-operation results (and replicated operations)."""
        count = len(self.document_ids)
        routings = self.routings if self.routings is not None else repeat(None, count)
        replicated = list(map(build_replicated_operation, repeat("index", count), self.seq_nos,
                              repeat(self.primary_term, count), self.versions, self.document_ids, self.sources,
                              repeat(None, count), routings))
        return list(map(build_operation_result, self.document_ids, self.results, self.seq_nos,
                        repeat(self.primary_term, count), self.versions, repeat(None, count), replicated,
                        self.sources))


def _plain_index_batch(operations: Sequence[Any]) -> _PlainIndexBatch | None:
    """The batch as columns when every operation is an IndexOperation with op_type index/create,
    internal versioning and no if_seq_no/if_primary_term/version; else None. C-level passes only."""
    if not operations or set(map(type, operations)) != {IndexOperation}:
        return None
    settings = set(map(_PLAIN_INDEX_ATTRIBUTES, operations))
    if not settings <= _PLAIN_INDEX_SETTINGS:
        return None
    has_create = len(settings) == 2 or next(iter(settings))[4] == "create"
    op_types = list(map(attrgetter("op_type"), operations)) if has_create else None
    document_ids = list(map(attrgetter("document_id"), operations))
    auto_id_positions: tuple[int, ...] = ()
    if None in document_ids:
        auto_id_positions = tuple(position for position, document_id in enumerate(document_ids) if document_id is None)
    routings = list(map(attrgetter("routing"), operations))
    if routings.count(None) == len(routings):
        routings = None
    return _PlainIndexBatch(document_ids, list(map(attrgetter("source"), operations)), routings, op_types,
                            has_create, auto_id_positions)


def _loaded_json_sources(sources: Sequence[Any]) -> list[Any] | None:
    """Every source's JSON, or None when at least one is not JSON (each then gets its own answer)."""
    try:
        return list(map(orjson.loads, sources))
    except orjson.JSONDecodeError:
        return None


def _auto_id() -> str:
    return base64.urlsafe_b64encode(uuid_module.uuid4().bytes).decode("ascii")[:20]


def _merge_objects(target: dict, update: dict) -> dict:
    """Partial update: ``update`` merged into ``target`` recursively (objects merge, else replace)."""
    merged = dict(target)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge_objects(merged[key], value)
        else:
            merged[key] = value
    return merged


def _merge_mapping_updates(into: dict, update: dict) -> None:
    """Union of dynamic mapping updates; the first document to bring a field decides its type,
    as if the batch had been indexed one document at a time."""
    for key, value in update.items():
        if key not in into:
            into[key] = value
        elif isinstance(value, dict) and isinstance(into[key], dict) and "type" not in into[key]:
            _merge_mapping_updates(into[key], value)
        elif isinstance(value, dict) and isinstance(into[key], dict) and key in ("properties", "fields"):
            _merge_mapping_updates(into[key], value)


def _conflict_failure(document_id: str, reason: str) -> VersionConflictError:
    return VersionConflictError(f"[{document_id}]: version conflict, {reason}", document_id=document_id)


def _failed_result(document_id: str | None, error: IndexEngineError) -> OperationResult:
    return OperationResult(document_id, "noop", UNASSIGNED_SEQ_NO, 0, -1, error=error)


class Shard:
    """One shard copy. See the module docstring for the thread-safety contract."""

    def __init__(self, path: Path, settings: ShardSettings, mapping: Any, analysis: Any, clock=time.monotonic) -> None:
        self.path = Path(path)
        self.settings = settings
        self.mapping = mapping
        self.analysis = analysis
        self._clock = clock
        self._lock = threading.RLock()
        # lock order: _merge_lock, then _refresh_lock, then _lock (never the other way round)
        self._merge_lock = threading.Lock()      # one merge at a time
        self._merge_in_progress_docs: int | None = None   # the documents of the merge being built
        self._closing = False                    # set by close() before it waits for the merge lock
        self._refresh_lock = threading.Lock()    # one refresh at a time; a commit waits for it
        self._closed = False
        self._failure: str | None = None
        self._segments: list[_LiveSegment] = []
        self._buffer = _Buffer()
        self._version_map: dict[str, _DocState] = {}
        self._reader_contexts: dict[str, tuple[Searcher, float]] = {}
        self._pinned_files: dict[str, int] = {}
        self._pending_deletions: set[str] = set()
        self._retention_floor: int | None = None
        self._lookup_hint: dict[str, list] | None = None     # see _batch_lookups
        self._last_buffer_write_error: str | None = None      # see _bound_indexing_buffer
        self._snapshot_checkpoints: list[int] = []   # open commit snapshots keep the log above these
        self.global_checkpoint = NO_OPS_PERFORMED
        self._max_primary_term = 0
        self._counters = {"refresh_total": 0, "refresh_time": 0.0, "flush_total": 0, "flush_time": 0.0,
                          "merge_total": 0, "merge_time": 0.0, "merged_docs": 0}
        self._last_refresh_time = clock()
        self._global_checkpoint_persisted_at = clock()
        # inactivity for the flush (ADR 0290): when (max_seq_no, local checkpoint) last changed,
        # as maintenance saw it — no hook on the write paths
        self._activity_marker: tuple[int, int] | None = None
        self._last_activity_time = clock()
        self._searcher: Searcher = Searcher((), mapping, analysis)

    # ---- opening and closing ---------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, settings: ShardSettings, mapping: Any, analysis: Any, clock=time.monotonic) -> Shard:
        """Create the shard if the directory is empty, else open its commit point and replay the log."""
        shard = cls(path, settings, mapping, analysis, clock)
        try:
            shard._open()
        except BaseException:
            translog = getattr(shard, "_translog", None)
            if translog is not None:
                translog.close()
            raise
        return shard

    def _open(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        commit = read_commit_point(self.path)
        self._translog = Translog(self.path / TRANSLOG_DIRECTORY, self.settings.translog_durability,
                                  self.settings.translog_sync_interval_seconds, self._clock)
        if commit is None:
            commit = CommitPoint(generation=0, segments=(), local_checkpoint=NO_OPS_PERFORMED,
                                 max_seq_no=NO_OPS_PERFORMED, translog_uuid=self._translog.uuid,
                                 translog_generation=self._translog.current_generation)
            write_commit_point(self.path, commit)
        elif commit.translog_uuid != self._translog.uuid:
            raise CorruptedLogError(
                f"translog [{self.path / TRANSLOG_DIRECTORY}] does not belong to commit point "
                f"[{self.path / COMMIT_FILE_NAME}]: expected uuid {commit.translog_uuid}, got {self._translog.uuid}",
                file=str(self.path / TRANSLOG_DIRECTORY))
        self._commit = commit
        self._next_segment_number = commit.next_segment_number
        self.mapping_version = commit.mapping_version
        self._max_primary_term = int(commit.user_data.get("max_primary_term", 0))
        self.global_checkpoint = commit.global_checkpoint
        for committed in commit.segments:
            core = SegmentCore(self.path, committed.name)
            deleted = (read_live_docs_file(self.path, committed.name, committed.live_docs_generation)
                       if committed.live_docs_generation else BitMap())
            # when each tombstone was written is not on disk: every one gets gc_deletes from now
            self._segments.append(_LiveSegment(core, deleted, committed.live_docs_generation, synced=True,
                                               tombstones_kept_until=self._clock() + self.settings.gc_deletes_seconds))
        self._remove_unreferenced_files()
        self._tracker = _LocalCheckpointTracker(commit.local_checkpoint, commit.max_seq_no)
        with _cyclic_gc_paused():
            # one logged record at a time: a record of plain index operations (the usual content)
            # takes the replica's batch fast path, anything else the per-operation one (ADR 0245)
            for operations in self._translog.read_operation_batches(above_seq_no=commit.local_checkpoint):
                parsed = self._parse_replicated_index_batch(operations)
                if parsed is None or self._apply_replicated_index_batch_locked(operations, parsed,
                                                                              replaying=True) is None:
                    for operation in operations:
                        self._apply_replicated_locked(operation, replaying=True)
                        if len(self._buffer.documents) >= REPLAY_REFRESH_DOCUMENTS:
                            self._refresh_locked()   # bound the memory a long log replays into
                if len(self._buffer.documents) >= REPLAY_REFRESH_DOCUMENTS:
                    self._refresh_locked()
        self._publish_searcher()

    def close(self) -> None:
        """Close the shard once no merge or refresh is half-way. Both write files outside the
        writer lock; one that finished after ``close`` returned could write into — or, abandoning
        a merge, delete from — a directory that a new Shard has opened meanwhile (its segment
        numbers restart at the last commit's, so the names collide): the new copy's committed
        segment would be overwritten or vanish (found by the hour soak, 2026-11-30)."""
        self._closing = True          # a force merge stops between rounds; no new merge starts
        with self._merge_lock, self._refresh_lock, self._lock:
            if self._closed:
                return
            self._closed = True
            self._reader_contexts.clear()
            self._translog.close()

    def _check_open(self) -> None:
        if self._closed:
            raise ShardClosedError(f"shard [{self.path}] is closed", path=str(self.path))
        if self._failure is not None:
            raise StorageError(f"shard [{self.path}] failed and must be reopened: {self._failure}",
                               file=str(self.path))

    # ---- properties ------------------------------------------------------------------------

    @property
    def local_checkpoint(self) -> int:
        return self._tracker.checkpoint

    @property
    def max_seq_no(self) -> int:
        return self._tracker.max_seq_no

    @property
    def max_primary_term(self) -> int:
        return self._max_primary_term

    def update_mapping(self, mapping: Any, mapping_version: int | None = None) -> None:
        """Install a mapping committed by the cluster; ``mapping_version`` is recorded in the next
        commit point (``shard.mapping_version`` after a restart tells node/ which one the data saw)."""
        with self._lock:
            self.mapping = mapping
            if mapping_version is not None:
                self.mapping_version = mapping_version
            self._searcher = Searcher(self._searcher.segments, mapping, self.analysis)

    def update_settings(self, settings: ShardSettings) -> None:
        with self._lock:
            self.settings = settings
            self._translog.durability = settings.translog_durability
            self._translog.sync_interval_seconds = settings.translog_sync_interval_seconds

    # ---- looking documents up --------------------------------------------------------------

    def _current_state(self, document_id: str) -> _DocState | None:
        """The latest operation on ``document_id``: version map first, then the segments (the
        live copy or a tombstone, whichever has the highest seq_no)."""
        state = self._version_map.get(document_id)
        if state is not None:
            return state
        best: _DocState | None = None
        segments = self._segments
        if self._lookup_hint is not None and document_id in self._lookup_hint:
            segments = self._lookup_hint[document_id]
        for segment in segments:
            core = segment.core
            for doc in core.docs_with_id(document_id):
                if doc in segment.deleted:
                    continue
                seq_no = int(core.seq_nos[doc])
                if best is None or seq_no > best.seq_no:
                    best = _DocState(seq_no, int(core.primary_terms[doc]), int(core.versions[doc]),
                                     deleted=doc in core.tombstones, segment=segment, doc=doc)
        return best

    @contextlib.contextmanager
    def _batch_lookups(self, document_ids: list[str]) -> Iterator[None]:
        """While held (under the writer lock): ``_current_state`` only searches the segments whose
        id hashes match, found for the whole batch with one vectorized search per segment — a new id
        then costs no per-segment Python work."""
        hint: dict[str, list[_LiveSegment]] = {document_id: [] for document_id in document_ids}
        if document_ids and self._segments:
            hashes = np.fromiter(map(hash, document_ids), dtype=np.int64, count=len(document_ids))
            for segment in self._segments:
                segment_hashes = segment.core.id_hashes()
                if not len(segment_hashes):
                    continue
                positions = np.minimum(np.searchsorted(segment_hashes, hashes), len(segment_hashes) - 1)
                for index in np.flatnonzero(segment_hashes[positions] == hashes).tolist():
                    hint[document_ids[index]].append(segment)
        self._lookup_hint = hint
        try:
            yield
        finally:
            self._lookup_hint = None

    def _source_of(self, state: _DocState) -> bytes:
        if state.buffer is not None:
            return state.buffer.documents.source_at(state.buffer_index)
        return state.segment.core.source(state.doc)

    def _routing_of(self, state: _DocState) -> str | None:
        if state.buffer is not None:
            return state.buffer.documents.routing_at(state.buffer_index)
        return state.segment.core.routing(state.doc)

    def get(self, document_id: str, realtime: bool = True) -> StoredDocument | None:
        """The document as of now (realtime: unrefreshed writes included) or as of the last refresh."""
        if not realtime:
            found = self.acquire_searcher().get(document_id)
            if found is None:
                return None
            segment, doc = found
            routing = segment.routing(doc) if hasattr(segment, "routing") else None
            return StoredDocument(document_id, segment.source(doc), int(segment.seq_nos[doc]),
                                  int(segment.primary_terms[doc]), int(segment.versions[doc]), routing)
        with self._lock:
            self._check_open()
            state = self._current_state(document_id)
            if state is None or state.deleted:
                return None
            return StoredDocument(document_id, self._source_of(state), state.seq_no, state.primary_term,
                                  state.version, self._routing_of(state))

    # ---- the primary write path ------------------------------------------------------------

    def apply_as_primary(self, operations: Sequence[Any], primary_term: int) -> list[OperationResult]:
        """Validate, assign seq_nos, log, apply. One log record and (durability "request") one shared
        fsync per call. MappingUpdateRequired (the union of updates) is raised before anything is
        applied; per-operation failures come back in ``OperationResult.error``.

        The indexing buffer is bounded here too (F12): when this call leaves it at or above
        ``indexing_buffer_bytes``, the buffer is written out as an unpublished segment before the
        call returns (after the durability wait; searchers see it at the next refresh)."""
        with _cyclic_gc_paused():
            results, location = self._apply_as_primary_in_memory(operations, primary_term)
        self._wait_for_durability(location)
        self._bound_indexing_buffer()
        return results

    def apply_index_batch_as_primary(self, document_ids: list[str | None], sources: list[bytes],
                                     op_types: list[str] | None, primary_term: int) -> IndexBatchOutcome | None:
        """``apply_as_primary`` for a batch of plain index/create operations given as columns (no
        routing, internal versioning, no if_seq_no/version checks; ``op_types`` None: all
        ``index``), answered as columns: no operation, result or replicated-operation object per
        document. The same guarantees — one log record, the durability wait before returning,
        MappingUpdateRequired before anything is applied. None when the batch needs the general
        path (a source that does not parse, an id twice, a create meeting a live document):
        NOTHING was applied then, and the caller runs apply_as_primary with the operations."""
        count = len(document_ids)
        if not count or len(sources) != count or (op_types is not None and len(op_types) != count):
            raise ValueError(f"index batch: expected as many sources and op_types as ids ({count}), got "
                             f"{len(sources)} sources and {'no' if op_types is None else len(op_types)} op_types")
        has_create = op_types is not None and "create" in op_types
        auto_id_positions: tuple[int, ...] = ()
        if None in document_ids:
            auto_id_positions = tuple(position for position, document_id in enumerate(document_ids)
                                      if document_id is None)
        batch = _PlainIndexBatch(document_ids, sources, None, op_types if has_create else None, has_create,
                                 auto_id_positions)
        with _cyclic_gc_paused():
            loaded = _loaded_json_sources(sources)
            # same-shaped flat documents parse straight into columns and stay columns in the buffer
            # (ADR 0360): no values dict, value lists or SegmentDocument per document
            parse_flat_columns = getattr(self.mapping, "parse_flat_columns", None)
            columns = parse_flat_columns(loaded) if loaded is not None and parse_flat_columns is not None else None
            parsed_sources = None if columns is not None else self._parse_index_sources(sources, document_ids, loaded)
            with self._lock:
                self._check_open()
                if primary_term < self._max_primary_term:
                    raise StaleOperationError(
                        f"primary term [{primary_term}] is older than the highest term seen [{self._max_primary_term}]",
                        primary_term=primary_term, current_term=self._max_primary_term)
                applied = self._apply_plain_index_batch_locked(batch, parsed_sources, primary_term, columns)
        if applied is None:
            return None
        outcome, location = applied
        self._wait_for_durability(location)
        self._bound_indexing_buffer()
        return outcome

    def _apply_as_primary_in_memory(self, operations: Sequence[Any], primary_term: int
                                    ) -> tuple[list[OperationResult], Any]:
        # index operations are parsed before the writer lock is taken (the slow part of a bulk):
        # parsing depends only on the mapping, and a mapping only grows, so a parse that succeeded
        # against the mapping of now is the parse against any later one
        fast_batch = _plain_index_batch(operations)
        columns = None
        if fast_batch is not None:
            # same-shaped flat documents: columns, kept as columns in the buffer (ADR 0360)
            parse_flat_columns = getattr(self.mapping, "parse_flat_columns", None)
            if parse_flat_columns is not None:
                loaded = _loaded_json_sources(fast_batch.sources)
                columns = parse_flat_columns(loaded) if loaded is not None else None
        parsed_sources = None if columns is not None else self._parse_index_operations(operations, fast_batch is not None)
        with self._lock:
            self._check_open()
            if primary_term < self._max_primary_term:
                raise StaleOperationError(
                    f"primary term [{primary_term}] is older than the highest term seen [{self._max_primary_term}]",
                    primary_term=primary_term, current_term=self._max_primary_term)
            if fast_batch is not None:
                applied = self._apply_plain_index_batch_locked(fast_batch, parsed_sources, primary_term, columns)
                if applied is not None:
                    outcome, location = applied
                    return outcome.operation_results(), location
            if parsed_sources is None:   # columns, but the batch needs the general path after all
                parsed_sources = self._parse_index_operations(operations, fast_batch is not None)
            with self._batch_lookups([op.document_id for op in operations if op.document_id is not None]):
                prepared = self._prepare_primary(operations, primary_term, parsed_sources)
            to_log = [item.result.replicated for item in prepared if item.result.replicated is not None]
            location = None
            if to_log:
                location = self._translog.append(to_log)
                self._max_primary_term = primary_term
                with self._fail_on_error("applying logged operations"):
                    for item in prepared:
                        if item.result.replicated is not None:
                            self._apply_to_memory(item.result.replicated, item.values, item.previous)
                    self._roll_translog_if_large()
        return [item.result for item in prepared], location

    def _parse_index_operations(self, operations: Sequence[Any], all_index: bool) -> dict[int, Any]:
        """Operation number -> parsed values or the per-operation error, for every IndexOperation;
        raises MappingUpdateRequired (the union) when any needs fields the mapping lacks. Flat
        documents go through ``Mapping.parse_flat_documents`` in one batch; the rest one by one."""
        if all_index:
            numbers = range(len(operations))
        else:
            numbers = [number for number, operation in enumerate(operations) if isinstance(operation, IndexOperation)]
        return dict(zip(numbers, self._parse_index_sources([operations[number].source for number in numbers],
                                                           [operations[number].document_id for number in numbers])))

    def _parse_index_sources(self, sources: list[Any], document_ids: Sequence[str | None],
                             loaded: list[Any] | None | object = _LOOK_IT_UP) -> list[Any]:
        """Each source's parsed values or its MapperParsingError/IndexEngineError (naming its document
        id), in order; raises MappingUpdateRequired (the union) when any needs fields the mapping lacks.
        ``loaded``: the sources' JSON already loaded (``_loaded_json_sources``: None when one is not JSON)."""
        mapping = self.mapping
        if loaded is _LOOK_IT_UP:
            loaded = _loaded_json_sources(sources)
        # a mapping without the batch form (test doubles of the mapping contract) parses one by one
        parse_flat_documents = getattr(mapping, "parse_flat_documents", None)
        if loaded is not None and parse_flat_documents is not None:
            flat_values = parse_flat_documents(loaded)
        else:
            flat_values = [None] * len(sources)
        parsed_sources = list(flat_values)
        early_updates: dict = {}
        for position in [position for position, values in enumerate(flat_values) if values is None]:
            try:
                if loaded is None:
                    parsed_sources[position] = self._parse(sources[position], early_updates, mapping,
                                                           document_ids[position])
                else:
                    parsed_sources[position] = self._parse_loaded(loaded[position], early_updates, mapping,
                                                                  document_ids[position])
            except (MapperParsingError, IndexEngineError) as error:
                if isinstance(error, MappingUpdateRequired):
                    raise
                parsed_sources[position] = error
        if early_updates:
            raise MappingUpdateRequired(early_updates)
        return parsed_sources

    def _apply_plain_index_batch_locked(self, batch: _PlainIndexBatch,
                                        parsed_sources: Sequence[Any] | dict[int, Any] | None,
                                        primary_term: int, columns: dict[str, list] | None = None
                                        ) -> tuple[IndexBatchOutcome, Any] | None:
        """The columnar fast path (F6), under the writer lock: a batch of index/create operations
        without version checks whose ids are distinct, whose sources all parsed, and where no create
        meets an existing document. One seq_no range, one encoded log record, one bulk version-map
        update; the outcome is exactly the general path's. None: not such a batch (nothing done).
        ``columns`` (then ``parsed_sources`` is None): every source parsed, as the mapping's
        ``parse_flat_columns`` gives them; the buffer keeps them as one DocumentColumns run."""
        count = len(batch.document_ids)
        values: list[Any] = []
        if columns is None:
            values = [parsed_sources[number] for number in range(count)]
            if any(isinstance(item, BaseException) for item in values):
                return None
        document_ids = batch.document_ids
        if batch.auto_id_positions:
            document_ids = list(document_ids)
            for position in batch.auto_id_positions:
                document_ids[position] = _auto_id()
        if len(set(document_ids)) != count:
            return None        # an id twice: later operations must see earlier ones (general path)
        states = self._current_states(document_ids, batch.auto_id_positions)
        existing = [position for position, state in enumerate(states) if state is not None]
        outcomes: list[str] | Any = repeat("created", count)
        versions: list[int] | Any = repeat(1, count)
        if existing:
            outcomes = ["created"] * count
            versions = [1] * count
            for position in existing:
                state = states[position]
                if not state.deleted:
                    if batch.has_create and batch.op_types[position] == "create":
                        return None      # a version conflict result: the general path words it
                    outcomes[position] = "updated"
                versions[position] = state.version + 1
            versions_for_log: Any = versions
        else:
            versions_for_log = [1] * count
        first_seq_no = self._tracker.max_seq_no + 1
        last_seq_no = first_seq_no + count - 1
        sources = batch.sources
        routings = batch.routings
        encoded = encode_index_batch(first_seq_no, primary_term, versions_for_log, document_ids, sources, routings)
        location = self._translog.append_encoded(encoded, count, first_seq_no, last_seq_no)
        self._max_primary_term = primary_term
        seq_nos = range(first_seq_no, last_seq_no + 1)
        routing_column = routings if routings is not None else repeat(None, count)
        with self._fail_on_error("applying logged operations"):
            for position in existing:
                self._supersede(states[position])
            buffer = self._buffer
            start = len(buffer.documents)
            if columns is not None:
                # copies of the id and source lists: the caller keeps its own (and the outcome's)
                buffer.documents.append_columns(DocumentColumns(
                    list(document_ids), list(sources), columns, first_seq_no, primary_term,
                    versions_for_log if existing else None, None if routings is None else list(routings)))
            else:
                buffer.documents.extend(map(_build_segment_document, document_ids, sources, values, seq_nos,
                                            repeat(primary_term, count), versions_for_log, routing_column))
            buffer.size_bytes += sum(map(len, sources)) + 64 * count
            self._version_map.update(zip(document_ids, map(_make_doc_state, zip(
                seq_nos, repeat(primary_term, count), versions_for_log, repeat(False, count), repeat(buffer, count),
                range(start, start + count), repeat(None, count), repeat(-1, count)))))
            self._tracker.mark_range_processed(first_seq_no, last_seq_no, primary_term)
            self._roll_translog_if_large()
        outcome = IndexBatchOutcome(document_ids, sources, routings,
                                    outcomes if isinstance(outcomes, list) else ["created"] * count,
                                    versions_for_log if isinstance(versions_for_log, list) else [1] * count,
                                    first_seq_no, primary_term)
        return outcome, location

    def _current_states(self, document_ids: list[str], fresh_positions: tuple[int, ...]) -> list[_DocState | None]:
        """``_current_state`` of every id (``fresh_positions``: auto-generated ids, known new): the
        version map in one pass, then only the ids whose hash a segment holds are looked up there."""
        states = list(map(self._version_map.get, document_ids))
        if not self._segments:
            return states
        unknown = [position for position, state in enumerate(states) if state is None]
        if fresh_positions:
            fresh = set(fresh_positions)
            unknown = [position for position in unknown if position not in fresh]
        if not unknown:
            return states
        hashes = np.fromiter((hash(document_ids[position]) for position in unknown), dtype=np.int64,
                             count=len(unknown))
        candidates: dict[int, list[_LiveSegment]] = {}
        for segment in self._segments:
            segment_hashes = segment.core.id_hashes()
            if not len(segment_hashes):
                continue
            found = np.minimum(np.searchsorted(segment_hashes, hashes), len(segment_hashes) - 1)
            for index in np.flatnonzero(segment_hashes[found] == hashes).tolist():
                candidates.setdefault(unknown[index], []).append(segment)
        if candidates:
            self._lookup_hint = {document_ids[position]: segments for position, segments in candidates.items()}
            try:
                for position in candidates:
                    states[position] = self._current_state(document_ids[position])
            finally:
                self._lookup_hint = None
        return states

    def _indexing_buffer_hard_limit(self) -> int:
        limit = self.settings.indexing_buffer_hard_limit_bytes
        return limit if limit is not None else INDEXING_BUFFER_HARD_LIMIT_FACTOR * self.settings.indexing_buffer_bytes

    def _bound_indexing_buffer(self) -> None:
        """F12: one comparison per write call; a buffer at or past the hard limit is written out as
        an unpublished segment now (what scheduled maintenance does at the soft limit), so memory
        stays bounded without node/'s timer. A failure here does not fail the (durable, applied)
        write: the buffer is kept and maintenance or the next write tries again."""
        if self._buffer.size_bytes < self._indexing_buffer_hard_limit():
            return
        try:
            self._write_buffer(publish=False, minimum_bytes=self._indexing_buffer_hard_limit())
        except (StorageError, OSError) as error:
            self._last_buffer_write_error = repr(error)

    def _prepare_primary(self, operations: Sequence[Any], primary_term: int,
                         parsed_sources: dict[int, Any]) -> list[_Prepared]:
        # an overlay of this batch's own effects, so later operations see earlier ones (the
        # logged operation itself: a state is only made for an id the batch touches again)
        overlay: dict[str, ReplicatedOperation] = {}
        overlay_sources: dict[str, bytes] = {}
        next_seq_no = self._tracker.max_seq_no + 1
        prepared: list[_Prepared] = []
        mapping_updates: dict = {}

        def current(document_id: str) -> _DocState | None:
            earlier = overlay.get(document_id)
            if earlier is not None:
                return _DocState(earlier.seq_no, earlier.primary_term, earlier.version,
                                 deleted=earlier.kind == "delete")
            return self._current_state(document_id)

        def current_source(document_id: str, state: _DocState) -> bytes:
            if document_id in overlay_sources:
                return overlay_sources[document_id]
            return self._source_of(state)

        for number, operation in enumerate(operations):
            try:
                if isinstance(operation, IndexOperation):
                    item = self._prepare_index(operation, current, primary_term, next_seq_no, mapping_updates,
                                               parsed_sources.get(number, _LOOK_IT_UP))
                elif isinstance(operation, DeleteOperation):
                    item = self._prepare_delete(operation, current, primary_term, next_seq_no)
                elif isinstance(operation, UpdateOperation):
                    item = self._prepare_update(operation, current, current_source, primary_term, next_seq_no,
                                                mapping_updates)
                else:
                    raise TypeError(f"apply_as_primary expects Index/Delete/UpdateOperation, got {type(operation).__name__}")
            except (VersionConflictError, DocumentMissingError, MapperParsingError, IndexEngineError) as error:
                if isinstance(error, (MappingUpdateRequired, StorageError)):
                    raise
                prepared.append(_Prepared(_failed_result(getattr(operation, "document_id", None), error)))
                continue
            prepared.append(item)
            replicated = item.result.replicated
            if replicated is not None:
                next_seq_no += 1
                overlay[replicated.document_id] = replicated
                if replicated.kind == "index":
                    overlay_sources[replicated.document_id] = replicated.source
        if mapping_updates:
            raise MappingUpdateRequired(mapping_updates)
        return prepared

    def _parse(self, source: bytes, mapping_updates: dict, mapping: Any = None,
               document_id: str | None = None) -> dict | None:
        try:
            parsed_json = orjson.loads(source)
        except orjson.JSONDecodeError as error:
            raise MapperParsingError(f"failed to parse: the source is not valid JSON: {error}") from None
        return self._parse_loaded(parsed_json, mapping_updates, mapping, document_id)

    def _parse_loaded(self, parsed_json: Any, mapping_updates: dict, mapping: Any = None,
                      document_id: str | None = None) -> dict | None:
        if not isinstance(parsed_json, dict):
            raise MapperParsingError(
                f"failed to parse: the source must be a JSON object, got {type(parsed_json).__name__}")
        try:
            return (mapping or self.mapping).parse_document(parsed_json, document_id).values
        except MappingUpdateRequired as required:
            _merge_mapping_updates(mapping_updates, required.update)
            return None

    @staticmethod
    def _check_if_seq_no(document_id: str, state: _DocState | None, if_seq_no: int | None,
                         if_primary_term: int | None) -> None:
        if if_seq_no is None and if_primary_term is None:
            return
        if state is None or state.deleted:
            raise _conflict_failure(document_id, f"required seqNo [{if_seq_no}], primary term [{if_primary_term}]. "
                                                 f"but no document was found")
        if state.seq_no != if_seq_no or state.primary_term != if_primary_term:
            raise _conflict_failure(
                document_id,
                f"required seqNo [{if_seq_no}], primary term [{if_primary_term}]. current document has seqNo "
                f"[{state.seq_no}] and primary term [{state.primary_term}]")

    @staticmethod
    def _next_version(document_id: str, state: _DocState | None, version: int | None, version_type: str) -> int:
        if version_type == "internal":
            if state is None:
                return 1
            return state.version + 1
        if version is None:
            raise _conflict_failure(document_id, f"version_type [{version_type}] requires a version")
        if version_type == "external":
            if state is not None and state.version >= version:
                raise _conflict_failure(document_id, f"current version [{state.version}] is higher or equal to "
                                                     f"the one provided [{version}]")
            return version
        if version_type == "external_gte":
            if state is not None and state.version > version:
                raise _conflict_failure(document_id, f"current version [{state.version}] is higher than the one "
                                                     f"provided [{version}]")
            return version
        raise MapperParsingError(f"version_type must be internal, external or external_gte, got [{version_type}]")

    def _prepare_index(self, operation: IndexOperation, current, primary_term: int, seq_no: int,
                       mapping_updates: dict, parsed: Any = _LOOK_IT_UP) -> _Prepared:
        if parsed is _LOOK_IT_UP:
            values = self._parse(operation.source, mapping_updates, None, operation.document_id)
        elif isinstance(parsed, BaseException):
            raise parsed
        else:
            values = parsed
        if operation.document_id is None:
            # a fresh random id cannot exist yet: skip the lookup (OpenSearch's append-only path)
            document_id, state = _auto_id(), None
        else:
            document_id = operation.document_id
            state = current(document_id)
        exists = state is not None and not state.deleted
        if operation.op_type == "create" and exists:
            raise _conflict_failure(document_id, f"document already exists (current version [{state.version}])")
        if operation.op_type not in ("index", "create"):
            raise MapperParsingError(f"op_type must be index or create, got [{operation.op_type}]")
        self._check_if_seq_no(document_id, state, operation.if_seq_no, operation.if_primary_term)
        version = self._next_version(document_id, state, operation.version, operation.version_type)
        replicated = ReplicatedOperation("index", seq_no, primary_term, version, document_id, operation.source,
                                         routing=operation.routing)
        result = OperationResult(document_id, "updated" if exists else "created", seq_no, primary_term, version,
                                 replicated=replicated, source=operation.source)
        return _Prepared(result, values, state)

    def _prepare_delete(self, operation: DeleteOperation, current, primary_term: int, seq_no: int) -> _Prepared:
        document_id = operation.document_id
        state = current(document_id)
        exists = state is not None and not state.deleted
        self._check_if_seq_no(document_id, state, operation.if_seq_no, operation.if_primary_term)
        version = self._next_version(document_id, state, operation.version, operation.version_type)
        replicated = ReplicatedOperation("delete", seq_no, primary_term, version, document_id)
        result = OperationResult(document_id, "deleted" if exists else "not_found", seq_no, primary_term, version,
                                 replicated=replicated)
        return _Prepared(result, None, state)

    def _prepare_update(self, operation: UpdateOperation, current, current_source, primary_term: int,
                        seq_no: int, mapping_updates: dict) -> _Prepared:
        document_id = operation.document_id
        state = current(document_id)
        exists = state is not None and not state.deleted
        if not exists:
            if operation.if_seq_no is not None or operation.if_primary_term is not None:
                self._check_if_seq_no(document_id, state, operation.if_seq_no, operation.if_primary_term)
            if operation.upsert is not None:
                new_source = orjson.dumps(operation.upsert)
            elif operation.doc_as_upsert and operation.doc is not None:
                new_source = orjson.dumps(operation.doc)
            else:
                raise DocumentMissingError(f"[{document_id}]: document missing", document_id=document_id)
            return self._prepare_index(IndexOperation(document_id, new_source, routing=operation.routing), current,
                                       primary_term, seq_no, mapping_updates)
        self._check_if_seq_no(document_id, state, operation.if_seq_no, operation.if_primary_term)
        old_source = current_source(document_id, state)
        old_json = orjson.loads(old_source)
        merged = _merge_objects(old_json, operation.doc or {})
        if operation.doc is None or (operation.detect_noop and merged == old_json):
            return _Prepared(OperationResult(document_id, "noop", state.seq_no, state.primary_term, state.version,
                                             source=old_source))
        new_source = orjson.dumps(merged)
        values = self._parse(new_source, mapping_updates, None, document_id)
        version = state.version + 1
        replicated = ReplicatedOperation("index", seq_no, primary_term, version, document_id, new_source,
                                         routing=operation.routing)
        return _Prepared(OperationResult(document_id, "updated", seq_no, primary_term, version,
                                         replicated=replicated, source=new_source), values, state)

    def _roll_translog_if_large(self) -> None:
        """Under the writer lock, after an append was applied (inside _fail_on_error: a failed roll
        fails the shard). The roll fsyncs the sealed generation, so the append's location is
        durable before any durability wait looks at it."""
        if self._translog.current_generation_bytes > self.settings.translog_generation_threshold_bytes:
            self._translog.roll_generation()

    @contextlib.contextmanager
    def _fail_on_error(self, what: str) -> Iterator[None]:
        """Operations already in the log must reach memory too; if that breaks half-way, memory and
        log disagree, so the shard fails (reopening replays the log) rather than serve the mix."""
        try:
            yield
        except BaseException as error:
            self._failure = f"{what} failed: {error!r}"
            raise

    def _wait_for_durability(self, location) -> None:
        try:
            if location is not None and self._translog.durability == "request":
                self._translog.ensure_synced(location)
            elif self._translog.durability == "async":
                self._translog.sync_if_due()
        except StorageError as error:
            with self._lock:
                self._failure = error.reason
            raise

    # ---- applying to memory ----------------------------------------------------------------

    def _supersede(self, state: _DocState | None) -> None:
        """Mark the physical live copy behind ``state`` as deleted (it is no longer current)."""
        if state is None:
            return
        if state.buffer is not None:
            if not state.deleted:
                state.buffer.deleted.add(state.buffer_index)
        elif state.segment is not None and not state.deleted:
            state.segment.deleted.add(state.doc)

    def _apply_to_memory(self, operation: ReplicatedOperation, values: dict | None,
                         previous: _DocState | None | object = _LOOK_IT_UP) -> None:
        """``previous`` is the id's state when the operation was validated; an id touched since then
        (earlier in the same batch) is in the version map, which wins."""
        if operation.kind == "noop":
            self._tracker.mark_processed(operation.seq_no, operation.primary_term)
            return
        document_id = operation.document_id
        if previous is _LOOK_IT_UP:
            previous = self._current_state(document_id)
        else:
            previous = self._version_map.get(document_id, previous)
        self._supersede(previous)
        buffer = self._buffer
        buffer_index = len(buffer.documents)
        buffer.size_bytes += len(operation.source or b"") + 64
        if operation.kind == "index":
            buffer.documents.append(SegmentDocument(document_id, operation.source, values or {}, operation.seq_no,
                                                    operation.primary_term, operation.version, operation.routing))
            self._version_map[document_id] = _DocState(operation.seq_no, operation.primary_term, operation.version,
                                                       deleted=False, buffer=buffer, buffer_index=buffer_index)
        else:
            buffer.documents.append(SegmentDocument(document_id, b"", None, operation.seq_no, operation.primary_term,
                                                operation.version))
            self._version_map[document_id] = _DocState(operation.seq_no, operation.primary_term, operation.version,
                                                       deleted=True, buffer=buffer, buffer_index=buffer_index)
        self._tracker.mark_processed(operation.seq_no, operation.primary_term)

    # ---- the replica write path ------------------------------------------------------------

    def apply_as_replica(self, operations: Sequence[ReplicatedOperation],
                         request_primary_term: int | None = None) -> list[OperationResult]:
        """Apply operations as the primary decided them, in any order. Per seq_no the highest term
        wins, a repeated (seq_no, term) is a no-op; per document the operation with the highest
        (seq_no, term) is the one kept.

        ``request_primary_term`` is the term of the primary SENDING this batch (live replication,
        recovery history, resync) and is what fences it: StaleOperationError if it is older than
        the highest term this copy has seen. The operations' own terms are never a fence — a
        recovery history legitimately holds operations written under older terms, and live writes
        under the new term may have arrived first (ADR 0190). The fence is the larger of it and the
        newest operation's term; when it is None (callers that do not know the sender's term) the
        newest operation's term alone fences the batch."""
        with _cyclic_gc_paused():
            results, location = self._apply_as_replica_in_memory(operations, request_primary_term)
        self._wait_for_durability(location)
        self._bound_indexing_buffer()
        return results

    def _apply_as_replica_in_memory(self, operations: Sequence[ReplicatedOperation],
                                    request_primary_term: int | None = None
                                    ) -> tuple[list[OperationResult], Any]:
        # a batch of plain index operations is parsed before the writer lock (as on the primary: a
        # mapping only grows, so a parse that succeeded now holds later) and may take the fast path
        parsed_batch = self._parse_replicated_index_batch(operations)
        with self._lock:
            self._check_open()
            if parsed_batch is not None:
                fence_term = self._fence_replica_batch(operations, request_primary_term)
                applied = self._apply_replicated_index_batch_locked(operations, parsed_batch, fence_term=fence_term)
                if applied is not None:
                    return applied
            # an operation stamped with a newer term than the request's proves its sender is at least
            # that new (a caller's cluster state can lag the primary's), so the fence is the larger
            known_terms = [op.primary_term for op in operations]
            if request_primary_term is not None:
                known_terms.append(int(request_primary_term))
            fence_term = max(known_terms, default=None)
            if fence_term is not None and fence_term < self._max_primary_term:
                raise StaleOperationError(
                    f"replication request has primary term [{fence_term}], older than the highest term seen "
                    f"[{self._max_primary_term}]",
                    primary_term=fence_term, current_term=self._max_primary_term)
            mapping_updates: dict = {}
            parsed: list[dict | None] = []
            for operation in operations:
                if operation.kind == "index" and not self._already_applied(operation):
                    parsed.append(self._parse(operation.source or b"{}", mapping_updates))
                else:
                    parsed.append(None)
            if mapping_updates:
                raise MappingUpdateRequired(mapping_updates)
            to_log = [op for op in operations if not self._already_applied(op)]
            location = self._translog.append(to_log) if to_log else None
            if fence_term is not None:
                # the sender's term is the newest this copy has seen; older primaries are fenced from now on
                self._max_primary_term = max(self._max_primary_term, fence_term)
            with self._batch_lookups([op.document_id for op in operations if op.document_id is not None]), \
                    self._fail_on_error("applying logged operations"):
                results = [self._apply_replicated_locked(op, values=values)
                           for op, values in zip(operations, parsed)]
                if to_log:
                    self._roll_translog_if_large()
        return results, location

    def _fence_replica_batch(self, operations: Sequence[ReplicatedOperation],
                             request_primary_term: int | None) -> int | None:
        """The fence of ``apply_as_replica`` (ADR 0190/0225): the term the batch proves its sender
        has; StaleOperationError when that is older than the highest term seen."""
        fence_term = max(map(attrgetter("primary_term"), operations), default=None)
        if request_primary_term is not None:
            fence_term = int(request_primary_term) if fence_term is None else max(fence_term, int(request_primary_term))
        if fence_term is not None and fence_term < self._max_primary_term:
            raise StaleOperationError(
                f"replication request has primary term [{fence_term}], older than the highest term seen "
                f"[{self._max_primary_term}]",
                primary_term=fence_term, current_term=self._max_primary_term)
        return fence_term

    def _parse_replicated_index_batch(self, operations: Sequence[ReplicatedOperation]
                                      ) -> list[dict] | dict[str, list] | None:
        """The parsed values of every operation when the batch is all index operations with
        sources, distinct ids and distinct seq_nos, and every source parses against the mapping
        without an update; else None (the general path then decides, with its own errors). Same-
        shaped flat documents come back as the mapping's columns (a dict, ADR 0360), any other
        batch as one values dict per operation."""
        if not operations or set(map(type, operations)) != {ReplicatedOperation}:
            return None
        if set(map(attrgetter("kind"), operations)) != {"index"}:
            return None
        sources = list(map(attrgetter("source"), operations))
        if None in sources:
            return None
        count = len(operations)
        document_ids = set(map(attrgetter("document_id"), operations))
        if None in document_ids or len(document_ids) != count or \
                len(set(map(attrgetter("seq_no"), operations))) != count:
            return None
        try:
            loaded = list(map(orjson.loads, sources))
        except orjson.JSONDecodeError:
            return None
        mapping = self.mapping
        parse_flat_columns = getattr(mapping, "parse_flat_columns", None)
        columns = parse_flat_columns(loaded) if parse_flat_columns is not None else None
        if columns is not None:
            return columns
        parse_flat_documents = getattr(mapping, "parse_flat_documents", None)
        values = parse_flat_documents(loaded) if parse_flat_documents is not None else [None] * count
        if None in values:
            values = list(values)
            updates: dict = {}
            for position in [position for position, item in enumerate(values) if item is None]:
                try:
                    parsed = self._parse_loaded(loaded[position], updates, mapping)
                except (MapperParsingError, IndexEngineError):
                    return None
                values[position] = parsed if parsed is not None else {}
            if updates:
                return None
        return values

    def _apply_replicated_index_batch_locked(self, operations: Sequence[ReplicatedOperation],
                                             values: list[dict] | dict[str, list],
                                             fence_term: int | None = None, replaying: bool = False
                                             ) -> tuple[list[OperationResult], Any] | None:
        """The replica's columnar fast path (ADR 0245), under the writer lock, after the fence: a
        batch (from ``_parse_replicated_index_batch``) whose seq_nos are each new or already
        processed under the same or a newer term (those answer "noop" and are not logged again), and
        whose every other id is absent, deleted or at an older (seq_no, term), is logged as one
        encoded record and applied column-wise — exactly what ``_apply_replicated_locked`` per
        operation does. None: not such a batch (nothing done; the general path takes it)."""
        all_operations = operations
        kinds, seq_nos, terms, versions, document_ids, sources, routings = zip(*map(_REPLICATED_COLUMNS, operations))
        tracker = self._tracker
        already_applied: list[int] = []
        if min(seq_nos) <= tracker.checkpoint or (
                tracker.processed_above and not tracker.processed_above.keys().isdisjoint(seq_nos)):
            # a resent operation (recovery overlapping live writes, a retried request) is a no-op
            # result; a seq_no processed under an older term needs the general path's rules
            checkpoint = tracker.checkpoint
            for position, seq_no in enumerate(seq_nos):
                if seq_no <= checkpoint:
                    already_applied.append(position)
                    continue
                known_term = tracker.processed_above.get(seq_no)
                if known_term is None:
                    continue
                if known_term < terms[position]:
                    return None
                already_applied.append(position)
            if len(already_applied) == len(operations):
                return None      # nothing to apply: the general path is as cheap
            skipped = set(already_applied)
            kept = [position for position in range(len(operations)) if position not in skipped]
            operations = [operations[position] for position in kept]
            if isinstance(values, dict):     # columns: keep the same positions of every column
                values = {path: [column[position] for position in kept] for path, column in values.items()}
            else:
                values = [values[position] for position in kept]
            kinds, seq_nos, terms, versions, document_ids, sources, routings = zip(
                *map(_REPLICATED_COLUMNS, operations))
        count = len(operations)
        states = self._current_states(list(document_ids), ())
        existing = [position for position, state in enumerate(states) if state is not None]
        outcomes: Any = repeat("created", count)
        for position in existing:
            state = states[position]
            if (state.seq_no, state.primary_term) >= (seq_nos[position], terms[position]):
                return None      # the document moved past this operation: a history-only no-op
        if existing:
            outcomes = ["created"] * count
            for position in existing:
                if not states[position].deleted:
                    outcomes[position] = "updated"
        single_term = terms.count(terms[0]) == count
        routed = routings.count(None) != count
        location = None
        if not replaying:
            encoded = encode_index_columns(seq_nos, terms[0] if single_term else terms, versions, document_ids,
                                           sources, routings if routed else None)
            location = self._translog.append_encoded(encoded, count, min(seq_nos), max(seq_nos))
        newest_term = max(terms) if fence_term is None else fence_term
        self._max_primary_term = max(self._max_primary_term, newest_term)
        with self._fail_on_error("applying logged operations"):
            for position in existing:
                self._supersede(states[position])
            buffer = self._buffer
            start = len(buffer.documents)
            if isinstance(values, dict):
                # the mapping's columns stay columns in the buffer (ADR 0360), seq_nos and terms listed
                buffer.documents.append_columns(DocumentColumns(
                    list(document_ids), list(sources), values, seq_nos[0], terms[0], list(versions),
                    list(routings) if routed else None, list(seq_nos), None if single_term else list(terms)))
            else:
                buffer.documents.extend(map(_build_segment_document, document_ids, sources, values, seq_nos,
                                            terms, versions, routings))
            buffer.size_bytes += sum(map(len, sources)) + 64 * count
            self._version_map.update(zip(document_ids, map(_make_doc_state, zip(
                seq_nos, terms, versions, repeat(False, count), repeat(buffer, count),
                range(start, start + count), repeat(None, count), repeat(-1, count)))))
            processed_above = tracker.processed_above
            processed_above.update(zip(seq_nos, terms))
            highest = max(seq_nos)
            if highest > tracker.max_seq_no:
                tracker.max_seq_no = highest
            checkpoint = tracker.checkpoint
            while checkpoint + 1 in processed_above:
                checkpoint += 1
                del processed_above[checkpoint]
            tracker.checkpoint = checkpoint
            if not replaying:
                self._roll_translog_if_large()
        results = list(map(build_operation_result, document_ids, outcomes, seq_nos, terms, versions,
                           repeat(None, count), operations, sources))
        if already_applied:
            # the general path's answer for an operation already applied, at its place in the batch
            applied_results = iter(results)
            noop_positions = set(already_applied)
            results = [build_operation_result(operation.document_id, "noop", operation.seq_no, operation.primary_term,
                                              operation.version, None, operation, None)
                       if position in noop_positions else next(applied_results)
                       for position, operation in enumerate(all_operations)]
        return results, location

    def _already_applied(self, operation: ReplicatedOperation) -> bool:
        if operation.seq_no <= self._tracker.checkpoint:
            return True
        term = self._tracker.term_of_processed(operation.seq_no)
        return term is not None and term >= operation.primary_term

    def _apply_replicated_locked(self, operation: ReplicatedOperation, replaying: bool = False,
                                 values: dict | None = None) -> OperationResult:
        if self._already_applied(operation):
            return OperationResult(operation.document_id, "noop", operation.seq_no, operation.primary_term,
                                   operation.version, replicated=operation)
        if replaying:
            self._max_primary_term = max(self._max_primary_term, operation.primary_term)
        if operation.kind == "noop":
            self._tracker.mark_processed(operation.seq_no, operation.primary_term)
            return OperationResult(None, "noop", operation.seq_no, operation.primary_term, operation.version,
                                   replicated=operation)
        state = self._current_state(operation.document_id)
        if state is not None and (state.seq_no, state.primary_term) >= (operation.seq_no, operation.primary_term):
            # the document already moved past this operation: keep it in history only
            self._tracker.mark_processed(operation.seq_no, operation.primary_term)
            return OperationResult(operation.document_id, "noop", operation.seq_no, operation.primary_term,
                                   operation.version, replicated=operation)
        exists = state is not None and not state.deleted
        if operation.kind == "index":
            if values is None:
                values = self._parse_for_replay(operation)
            self._apply_to_memory(operation, values, state)
            result = "updated" if exists else "created"
        else:
            self._apply_to_memory(operation, None, state)
            result = "deleted" if exists else "not_found"
        return OperationResult(operation.document_id, result, operation.seq_no, operation.primary_term,
                               operation.version, replicated=operation, source=operation.source)

    def _parse_for_replay(self, operation: ReplicatedOperation) -> dict:
        updates: dict = {}
        values = self._parse(operation.source or b"{}", updates)
        if updates:
            # the log holds only operations whose mapping was committed first; a missing field here
            # means the caller opened the shard with an older mapping
            raise MappingUpdateRequired(updates)
        return values or {}

    def fill_seq_no_gaps(self, primary_term: int, reason: str = "filling gaps") -> int:
        """On promotion: write a no-op for every seq_no between the checkpoint and max_seq_no that
        this copy never received. Returns how many were filled."""
        with self._lock:
            self._check_open()
            gaps = self._tracker.gaps()
            operations = [ReplicatedOperation("noop", seq_no, primary_term, 1, reason=reason) for seq_no in gaps]
            if not operations:
                return 0
            location = self._translog.append(operations)
            self._max_primary_term = max(self._max_primary_term, primary_term)
            for operation in operations:
                self._tracker.mark_processed(operation.seq_no, operation.primary_term)
        self._wait_for_durability(location)
        return len(operations)

    # ---- refresh, flush, merge ---------------------------------------------------------------

    def acquire_searcher(self) -> Searcher:
        self._check_open()
        return self._searcher

    def _publish_searcher(self) -> None:
        self._searcher = Searcher(tuple(segment.current_view() for segment in self._segments), self.mapping,
                                  self.analysis)

    def refresh(self) -> None:
        """Make every write so far searchable (a new segment from the buffer, deletes applied).

        The segment is built without the writer lock: writes and realtime gets go on meanwhile
        (into a fresh buffer; the one being built stays readable until the segment is swapped in)."""
        self._write_buffer(publish=True)

    def _write_buffer(self, publish: bool, minimum_bytes: int = 0) -> None:
        """The buffer becomes a segment; ``publish`` makes it (and every earlier unpublished one)
        searchable. Unpublished: only to bound the buffer's memory, as OpenSearch writes a segment
        when its indexing buffer is full without making it visible. ``minimum_bytes``: nothing
        unless the buffer still holds that much once the locks are held (a concurrent writer may
        have written it out meanwhile)."""
        with self._refresh_lock:
            self._write_buffer_holding_refresh_lock(publish, minimum_bytes, capture_swap_point=False)

    def _write_buffer_holding_refresh_lock(self, publish: bool, minimum_bytes: int = 0,
                                           capture_swap_point: bool = False) -> _SwapPoint | None:
        """``_write_buffer`` for a caller that holds ``_refresh_lock``. ``capture_swap_point``: also
        return what a commit made at the instant the buffer was taken would hold (``_SwapPoint``) —
        the maintenance flush commits exactly that (ADR 0315); None when nothing was captured or
        the shard closed meanwhile."""
        started = time.perf_counter()
        with self._lock:
            self._check_open()
            building = self._buffer
            if building.size_bytes < minimum_bytes:
                return None
            if not building.documents:
                swap_point = self._swap_point_locked(None, None) if capture_swap_point else None
                if publish:
                    self._finish_refresh(started)
                return swap_point
            self._buffer = _Buffer()
            name, mapping = self._new_segment_name(), self.mapping
            # what the new searcher shows: the deletes as of now, so an update made while the
            # segment builds never shows its delete without its new copy
            visible_views = [segment.current_view() for segment in self._segments]
            visible_building_deletes = BitMap(building.deleted)
            swap_point = (self._swap_point_locked(name, visible_building_deletes) if capture_swap_point
                          else None)
        try:
            # not fsynced here: a refresh is about visibility; flush fsyncs before a commit names it
            with _cyclic_gc_paused():
                write_segment_file(self.path, name, building.documents, mapping, self.analysis, durable=False)
            core = SegmentCore(self.path, name)
        except BaseException:
            with self._lock:
                self._put_back(building)
            raise
        with self._lock:
            if self._closed:
                return None
            self._install_buffer_segment(building, core)
            if publish:
                new_view = SegmentView(core, live_docs_of(core, visible_building_deletes))
                self._finish_refresh(started, (*visible_views, new_view))
        return swap_point

    def _swap_point_locked(self, new_segment_name: str | None, new_segment_deleted: BitMap | None) -> _SwapPoint:
        """Under the writer lock, as the buffer is taken: every operation processed so far is in a
        segment or in the buffer being built, and nothing else is."""
        deleted_by_segment = {segment.core.name: BitMap(segment.deleted) for segment in self._segments}
        if new_segment_name is not None:
            deleted_by_segment[new_segment_name] = new_segment_deleted
        return _SwapPoint(self._tracker.checkpoint, self._tracker.max_seq_no, self.mapping_version,
                          deleted_by_segment)

    def _put_back(self, building: _Buffer) -> None:
        """A failed refresh: its documents go back in front of those written since, nothing lost."""
        current = self._buffer
        merged = _Buffer()
        merged.documents = building.documents + current.documents
        offset = len(building.documents)
        merged.deleted = building.deleted | {index + offset for index in current.deleted}
        merged.size_bytes = building.size_bytes + current.size_bytes
        for document_id, state in list(self._version_map.items()):
            if state.buffer is building:
                self._version_map[document_id] = state._replace(buffer=merged)
            elif state.buffer is current:
                self._version_map[document_id] = state._replace(buffer=merged,
                                                         buffer_index=state.buffer_index + offset)
        self._buffer = merged

    def _install_buffer_segment(self, building: _Buffer, core: SegmentCore) -> None:
        self._segments.append(_LiveSegment(core, BitMap(building.deleted), 0, synced=False,
                                           tombstones_kept_until=self._clock() + self.settings.gc_deletes_seconds))
        # ids whose latest copy was in the built buffer now resolve through the segment
        for document_id in [d for d, state in self._version_map.items() if state.buffer is building]:
            del self._version_map[document_id]

    def _finish_refresh(self, started: float, views: tuple | None = None) -> None:
        if views is None:
            self._publish_searcher()
        else:
            self._searcher = Searcher(views, self.mapping, self.analysis)
        self._last_refresh_time = self._clock()
        self._counters["refresh_total"] += 1
        self._counters["refresh_time"] += time.perf_counter() - started

    def _new_segment_name(self) -> str:
        name = f"seg_{self._next_segment_number:06d}"
        self._next_segment_number += 1
        return name

    def _refresh_locked(self, publish: bool = True) -> None:
        """Refresh entirely under the writer lock (flush, rollback, replay). Callers other than
        replay hold ``_refresh_lock`` too, so no unlocked refresh is half-way. ``publish=False``:
        the buffer becomes a segment that stays invisible until the next refresh (as
        ``_write_buffer(publish=False)``)."""
        started = time.perf_counter()
        building = self._buffer
        if building.documents:
            name = self._new_segment_name()
            with _cyclic_gc_paused():
                write_segment_file(self.path, name, building.documents, self.mapping, self.analysis, durable=False)
            core = SegmentCore(self.path, name)
            self._buffer = _Buffer()
            self._install_buffer_segment(building, core)
        if publish:
            self._finish_refresh(started)

    def flush(self) -> None:
        """Refresh, persist live docs and a new commit point, roll and trim the log. The slow parts
        (building the buffer's segment, fsyncing segment files) run before the writer lock is taken;
        under it only what arrived meanwhile is written."""
        self._flush(publish=True)

    def _flush(self, publish: bool) -> None:
        """``flush``; ``publish=False`` (maintenance's own flushes, ADR 0290) commits the buffer's
        documents without making them searchable, as OpenSearch's flush leaves visibility to
        refreshes: an index with refresh_interval -1 stays unrefreshed however often it flushes."""
        self._write_buffer(publish=publish)
        for segment in list(self._segments):
            if not segment.synced:
                fsync_file(segment.core.path)
                segment.synced = True
        with self._refresh_lock, self._lock:
            self._check_open()
            self._flush_locked(publish=publish)

    def _flush_at_swap_point(self, publish: bool) -> None:
        """The maintenance flush (ADR 0315): build the buffer's segment outside the writer lock and
        commit the shard as it was when that buffer was taken — local checkpoint, max seq_no and
        live docs of that instant — so what arrived during the build stays in the next buffer
        (and in the log, above the committed checkpoint) instead of becoming a second segment built
        under the writer lock. ``_refresh_lock`` is held throughout: no refresh, merge swap or
        rollback can change the segments between the instant and the commit."""
        with self._refresh_lock:
            self._flush_at_swap_point_holding_refresh_lock(publish)

    def _flush_at_swap_point_holding_refresh_lock(self, publish: bool) -> None:
        swap_point = self._write_buffer_holding_refresh_lock(publish, capture_swap_point=True)
        if swap_point is None:
            return
        for segment in list(self._segments):
            if not segment.synced:
                fsync_file(segment.core.path)
                segment.synced = True
        with self._lock:
            self._check_open()
            if set(swap_point.deleted_by_segment) != {segment.core.name for segment in self._segments}:
                # cannot happen while _refresh_lock is held; if it ever does, commit everything
                self._flush_locked(publish=publish)
                return
            self._commit_locked(swap_point)

    def _flush_locked(self, publish: bool = True) -> None:
        self._refresh_locked(publish=publish)
        self._commit_locked(None)

    def _commit_locked(self, swap_point: _SwapPoint | None) -> None:
        """Write the commit point: of the current state (``swap_point`` None: every operation is in
        a segment, the caller refreshed under the writer lock) or of ``swap_point``'s instant."""
        started = time.perf_counter()
        committed_segments = []
        new_live_files: list[str] = []
        new_generations: dict[str, tuple[int, BitMap]] = {}
        for segment in self._segments:
            deleted = segment.deleted if swap_point is None else swap_point.deleted_by_segment[segment.core.name]
            generation = segment.committed_live_docs_generation
            if deleted != segment.committed_deleted:
                generation += 1
                new_live_files.append(write_live_docs_file(self.path, segment.core.name, generation, deleted))
                new_generations[segment.core.name] = (generation, BitMap(deleted))
            committed_segments.append(CommittedSegment(segment.core.name, segment.core.max_doc, generation,
                                                       len(deleted)))
        for segment in self._segments:
            if not segment.synced:
                fsync_file(segment.core.path)
                segment.synced = True
        fsync_directory(self.path)   # new segment and live-docs files must be durable before the commit names them
        # the roll fsyncs the log: every operation whose effect the commit holds is durable first
        translog_generation = self._translog.roll_generation()
        if swap_point is None:
            local_checkpoint, max_seq_no = self._tracker.checkpoint, self._tracker.max_seq_no
            mapping_version = self.mapping_version
        else:
            local_checkpoint, max_seq_no = swap_point.local_checkpoint, swap_point.max_seq_no
            mapping_version = swap_point.mapping_version
            # the log's uncommitted size (the "size" reason) counts from the new generation, as after
            # any flush: the few operations that came after the instant are left out of it (the
            # "operations" reason counts them); counting the sealed generation whole instead would
            # flush on every tick once one generation alone passed the threshold
        commit = CommitPoint(
            generation=self._commit.generation + 1,
            segments=tuple(committed_segments),
            local_checkpoint=local_checkpoint,
            max_seq_no=max_seq_no,
            translog_uuid=self._translog.uuid,
            translog_generation=translog_generation,
            mapping_version=mapping_version,
            next_segment_number=self._next_segment_number,
            global_checkpoint=self.global_checkpoint,
            user_data={"max_primary_term": self._max_primary_term},
        )
        try:
            write_commit_point(self.path, commit)
        except StorageError:
            for name in new_live_files:
                self._delete_file(name)
            raise
        self._commit = commit
        for segment in self._segments:
            if segment.core.name in new_generations:
                segment.committed_live_docs_generation, segment.committed_deleted = new_generations[segment.core.name]
        self._remove_unreferenced_files()
        self._trim_translog()
        self._counters["flush_total"] += 1
        self._counters["flush_time"] += time.perf_counter() - started

    def _trim_translog(self) -> None:
        floor = self._commit.local_checkpoint
        if self._retention_floor is not None:
            floor = min(floor, self._retention_floor)
        floor = min(floor, self._tracker.checkpoint - self.settings.translog_retention_operations)
        for snapshot_checkpoint in self._snapshot_checkpoints:
            # a recovery copying that commit will ask for every operation above its checkpoint
            floor = min(floor, snapshot_checkpoint)
        self._translog.trim_generations_at_or_below(floor)

    def set_retention_floor(self, seq_no: int) -> None:
        """Keep every operation above ``seq_no`` in the log (for peer recovery by operations)."""
        with self._lock:
            self._retention_floor = seq_no

    def _segment_candidates(self) -> list[MergeCandidate]:
        # tombstones and deliberately retained copies are not reclaimable: counting them would make
        # the policy re-merge the same segment forever
        candidates = []
        for segment in self._segments:
            live = segment.live_count()
            reclaimable = len(segment.deleted - segment.retained_deleted - segment.core.tombstones)
            candidates.append(MergeCandidate(segment.core.name, live, live + reclaimable))
        return candidates

    def maybe_merge(self) -> bool:
        """Run the tiered policy once — or, when the shard has taken no operation for
        ``idle_merge_after_seconds`` (as scheduled maintenance last observed), the idle merge
        (ADR 0380); True if a merge happened (it commits, as a flush does). Writes are blocked only
        while the merge is planned and swapped in, not while it is built."""
        if self._closing:
            return False
        with self._merge_lock:
            with self._lock:
                self._check_open()
                candidates = self._segment_candidates()
                chosen = choose_merge(candidates, self.settings.merge_segments_per_tier)
                idle = False
                idle_after = self.settings.idle_merge_after_seconds
                if not chosen and idle_after is not None and \
                        self._clock() - self._last_activity_time >= idle_after:
                    chosen = choose_idle_merge(candidates, self.settings.idle_merge_max_segments,
                                               self.settings.idle_merge_max_docs)
                    idle = bool(chosen)
                # a merged segment is warmed before the swap when it is the one the next searches
                # read: an idle merge's, and a tiered merge's whose inputs searches had decoded
                # (else the first search after the swap paid the decode: ~0.3 s per 100k docs).
                # A never-searched index (a log being loaded) keeps its segments cold
                warm = idle or bool(chosen) and any(segment.core.has_decoded_term_dictionaries
                                                    for segment in self._segments if segment.core.name in chosen)
            return bool(chosen) and self._merge(chosen, warm=warm)

    def force_merge(self, max_num_segments: int = 1) -> None:
        """Merge down to ``max_num_segments`` segments, dropping deleted documents (history above
        the global checkpoint excepted)."""
        with self._merge_lock:
            with self._refresh_lock, self._lock:
                self._check_open()
                self._refresh_locked()
            for _ in range(64):    # each round merges at least two segments or rewrites one
                if self._closing:
                    break
                with self._lock:
                    chosen = choose_force_merge(self._segment_candidates(), max_num_segments)
                if not chosen or not self._merge(chosen, warm=True) or len(chosen) == 1:
                    break
            with self._refresh_lock, self._lock:
                self._check_open()
                self._flush_locked()

    def _history_boundary(self) -> int:
        """Operations above this seq_no may still be rolled back or arrive late: their history is
        kept by merges. The global checkpoint when node/ maintains it, never above the local one (a
        recovering copy hears the primary's global checkpoint before it holds everything below)."""
        if self.global_checkpoint >= 0:
            return min(self.global_checkpoint, self._tracker.checkpoint)
        return self._tracker.checkpoint

    def _plan_merge(self, names: list[str]) -> _MergePlan:
        """Under the writer lock: which docs of the chosen segments the merged segment keeps."""
        boundary = self._history_boundary()
        now = self._clock()
        chosen = [segment for segment in self._segments if segment.core.name in names]
        items: list[tuple[_LiveSegment, int, bool]] = []      # (segment, doc, stays deleted)
        for segment in chosen:
            core = segment.core
            live = segment.current_view().live_docs()
            for doc in range(core.max_doc):
                seq_no = int(core.seq_nos[doc])
                if doc in core.tombstones:
                    if doc not in segment.deleted and (seq_no > boundary or now < segment.tombstones_kept_until):
                        items.append((segment, doc, False))
                    continue
                stays_deleted = doc not in live
                if stays_deleted:
                    # a superseded copy is kept while the operation that superseded it may be rolled back
                    current = self._current_state(core.document_id(doc))
                    if current is None or current.seq_no <= boundary or current.seq_no <= seq_no:
                        continue
                items.append((segment, doc, stays_deleted))
        return _MergePlan(chosen, items, {id(s): FrozenBitMap(s.deleted) for s in chosen},
                          self._new_segment_name())

    def _merge(self, names: list[str], warm: bool = False) -> bool:
        """Plan under the lock, build the merged segment without it, swap it in under the lock.
        Deletes made meanwhile carry over; a merge that raced a rollback reviving a doc it dropped
        is abandoned (False), and so is one the shard's close interrupts (it stops between fields and
        source blocks: the close waits for a running merge). ``warm``: decode the merged segment's
        term dictionaries before the swap (Lucene's merged-segment warmer), so no search pays for it."""
        started = time.perf_counter()
        with self._lock:
            self._check_open()
            plan = self._plan_merge(names)
        self._merge_in_progress_docs = len(plan.items)      # _stats merges.current (under _merge_lock)
        try:
            return self._build_and_swap_merge(plan, started, warm)
        except MergeAbortedError:
            return False          # nothing was written; the close goes on
        finally:
            self._merge_in_progress_docs = None

    def _build_and_swap_merge(self, plan: _MergePlan, started: float, warm: bool) -> bool:
        # postings-level merge (index/segment/merger.py): no re-analysis. The merged segment holds the
        # kept docs part after part, in order — exactly the order of plan.items
        items = plan.items
        parts = [MergePart(segment.core, np.asarray([doc for owner, doc, _ in items if owner is segment],
                                                    dtype=np.int64))
                 for segment in plan.segments]
        core = None
        if items:
            # fsynced here, outside the writer lock, so the commit after the swap has less to do
            merged = merge_segments(parts, lambda: self._closing)
            write_checked_file(self.path / segment_file_name(plan.name), SEGMENT, merged, "segment.write", durable=True)
            core = SegmentCore(self.path, plan.name)
            if warm and not self._closing:
                core.warm_term_dictionaries()
        with self._refresh_lock:    # the swap commits: no refresh may be half-way
            if not self._swap_in_merged_locked(plan, items, core, started):
                return False
            # the commit covers the merged segment and the buffer's, built outside the writer lock and
            # committed as of that build's swap (ADR 0315): writes wait only for the swap. It
            # publishes them only where periodic refreshes run: with refresh_interval -1 (or a copy
            # held search idle) a merge must not make unrefreshed writes visible — searches keep
            # their view (its segment files stay mapped) until a refresh, as OpenSearch's do
            self._flush_at_swap_point_holding_refresh_lock(
                publish=self.settings.refresh_interval_seconds is not None)
        return True

    def _swap_in_merged_locked(self, plan: _MergePlan, items: list, core: SegmentCore | None, started: float) -> bool:
        """Under ``_refresh_lock``: replace the merged segments by ``core`` under the writer lock;
        False (and the merged file removed) when the merge raced a close or a rollback."""
        with self._lock:
            included = {(id(segment), doc) for segment, doc, _ in items}
            abandoned = self._closed or any(segment not in self._segments for segment in plan.segments)
            for segment in plan.segments:
                revived = plan.deleted_at_start[id(segment)] - segment.deleted
                if any((id(segment), doc) not in included for doc in revived):
                    abandoned = True
            if abandoned:
                if core is not None:
                    self._delete_file(segment_file_name(plan.name))
                return False
            deleted = BitMap(new_doc for new_doc, (segment, doc, _) in enumerate(items) if doc in segment.deleted)
            position = min(self._segments.index(segment) for segment in plan.segments)
            remaining = [segment for segment in self._segments if segment not in plan.segments]
            if core is not None:
                merged = _LiveSegment(core, deleted, 0, synced=True, tombstones_kept_until=max(
                    segment.tombstones_kept_until for segment in plan.segments))
                merged.retained_deleted = FrozenBitMap(BitMap(
                    new_doc for new_doc, (_, _, stays_deleted) in enumerate(items) if stays_deleted))
                remaining.insert(position, merged)
            self._segments = remaining
            self._counters["merge_total"] += 1
            self._counters["merge_time"] += time.perf_counter() - started
            self._counters["merged_docs"] += len(items)
        return True

    # ---- files -----------------------------------------------------------------------------

    def _referenced_files(self) -> set[str]:
        names = set(self._commit.file_names())
        for segment in self._segments:
            names.add(segment_file_name(segment.core.name))
        return names

    def _remove_unreferenced_files(self) -> None:
        referenced = self._referenced_files()
        for entry in os.listdir(self.path):
            if entry == SNAPSHOTS_DIRECTORY:
                shutil.rmtree(self.path / entry, ignore_errors=True) if not self._pinned_files else None
                continue
            if entry.endswith((".seg", ".liv", ".tmp")) and entry not in referenced:
                self._delete_file(entry)

    def _delete_file(self, name: str) -> None:
        if self._pinned_files.get(name):
            self._pending_deletions.add(name)
            return
        try:
            os.unlink(self.path / name)
        except FileNotFoundError:
            pass
        except OSError:
            self._pending_deletions.add(name)

    @staticmethod
    def start_history_from_copied_commit(path: Path) -> None:
        """File-based peer recovery, receiving side: ``path`` holds the files of a CommitSnapshot
        (its commit point saved as ``commit.qcp``). Give them a fresh, empty write-ahead log so
        ``Shard.open`` accepts them; then replay the primary's ``operations_since(local_checkpoint)``
        with ``apply_as_replica``."""
        path = Path(path)
        commit = read_commit_point(path)
        if commit is None:
            raise StorageError(f"no commit point [{path / COMMIT_FILE_NAME}] to start a history from",
                               file=str(path / COMMIT_FILE_NAME))
        for name in commit.file_names():
            if not (path / name).exists():
                raise StorageError(f"copied commit is missing file [{path / name}]", file=str(path / name))
        shutil.rmtree(path / TRANSLOG_DIRECTORY, ignore_errors=True)
        translog = Translog(path / TRANSLOG_DIRECTORY)
        try:
            write_commit_point(path, CommitPoint(
                generation=commit.generation + 1, segments=commit.segments,
                local_checkpoint=commit.local_checkpoint, max_seq_no=commit.max_seq_no,
                translog_uuid=translog.uuid, translog_generation=translog.current_generation,
                mapping_version=commit.mapping_version, next_segment_number=commit.next_segment_number,
                global_checkpoint=commit.global_checkpoint, user_data=commit.user_data))
        finally:
            translog.close()

    @contextlib.contextmanager
    def commit_snapshot(self) -> Iterator[CommitSnapshot]:
        """The last commit point and its files, pinned (never deleted) until the block exits; the log
        also keeps every operation above the commit's local checkpoint meanwhile."""
        with self._lock:
            self._check_open()
            commit = self._commit
            files = (*commit.file_names(), COMMIT_FILE_NAME)
            commit_bytes = (self.path / COMMIT_FILE_NAME).read_bytes()
            for name in files:
                self._pinned_files[name] = self._pinned_files.get(name, 0) + 1
            self._snapshot_checkpoints.append(commit.local_checkpoint)
        snapshot_directory = self.path / SNAPSHOTS_DIRECTORY / uuid_module.uuid4().hex
        # the commit file itself is replaced on the next flush: copy it aside for the reader
        snapshot_directory.mkdir(parents=True)
        (snapshot_directory / COMMIT_FILE_NAME).write_bytes(commit_bytes)
        try:
            yield CommitSnapshot(self.path, str(snapshot_directory.relative_to(self.path) / COMMIT_FILE_NAME),
                                 tuple(commit.file_names()), commit.local_checkpoint, commit.max_seq_no)
        finally:
            with self._lock:
                self._snapshot_checkpoints.remove(commit.local_checkpoint)
                for name in files:
                    self._pinned_files[name] -= 1
                    if not self._pinned_files[name]:
                        del self._pinned_files[name]
                for name in list(self._pending_deletions):
                    if name not in self._pinned_files and name not in self._referenced_files():
                        self._pending_deletions.discard(name)
                        self._delete_file(name)
            (snapshot_directory / COMMIT_FILE_NAME).unlink(missing_ok=True)
            snapshot_directory.rmdir()

    # ---- history, rollback -----------------------------------------------------------------

    def operations_since(self, seq_no: int) -> Iterator[ReplicatedOperation]:
        """Every operation with seq_no > ``seq_no`` up to the local checkpoint and any processed above
        it, one per seq_no (the highest term), in seq_no order. OperationsNotRetainedError when the log
        no longer holds part of that range."""
        with self._lock:
            self._check_open()
            best: dict[int, ReplicatedOperation] = {}
            for operation in self._translog.read_operations(above_seq_no=seq_no):
                if not self._tracker.is_processed(operation.seq_no):
                    continue
                existing = best.get(operation.seq_no)
                if existing is None or operation.primary_term > existing.primary_term:
                    best[operation.seq_no] = operation
            missing = [s for s in range(seq_no + 1, self._tracker.checkpoint + 1) if s not in best]
            if missing:
                raise OperationsNotRetainedError(
                    f"the translog of [{self.path}] no longer holds operations from seq_no [{missing[0]}]; "
                    f"requested everything above [{seq_no}]", file=str(self.path / TRANSLOG_DIRECTORY))
            ordered = [best[s] for s in sorted(best)]
        return iter(ordered)

    def rollback_above(self, seq_no: int) -> None:
        """Undo every operation with seq_no > ``seq_no`` (a term bump before resync): each affected id
        goes back to its latest operation at or below ``seq_no``, taken from the segments (copies and
        tombstones) and the log. Commits the result."""
        with self._refresh_lock, self._lock:
            self._check_open()
            self._refresh_locked()
            affected: set[str] = set()
            for segment in self._segments:
                core = segment.core
                for doc in (core.seq_nos > seq_no).nonzero()[0].tolist():
                    affected.add(core.document_id(doc))
            log_history: dict[str, ReplicatedOperation] = {}
            for operation in self._translog.read_operations():
                if operation.kind == "noop" or operation.document_id is None:
                    continue
                if operation.seq_no > seq_no:
                    affected.add(operation.document_id)
                    continue
                previous = log_history.get(operation.document_id)
                if previous is None or (operation.seq_no, operation.primary_term) > (previous.seq_no, previous.primary_term):
                    log_history[operation.document_id] = operation
            for document_id in affected:
                self._rollback_document(document_id, seq_no, log_history.get(document_id))
            self._tracker.rollback_above(seq_no)
            self._translog.trim_operations_above(seq_no)
            self._refresh_locked()
            self._flush_locked()

    def _rollback_document(self, document_id: str, seq_no: int, from_log: ReplicatedOperation | None) -> None:
        best_copy: tuple[int, _LiveSegment, int] | None = None
        for segment in self._segments:
            core = segment.core
            for doc in core.docs_with_id(document_id):
                doc_seq_no = int(core.seq_nos[doc])
                if doc_seq_no > seq_no:
                    segment.deleted.add(doc)     # a rolled-back copy or tombstone: gone for good
                elif best_copy is None or doc_seq_no > best_copy[0]:
                    best_copy = (doc_seq_no, segment, doc)
        if from_log is not None and (best_copy is None or from_log.seq_no > best_copy[0]):
            if from_log.kind == "index":
                self._apply_to_memory(from_log, self._parse_for_replay(from_log))
            else:
                self._apply_to_memory(from_log, None)
            return
        if best_copy is not None:
            _, segment, doc = best_copy
            segment.deleted.discard(doc)          # the copy (or tombstone) at or below seq_no is current again

    # ---- reader contexts (scroll, point in time) --------------------------------------------

    def open_reader_context(self, keep_alive_seconds: float) -> str:
        with self._lock:
            self._check_open()
            context_id = uuid_module.uuid4().hex
            self._reader_contexts[context_id] = (self._searcher, self._clock() + keep_alive_seconds)
            return context_id

    def reader_context(self, context_id: str, keep_alive_seconds: float | None = None) -> Searcher:
        with self._lock:
            entry = self._reader_contexts.get(context_id)
            now = self._clock()
            if entry is None or entry[1] < now:
                self._reader_contexts.pop(context_id, None)
                raise SearchContextMissingError(f"No search context found for id [{context_id}]",
                                                context_id=context_id)
            searcher, expires = entry
            if keep_alive_seconds is not None:
                self._reader_contexts[context_id] = (searcher, now + keep_alive_seconds)
            return searcher

    def close_reader_context(self, context_id: str) -> bool:
        with self._lock:
            return self._reader_contexts.pop(context_id, None) is not None

    def sweep_expired_reader_contexts(self) -> int:
        with self._lock:
            now = self._clock()
            expired = [context_id for context_id, (_, expires) in self._reader_contexts.items() if expires < now]
            for context_id in expired:
                del self._reader_contexts[context_id]
            return len(expired)

    # ---- scheduled work ----------------------------------------------------------------------

    def scheduled_maintenance(self, merge: bool = True) -> None:
        """What node/ runs on a timer (every ~100 ms–1 s): refresh when the refresh interval has
        passed, the "async" log fsync when due, a flush when ``_flush_reason`` gives one or a due
        refresh finds ``flush_at_refresh_operations`` uncommitted (either way one segment build; it
        publishes only when a refresh was due), an unpublished segment when the buffer outgrew
        ``indexing_buffer_bytes``, one merge step (unless ``merge`` is False: a caller that runs
        ``maybe_merge`` on a thread of its own, so a long merge does not delay refreshes), and the
        reader-context sweep."""
        with self._lock:
            self._check_open()
            interval = self.settings.refresh_interval_seconds
            refresh_due = (interval is not None and bool(self._buffer.documents)
                           and self._clock() - self._last_refresh_time >= interval)
            flush_reason = self._flush_reason()
            if flush_reason is None and refresh_due and self._processed_since_commit_reach(
                    self.settings.flush_at_refresh_operations):
                flush_reason = "refresh"   # the refresh's segment is committed too (ADR 0315)
            buffer_full = self._buffer.size_bytes >= self.settings.indexing_buffer_bytes
        if flush_reason is not None:
            # one build for both when a refresh is due too: the flush publishes what it commits
            self._flush_at_swap_point(publish=refresh_due)
        elif refresh_due:
            self.refresh()
        elif buffer_full:
            self._write_buffer(publish=False)
        if self._translog.durability == "async":
            self._wait_for_durability(None)
        if merge:
            self.maybe_merge()
        self.sweep_expired_reader_contexts()
        self._persist_global_checkpoint()

    def _flush_reason(self) -> str | None:
        """Under the writer lock: why maintenance should flush now (ADR 0290) — "size" (the
        uncommitted log outgrew ``flush_threshold_bytes``), "operations" (the local checkpoint moved
        ``flush_threshold_operations`` past the last commit's), "inactive" (no operation for
        ``flush_after_inactive_seconds`` and some processed since the commit) — or None. Only a
        flush that moves the committed checkpoint forward is asked for by the last two, so a copy
        whose checkpoint is held back by a gap never flushes on every tick."""
        settings = self.settings
        now = self._clock()
        tracker = self._tracker
        marker = (tracker.max_seq_no, tracker.checkpoint)
        if marker != self._activity_marker:
            self._activity_marker = marker
            self._last_activity_time = now
        commit = self._commit
        if self._translog.record_bytes_from_generation(commit.translog_generation) > settings.flush_threshold_bytes:
            return "size"
        processed_since_commit = tracker.checkpoint - commit.local_checkpoint
        if processed_since_commit <= 0:
            return None
        if settings.flush_threshold_operations is not None and \
                processed_since_commit >= settings.flush_threshold_operations:
            return "operations"
        if settings.flush_after_inactive_seconds is not None and \
                now - self._last_activity_time >= settings.flush_after_inactive_seconds:
            return "inactive"
        return None

    def _processed_since_commit_reach(self, operations: int | None) -> bool:
        """Under the writer lock: has the local checkpoint moved ``operations`` past the last commit's?"""
        return operations is not None and self._tracker.checkpoint - self._commit.local_checkpoint >= operations

    def _persist_global_checkpoint(self) -> None:
        """Rewrite the commit point with a newer global checkpoint — same segments, same local
        checkpoint, so replay and the files it names are unchanged — at most once per
        GLOBAL_CHECKPOINT_PERSIST_SECONDS. A copy reopened after a crash then rolls back only the
        operations above it before recovering (node/'s prepare_recovery) instead of everything
        since its last flush, as OpenSearch persists the global checkpoint with its translog.
        The value only ever comes from the primary (piggybacked on writes), so it never exceeds
        the true global checkpoint."""
        with self._lock:
            if self._closed or self.global_checkpoint <= self._commit.global_checkpoint:
                return
            now = self._clock()
            if now - self._global_checkpoint_persisted_at < GLOBAL_CHECKPOINT_PERSIST_SECONDS:
                return
            commit = replaced(self._commit, global_checkpoint=min(self.global_checkpoint, self._tracker.checkpoint))
            if commit.global_checkpoint <= self._commit.global_checkpoint:
                return
            write_commit_point(self.path, commit)
            self._commit = commit
            self._global_checkpoint_persisted_at = now

    # ---- statistics ----------------------------------------------------------------------

    def statistics(self) -> ShardStatistics:
        """Counters as of now. Never waits for the writer lock (node/ answers stats inline); the
        numbers are read without it, so they may straddle a concurrent write."""
        segments = list(self._segments)
        # not current_view(): its cache may only be filled under the writer lock
        deleted_docs = sum(len(FrozenBitMap(segment.deleted) - segment.core.tombstones) for segment in segments)
        translog = self._translog.statistics(uncommitted_above_seq_no=self._commit.local_checkpoint)
        counters = self._counters
        return ShardStatistics(
            doc_count=sum(len(view.live_docs()) for view in self._searcher.segments),
            deleted_docs=deleted_docs,
            buffered_operations=len(self._buffer.documents),
            segment_count=len(segments),
            size_bytes=sum(segment.core.size_bytes for segment in segments),
            refresh_total=counters["refresh_total"],
            refresh_time_seconds=counters["refresh_time"],
            flush_total=counters["flush_total"],
            flush_time_seconds=counters["flush_time"],
            merge_total=counters["merge_total"],
            merge_time_seconds=counters["merge_time"],
            merged_docs_total=counters["merged_docs"],
            merge_current=1 if self._merge_in_progress_docs is not None else 0,
            merge_current_docs=self._merge_in_progress_docs or 0,
            translog_operations=translog.operations,
            translog_size_bytes=translog.size_bytes,
            translog_uncommitted_operations=translog.uncommitted_operations,
            local_checkpoint=self._tracker.checkpoint,
            max_seq_no=self._tracker.max_seq_no,
            global_checkpoint=self.global_checkpoint,
            max_primary_term=self._max_primary_term,
            open_reader_contexts=len(self._reader_contexts),
        )


__all__ = ["IndexBatchOutcome", "OperationsNotRetainedError", "Searcher", "Shard", "ShardSettings", "ShardStatistics", "UNASSIGNED_SEQ_NO"]
