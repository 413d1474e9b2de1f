"""Worker-side dispatch: the shard methods the front calls on a shard worker (contracts §8).

Owns ``SHARD_METHODS`` (method name → ``function(registry, payload, body) -> (payload, body)``)
and ``INLINE_METHODS``: opening/closing shards, pushing mappings and settings, the primary write
path for bulk batches (raw NDJSON source bytes in, one ``apply_as_primary`` call = one fsync per
batch), realtime get/mget, refresh/flush/force-merge, statistics and segments, and a background
maintenance thread (refresh interval, async fsync, merges, reader-context sweep). It serves the
methods of ``node.workers.search_service`` (the search engineer's) and ``node.udf.host`` too, imported
when the worker is first idle or first asked for one (``DEFERRED_METHODS``, ADR 0291).

Wire shapes (payload keys; ``index_uuid`` and ``shard_number`` are added by the pool):
    open_shard      settings (flat index.*), mappings, mapping_version (an open shard catches up)
    close_shard     delete (bool: remove the files too)
    update_mapping  mappings, mapping_version        update_settings  settings
    write           primary_term, mapping_version, items [[action, id, params]], refresh;
                    body = the items' source lines concatenated, params["length"] bytes each
                    → {"results": [...]} | {"mapping_update": {...}} | {"stale_mapping": v}
                    or, instead of items, columns {actions ("index"|"create", or one per item),
                    ids, lengths} (index/create only) → "results" is then columns {result,
                    seq_no, version, primary_term, errors [[position, type, reason, caused_by]]}
    get             id, realtime → {"found", "_seq_no", "_primary_term", "_version"}, body=_source
    mget            ids, realtime → {"docs": [...meta, "length"]}, body = sources concatenated
    refresh, flush, force_merge (max_num_segments), stats, segments
    write + replicate: also "replicated" [[kind, seq_no, term, version, id, length, reason, routing]] and
                    "local_checkpoint"; the replicated sources follow the results' in the body
    apply_replica   operations, mappings, mapping_version, global_checkpoint (+ sources)
    history         from_seq_no → operations above it (OperationsNotRetainedError: use files)
    promote         primary_term → gaps filled; operations above the global checkpoint, re-stamped
    resync          global_checkpoint, operations: roll back above it, then apply
    prepare_recovery → roll back above the global checkpoint; the local checkpoint to recover from
    recovery_snapshot_begin / recovery_file_chunk / recovery_snapshot_end (primary side),
    recovery_write_chunk / recovery_install (target side): file-based recovery

A StorageError that leaves the index Shard failed (a failed fsync: every later call refuses)
makes the worker close and reopen that shard from its files (``reopen_if_failed``), log it and
count it in ``stats`` (storage_failures, last_storage_failure); the failing call still errors.

It must never talk to the cluster state, Raft or the network; the front decides everything
(which shards exist, their mappings, primary terms) and tells the worker.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import logging
import os
import shutil
import threading
import time
import uuid
from itertools import accumulate, chain, repeat
from pathlib import Path
from typing import Any, Callable

import orjson

from index.analysis import AnalysisRegistry
from index.errors import (
    IndexEngineError, MappingUpdateRequired, ShardClosedError, StaleOperationError, StorageError,
)
from index.mapping import Mapping
from index.operations import (
    DeleteOperation, IndexOperation, ReplicatedOperation, UpdateOperation, frozen_dataclass_builder,
)
# cyclic_gc_paused from index.shard, not node.coordination.writes (which re-exports it): that module
# pulls the coordinator and trio into the worker
from index.shard import OperationsNotRetainedError, Shard, cyclic_gc_paused
from node.errors import error_cause
from node.coordination.values import parse_time_seconds, shard_settings_from_index_settings
from node.workers.registry import ShardRegistry

logger = logging.getLogger("worker.shard_service")

ShardMethod = Callable[[ShardRegistry, dict, bytes], tuple[dict, bytes]]

MAINTENANCE_INTERVAL_SECONDS = 0.2

# per shard: the mapping version and settings the worker last installed
_shard_versions: dict[tuple[str, int], dict[str, Any]] = {}
_versions_lock = threading.Lock()
_maintenance_started = threading.Event()


def _key(payload: dict) -> tuple[str, int]:
    return payload["index_uuid"], int(payload["shard_number"])


def _registry_shard(registry: ShardRegistry, payload: dict) -> Shard:
    index_uuid, shard_number = _key(payload)
    return registry.get(index_uuid, shard_number)


# --------------------------------------------------------------------------- lifecycle


# One shard's open, close and file-based install run one at a time (per shard; several method
# threads serve the front). Two concurrent open_shard calls — the front retrying an open that
# outlived its call timeout while the first still replays the log — opened two Shard instances on
# one directory: both replay into the same segment names and each deletes the files the other
# wrote that its own commit does not name, so a committed segment file went missing (the hour
# soak, 2026-11-30: "segment file [...] is missing" on every node).
_lifecycle_guard = threading.Lock()
_lifecycle_locks: dict[tuple[str, int], threading.RLock] = {}


def _lifecycle_lock(key: tuple[str, int]) -> threading.RLock:
    with _lifecycle_guard:
        return _lifecycle_locks.setdefault(key, threading.RLock())


def open_shard(registry: ShardRegistry, payload: dict, body: bytes) -> tuple[dict, bytes]:
    with _lifecycle_lock(_key(payload)):
        return _open_shard_locked(registry, payload)


def _open_shard_locked(registry: ShardRegistry, payload: dict) -> tuple[dict, bytes]:
    index_uuid, shard_number = _key(payload)
    existing = registry.shards.get((index_uuid, shard_number))
    if existing is not None:
        # the front re-sends open_shard with the latest mapping and settings so that the pool's
        # replay record (used after a worker crash) is never older than the cluster state
        _catch_up(existing, (index_uuid, shard_number), payload)
        return {"opened": False, "already_open": True, **_checkpoints(existing)}, b""
    settings = payload.get("settings") or {}
    analysis = AnalysisRegistry.from_index_settings(settings)
    mapping = Mapping.from_json(payload.get("mappings") or {})
    shard = Shard.open(registry.shard_path(index_uuid, shard_number),
                       shard_settings_from_index_settings(settings), mapping, analysis)
    registry.put(index_uuid, shard_number, shard)
    with _versions_lock:
        _shard_versions[(index_uuid, shard_number)] = {
            "mapping_version": int(payload.get("mapping_version", 1)), "settings": settings}
    search_idle.track(index_uuid, shard_number, shard.settings, settings)
    _ensure_maintenance(registry)
    return {"opened": True, **_checkpoints(shard)}, b""


def _catch_up(shard: Shard, key: tuple[str, int], payload: dict) -> None:
    settings = payload.get("settings")
    version = int(payload.get("mapping_version", 0))
    with _versions_lock:
        current = _shard_versions.setdefault(key, {"mapping_version": 0, "settings": {}})
        if version > current["mapping_version"]:
            shard.update_mapping(Mapping.from_json(payload.get("mappings") or {}))
            current["mapping_version"] = version
        if settings is not None and settings != current.get("settings"):
            search_idle.install_settings(shard, key, shard_settings_from_index_settings(settings), settings)
            current["settings"] = settings


def _checkpoints(shard: Shard) -> dict[str, int]:
    return {"local_checkpoint": shard.local_checkpoint, "max_seq_no": shard.max_seq_no}


def close_shard(registry: ShardRegistry, payload: dict, body: bytes) -> tuple[dict, bytes]:
    with _lifecycle_lock(_key(payload)):
        return _close_shard_locked(registry, payload)


def _close_shard_locked(registry: ShardRegistry, payload: dict) -> tuple[dict, bytes]:
    index_uuid, shard_number = _key(payload)
    shard = registry.pop(index_uuid, shard_number)
    with _versions_lock:
        _shard_versions.pop((index_uuid, shard_number), None)
    _shard_failures.pop((index_uuid, shard_number), None)
    search_idle.forget(index_uuid, shard_number)
    delete = bool(payload.get("delete"))
    if shard is not None:
        if not delete:
            try:
                shard.flush()
            except IndexEngineError:
                logger.warning("flush before close failed; the log keeps the operations", exc_info=True)
        shard.close()
    if delete:
        shutil.rmtree(registry.shard_path(index_uuid, shard_number), ignore_errors=True)
        index_directory = registry.shard_path(index_uuid, shard_number).parent
        try:
            index_directory.rmdir()  # only when no other shard of the index is left here
        except OSError:
            pass
    return {"closed": shard is not None}, b""


def update_mapping(registry: ShardRegistry, payload: dict, body: bytes) -> tuple[dict, bytes]:
    key = _key(payload)
    shard = _registry_shard(registry, payload)
    version = int(payload["mapping_version"])
    with _versions_lock:
        current = _shard_versions.setdefault(key, {"mapping_version": 0, "settings": {}})
        if version <= current["mapping_version"]:
            return {"mapping_version": current["mapping_version"], "changed": False}, b""
        shard.update_mapping(Mapping.from_json(payload.get("mappings") or {}))
        current["mapping_version"] = version
    return {"mapping_version": version, "changed": True}, b""


def update_settings(registry: ShardRegistry, payload: dict, body: bytes) -> tuple[dict, bytes]:
    shard = _registry_shard(registry, payload)
    settings = payload.get("settings") or {}
    search_idle.install_settings(shard, _key(payload), shard_settings_from_index_settings(settings), settings)
    with _versions_lock:
        _shard_versions.setdefault(_key(payload), {"mapping_version": 0})["settings"] = settings
    return {"updated": True}, b""


# --------------------------------------------------------------------------- writes


def _operation_for(action: str, document_id: str | None, params: dict, source: bytes) -> Any:
    routing = params.get("routing")
    if_seq_no = params.get("if_seq_no")
    if_primary_term = params.get("if_primary_term")
    if action in ("index", "create"):
        return IndexOperation(document_id, source, op_type=action, routing=routing, if_seq_no=if_seq_no,
                              if_primary_term=if_primary_term, version=params.get("version"),
                              version_type=params.get("version_type") or "internal")
    if action == "delete":
        return DeleteOperation(document_id, routing=routing, if_seq_no=if_seq_no,
                               if_primary_term=if_primary_term, version=params.get("version"),
                               version_type=params.get("version_type") or "internal")
    if action == "update":
        update_body = orjson.loads(source) if source else {}
        return UpdateOperation(document_id, doc=update_body.get("doc"), upsert=update_body.get("upsert"),
                               doc_as_upsert=bool(update_body.get("doc_as_upsert", False)),
                               detect_noop=bool(update_body.get("detect_noop", True)),
                               if_seq_no=if_seq_no, if_primary_term=if_primary_term, routing=routing)
    raise ValueError(f"write action: expected index, create, update or delete, got [{action}]")


def write(registry: ShardRegistry, payload: dict, body: bytes) -> tuple[dict, bytes]:
    """Apply one batch of operations as primary: one log append and one fsync for the batch."""
    key = _key(payload)
    shard = _registry_shard(registry, payload)
    expected_mapping_version = int(payload.get("mapping_version", 0))
    with _versions_lock:
        installed = _shard_versions.get(key, {}).get("mapping_version", 0)
    if installed < expected_mapping_version:
        return {"stale_mapping": installed}, b""
    columns = payload.get("columns")
    if payload.get("global_checkpoint") is not None:
        shard.global_checkpoint = max(shard.global_checkpoint, int(payload["global_checkpoint"]))
    if columns is not None:
        try:
            applied = _write_columns(shard, payload, columns, body)
        except MappingUpdateRequired as required:
            return {"mapping_update": required.update}, b""
        if applied is not None:
            return applied
        # the batch needs the general path (nothing was applied): per-operation objects
        with cyclic_gc_paused():
            operations = _operations_from_columns(columns, body)
    else:
        operations = []
        view = memoryview(body)
        offset = 0
        for action, document_id, params in payload["items"]:
            length = int(params.get("length", 0))
            source = bytes(view[offset:offset + length])
            offset += length
            operations.append(_operation_for(action, document_id, params, source))
    try:
        results = shard.apply_as_primary(operations, int(payload["primary_term"]))
    except MappingUpdateRequired as required:
        return {"mapping_update": required.update}, b""
    refresh = payload.get("refresh") or "false"
    forced_refresh = False
    if refresh in ("true", "wait_for") and any(result.replicated is not None for result in results):
        shard.refresh()
        forced_refresh = refresh == "true"
    want_sources = bool(payload.get("return_sources"))
    rendered: Any = []
    sources: list[bytes] = []
    replicated: list[list[Any]] = []
    replicated_sources: list[bytes] = []
    if payload.get("replicate"):
        for result in results:
            operation = result.replicated
            if operation is not None:
                replicated.append(_operation_header(operation))
                replicated_sources.append(operation.source or b"")
    if columns is not None:
        with cyclic_gc_paused():
            rendered = _result_columns(results, int(payload["primary_term"]))
        results = ()
    for result in results:
        item: dict[str, Any] = {"_id": result.document_id, "result": result.result, "_seq_no": result.seq_no,
                                "_primary_term": result.primary_term, "_version": result.version}
        if result.error is not None:
            item = {"_id": result.document_id, "error": _wire_error(result.error)}
        source = result.source if (want_sources and result.source is not None and result.error is None) else b""
        item["source_length"] = len(source)
        sources.append(source)
        rendered.append(item)
    answer: dict[str, Any] = {"results": rendered, "forced_refresh": forced_refresh}
    if payload.get("replicate"):
        # what the replicas must apply: headers here, sources after the results' sources
        answer["replicated"] = replicated
        answer["local_checkpoint"] = shard.local_checkpoint
    return answer, b"".join(sources) + b"".join(replicated_sources)


def _write_columns(shard: Shard, payload: dict, columns: dict, body: bytes) -> tuple[dict, bytes] | None:
    """The columnar write on the shard's columnar path (``Shard.apply_index_batch_as_primary``):
    no operation, result or replicated-operation object per document, the answer built from the
    outcome's columns. None when the shard declined the batch (nothing applied): the caller runs
    the per-operation path, whose answer has the same shape."""
    with cyclic_gc_paused():
        document_ids, sources, op_types = _columns_of(columns, body)
    primary_term = int(payload["primary_term"])
    # the shard pauses the collector itself around its allocating stretch, not across the fsync
    outcome = shard.apply_index_batch_as_primary(document_ids, sources, op_types, primary_term)
    if outcome is None:
        return None
    refresh = payload.get("refresh") or "false"
    if refresh in ("true", "wait_for"):
        shard.refresh()
    seq_nos = list(outcome.seq_nos)
    answer: dict[str, Any] = {
        "results": {"result": outcome.results, "seq_no": seq_nos, "version": outcome.versions,
                    "primary_term": primary_term, "errors": []},
        "forced_refresh": refresh == "true"}
    if not payload.get("replicate"):
        return answer, b""
    # what the replicas must apply: the _operation_header fields, one array per document
    count = len(seq_nos)
    with cyclic_gc_paused():
        answer["replicated"] = list(map(list, zip(repeat("index", count), seq_nos, repeat(primary_term, count),
                                                  outcome.versions, outcome.document_ids, map(len, sources),
                                                  repeat(None, count), repeat(None, count))))
    answer["local_checkpoint"] = shard.local_checkpoint
    return answer, body


def _columns_of(columns: dict, body: bytes) -> tuple[list[str | None], list[bytes], list[str] | None]:
    """The columnar write's ids, sources (sliced from ``body`` by ``lengths``) and op types (None:
    every item is ``index``), checked as ``_operations_from_columns`` checks them."""
    document_ids = columns["ids"]
    lengths = columns["lengths"]
    actions = columns["actions"]
    if len(lengths) != len(document_ids) or sum(lengths) != len(body):
        raise ValueError(f"write columns: expected {len(document_ids)} lengths adding up to the body's "
                         f"{len(body)} bytes, got {len(lengths)} adding up to {sum(lengths)}")
    if isinstance(actions, str):
        if actions not in ("index", "create"):
            raise ValueError(f"write columns: action: expected index or create, got [{actions}]")
        op_types = None if actions == "index" else [actions] * len(document_ids)
    else:
        if len(actions) != len(document_ids):
            raise ValueError(f"write columns: expected {len(document_ids)} actions, got {len(actions)}")
        for action in set(actions):
            if action not in ("index", "create"):
                raise ValueError(f"write columns: action: expected index or create, got [{action}]")
        op_types = actions
    ends = list(accumulate(lengths))
    sources = list(map(body.__getitem__, map(slice, chain((0,), ends), ends)))
    return document_ids, sources, op_types


def _operations_from_columns(columns: dict, body: bytes) -> list[IndexOperation]:
    """index/create operations from the columnar write: ``actions`` (one name for every item, or
    one per item), ``ids`` and ``lengths`` (bytes of each source in ``body``, in order)."""
    document_ids = columns["ids"]
    lengths = columns["lengths"]
    actions = columns["actions"]
    if len(lengths) != len(document_ids) or sum(lengths) != len(body):
        raise ValueError(f"write columns: expected {len(document_ids)} lengths adding up to the body's "
                         f"{len(body)} bytes, got {len(lengths)} adding up to {sum(lengths)}")
    if isinstance(actions, str):
        actions = [actions] * len(document_ids)
    elif len(actions) != len(document_ids):
        raise ValueError(f"write columns: expected {len(document_ids)} actions, got {len(actions)}")
    for action in set(actions):
        if action not in ("index", "create"):
            raise ValueError(f"write columns: action: expected index or create, got [{action}]")
    operations = []
    append = operations.append
    build = _build_index_operation
    offset = 0
    for action, document_id, length in zip(actions, document_ids, lengths):
        end = offset + length
        # IndexOperation(document_id, source, op_type) with every other field at its default
        append(build(document_id, body[offset:end], action, None, None, None, None, "internal"))
        offset = end
    return operations


def _wire_error(error: Any) -> dict[str, Any]:
    """An item's engine error for the front: type, reason and OpenSearch's ``caused_by`` (or None)."""
    return {"type": error.opensearch_type, "reason": error.reason, "caused_by": error_cause(error)}


# IndexOperation without the frozen __init__'s per-field setattr (index/operations.py, ADR 0205)
_build_index_operation = frozen_dataclass_builder(IndexOperation)


def _result_columns(results: list[Any], primary_term: int) -> dict[str, Any]:
    """The columnar write's answer: per item ``result``, ``seq_no`` and ``version`` (placeholders
    for failed items), the batch's ``primary_term``, and ``errors`` [[position, type, reason, caused_by]]."""
    errors = [[position, *_wire_error(result.error).values()]
              for position, result in enumerate(results) if result.error is not None]
    return {"result": [result.result for result in results], "seq_no": [result.seq_no for result in results],
            "version": [result.version for result in results], "primary_term": primary_term, "errors": errors}


def _operation_header(operation: ReplicatedOperation) -> list[Any]:
    return [operation.kind, operation.seq_no, operation.primary_term, operation.version, operation.document_id,
            len(operation.source or b""), operation.reason, operation.routing]


def _operations_from_wire(headers: list[list[Any]], body: bytes) -> list[ReplicatedOperation]:
    """Headers of 8 fields (routing last); 7-field headers (a node from before routing travelled)
    carry no routing."""
    operations = []
    offset = 0
    for header in headers:
        kind, seq_no, primary_term, version, document_id, length, reason = header[:7]
        routing = header[7] if len(header) > 7 else None
        source = body[offset:offset + length] if kind == "index" else None
        offset += length
        operations.append(ReplicatedOperation(kind, int(seq_no), int(primary_term), int(version), document_id,
                                              source, reason, routing))
    return operations


def _request_primary_term(payload: dict) -> int | None:
    """The term of the primary that sent this replication, recovery or resync request: the fence
    (ADR 0190). None from a caller that does not send it; the shard then fences by the operations."""
    term = payload.get("primary_term")
    return None if term is None else int(term)


def apply_replica(registry: ShardRegistry, payload: dict, body: bytes) -> tuple[dict, bytes]:
    """Apply operations a primary decided (replication and recovery); idempotent per (seq_no, term).
    ``primary_term`` in the payload is the sending primary's term, which fences the whole request;
    the operations keep their own (possibly older) terms."""
    key = _key(payload)
    shard = _registry_shard(registry, payload)
    if payload.get("mappings") is not None:
        _catch_up(shard, key, {"mappings": payload["mappings"], "mapping_version": payload["mapping_version"]})
    operations = _operations_from_wire(payload["operations"], body)
    try:
        shard.apply_as_replica(operations, request_primary_term=_request_primary_term(payload))
    except MappingUpdateRequired as required:
        return {"mapping_update": required.update}, b""
    if payload.get("global_checkpoint") is not None:
        shard.global_checkpoint = max(shard.global_checkpoint, int(payload["global_checkpoint"]))
    if payload.get("refresh") in ("true", "wait_for"):
        shard.refresh()  # ?refresh on a write makes it visible on every copy, as OpenSearch does
    return {"local_checkpoint": shard.local_checkpoint, "max_seq_no": shard.max_seq_no}, b""


def set_global_checkpoint(registry: ShardRegistry, payload: dict, body: bytes) -> tuple[dict, bytes]:
    """The primary's node tells its own copy the global checkpoint it computed, when no write
    followed to carry it (ADR 0294); it only ever moves forward. Maintenance persists it."""
    shard = _registry_shard(registry, payload)
    shard.global_checkpoint = max(shard.global_checkpoint, int(payload["global_checkpoint"]))
    return {"global_checkpoint": shard.global_checkpoint, "local_checkpoint": shard.local_checkpoint}, b""


def promote(registry: ShardRegistry, payload: dict, body: bytes) -> tuple[dict, bytes]:
    """This copy became primary under ``primary_term``: fill abandoned seq_no gaps with no-ops and
    return what it holds above the global checkpoint, re-stamped with the new term, for the
    resync of the other copies (a higher term wins per seq_no on every copy)."""
    shard = _registry_shard(registry, payload)
    primary_term = int(payload["primary_term"])
    shard.fill_seq_no_gaps(primary_term, reason="filled on promotion")
    global_checkpoint = shard.global_checkpoint
    operations = [dataclasses.replace(operation, primary_term=primary_term)
                  for operation in shard.operations_since(global_checkpoint)]
    return ({"global_checkpoint": global_checkpoint, "local_checkpoint": shard.local_checkpoint,
             "operations": [_operation_header(operation) for operation in operations]},
            b"".join(operation.source or b"" for operation in operations))


def resync(registry: ShardRegistry, payload: dict, body: bytes) -> tuple[dict, bytes]:
    """A replica under a new primary: drop what it holds above the global checkpoint (never
    acknowledged, or re-sent now), then apply the new primary's operations above it."""
    key = _key(payload)
    shard = _registry_shard(registry, payload)
    if payload.get("mappings") is not None:
        _catch_up(shard, key, {"mappings": payload["mappings"], "mapping_version": payload["mapping_version"]})
    operations = _operations_from_wire(payload["operations"], body)
    request_primary_term = _request_primary_term(payload)
    # fenced BEFORE the rollback: a deposed primary's resync must not drop what this copy holds
    if request_primary_term is not None and request_primary_term < shard.max_primary_term:
        raise StaleOperationError(f"resync request has primary term [{request_primary_term}], older than the "
                                  f"highest term seen [{shard.max_primary_term}]",
                                  primary_term=request_primary_term, current_term=shard.max_primary_term)
    shard.rollback_above(int(payload["global_checkpoint"]))
    if operations:
        shard.apply_as_replica(operations, request_primary_term=request_primary_term)
    return {"local_checkpoint": shard.local_checkpoint}, b""


def prepare_recovery(registry: ShardRegistry, payload: dict, body: bytes) -> tuple[dict, bytes]:
    """A copy about to recover from a primary: whatever it holds above its global checkpoint may
    never have been acknowledged (it may be a deposed primary's), so it is rolled back first and
    the history is asked for from there."""
    shard = _registry_shard(registry, payload)
    global_checkpoint = shard.global_checkpoint
    if shard.max_seq_no > global_checkpoint:
        shard.rollback_above(global_checkpoint)
    return {"local_checkpoint": shard.local_checkpoint, "global_checkpoint": global_checkpoint}, b""


def set_retention_floor(registry: ShardRegistry, payload: dict, body: bytes) -> tuple[dict, bytes]:
    """Owner cluster-recovery (ADR 0226): keep every log operation above ``seq_no`` — the primary's
    global checkpoint or a recovering copy's starting point, whichever is lower — so copies that
    recover by operations find their history; ``seq_no`` None lets the log trim by its settings."""
    shard = _registry_shard(registry, payload)
    seq_no = payload.get("seq_no")
    shard.set_retention_floor(None if seq_no is None else int(seq_no))
    return {"retention_floor": seq_no}, b""


def history(registry: ShardRegistry, payload: dict, body: bytes) -> tuple[dict, bytes]:
    """Every operation above ``from_seq_no`` (peer recovery by operations);
    OperationsNotRetainedError when the log no longer holds them."""
    shard = _registry_shard(registry, payload)
    operations = list(shard.operations_since(int(payload["from_seq_no"])))
    return ({"operations": [_operation_header(operation) for operation in operations],
             "local_checkpoint": shard.local_checkpoint, "max_primary_term": shard.max_primary_term},
            b"".join(operation.source or b"" for operation in operations))


# --------------------------------------------------------------------------- reads


def get(registry: ShardRegistry, payload: dict, body: bytes) -> tuple[dict, bytes]:
    shard = _registry_shard(registry, payload)
    document = shard.get(payload["id"], realtime=bool(payload.get("realtime", True)))
    if document is None:
        return {"found": False}, b""
    return {"found": True, "_seq_no": document.seq_no, "_primary_term": document.primary_term,
            "_version": document.version, "_routing": document.routing}, document.source


def mget(registry: ShardRegistry, payload: dict, body: bytes) -> tuple[dict, bytes]:
    shard = _registry_shard(registry, payload)
    realtime = bool(payload.get("realtime", True))
    docs = []
    sources = []
    for document_id in payload["ids"]:
        document = shard.get(document_id, realtime=realtime)
        if document is None:
            docs.append({"found": False, "length": 0})
            continue
        docs.append({"found": True, "_seq_no": document.seq_no, "_primary_term": document.primary_term,
                     "_version": document.version, "_routing": document.routing, "length": len(document.source)})
        sources.append(document.source)
    return {"docs": docs}, b"".join(sources)


# --------------------------------------------------------------------------- file-based recovery

RECOVERY_STAGING_SUFFIX = ".recovering"
_recovery_snapshots: dict[str, tuple[contextlib.ExitStack, Any, Shard]] = {}


def recovery_snapshot_begin(registry: ShardRegistry, payload: dict, body: bytes) -> tuple[dict, bytes]:
    """Primary side: pin the last commit point and its files until recovery_snapshot_end."""
    shard = _registry_shard(registry, payload)
    stack = contextlib.ExitStack()
    snapshot = stack.enter_context(shard.commit_snapshot())
    snapshot_id = uuid.uuid4().hex
    with _versions_lock:
        _recovery_snapshots[snapshot_id] = (stack, snapshot, shard)
    files = [[name, (shard.path / name).stat().st_size] for name in snapshot.files]
    files.append([snapshot.commit_file, (shard.path / snapshot.commit_file).stat().st_size])
    return {"snapshot_id": snapshot_id, "files": files, "commit_file": snapshot.commit_file,
            "local_checkpoint": snapshot.local_checkpoint, "max_seq_no": snapshot.max_seq_no}, b""


def recovery_file_chunk(registry: ShardRegistry, payload: dict, body: bytes) -> tuple[dict, bytes]:
    with _versions_lock:
        _, snapshot, shard = _recovery_snapshots[payload["snapshot_id"]]
    name = payload["name"]
    if name not in snapshot.files and name != snapshot.commit_file:
        raise ValueError(f"recovery_file_chunk: [{name}] is not a file of snapshot [{payload['snapshot_id']}]")
    with open(shard.path / name, "rb") as handle:
        handle.seek(int(payload["offset"]))
        return {}, handle.read(int(payload["length"]))


def recovery_snapshot_end(registry: ShardRegistry, payload: dict, body: bytes) -> tuple[dict, bytes]:
    with _versions_lock:
        entry = _recovery_snapshots.pop(payload["snapshot_id"], None)
    if entry is not None:
        entry[0].close()
    return {"ended": entry is not None}, b""


def _staging_directory(registry: ShardRegistry, payload: dict) -> Path:
    index_uuid, shard_number = _key(payload)
    path = registry.shard_path(index_uuid, shard_number)
    return path.with_name(path.name + RECOVERY_STAGING_SUFFIX)


def recovery_write_chunk(registry: ShardRegistry, payload: dict, body: bytes) -> tuple[dict, bytes]:
    """Target side: write one chunk of a recovered file into the staging directory."""
    staging = _staging_directory(registry, payload)
    if payload.get("reset"):
        shutil.rmtree(staging, ignore_errors=True)
    name = payload["target_name"]
    if name.startswith("/") or ".." in Path(name).parts:
        raise ValueError(f"recovery_write_chunk: file name [{name}] must stay inside the shard directory")
    target = staging / name
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target, "r+b" if target.exists() else "wb") as handle:
        handle.seek(int(payload["offset"]))
        handle.write(body)
    return {"written": len(body)}, b""


def recovery_install(registry: ShardRegistry, payload: dict, body: bytes) -> tuple[dict, bytes]:
    """Target side: replace this copy's files with the staged commit (and a fresh, empty log),
    then reopen it. Operations above the commit's local checkpoint come afterwards as history."""
    with _lifecycle_lock(_key(payload)):
        return _install_locked(registry, payload)


def _install_locked(registry: ShardRegistry, payload: dict) -> tuple[dict, bytes]:
    from index.commit import COMMIT_FILE_NAME, read_commit_point, write_commit_point
    from index.format import fsync_directory
    from index.translog import Translog

    index_uuid, shard_number = _key(payload)
    staging = _staging_directory(registry, payload)
    commit = read_commit_point(staging)
    if commit is None:
        raise ValueError(f"recovery_install: no commit point [{staging / COMMIT_FILE_NAME}] was received")
    translog = Translog(staging / "translog")
    fresh = dataclasses.replace(commit, translog_uuid=translog.uuid,
                                translog_generation=translog.current_generation)
    translog.close()
    write_commit_point(staging, fresh)
    fsync_directory(staging)
    old = registry.pop(index_uuid, shard_number)
    if old is not None:
        old.close()
    path = registry.shard_path(index_uuid, shard_number)
    shutil.rmtree(path, ignore_errors=True)
    os.replace(staging, path)
    fsync_directory(path.parent)
    with _versions_lock:
        _shard_versions.pop((index_uuid, shard_number), None)
    return _open_shard_locked(registry, payload)


# --------------------------------------------------------------------------- maintenance


def refresh(registry: ShardRegistry, payload: dict, body: bytes) -> tuple[dict, bytes]:
    _registry_shard(registry, payload).refresh()
    return {"ok": True}, b""


def flush(registry: ShardRegistry, payload: dict, body: bytes) -> tuple[dict, bytes]:
    _registry_shard(registry, payload).flush()
    return {"ok": True}, b""


def force_merge(registry: ShardRegistry, payload: dict, body: bytes) -> tuple[dict, bytes]:
    shard = _registry_shard(registry, payload)
    shard.force_merge(int(payload.get("max_num_segments") or 1))
    if payload.get("flush", True):
        shard.flush()
    return {"ok": True}, b""


def stats(registry: ShardRegistry, payload: dict, body: bytes) -> tuple[dict, bytes]:
    statistics = _registry_shard(registry, payload).statistics()
    failures = _shard_failures.get(_key(payload), {"storage_failures": 0, "last_storage_failure": None})
    return {**dataclasses.asdict(statistics), **failures, "search_idle": search_idle.is_idle(_key(payload))}, b""


def segments(registry: ShardRegistry, payload: dict, body: bytes) -> tuple[dict, bytes]:
    searcher = _registry_shard(registry, payload).acquire_searcher()
    listed = []
    for generation, segment in enumerate(searcher.segments):
        core = getattr(segment, "core", None)
        listed.append({"segment": segment.name, "generation": generation, "docs.count": len(segment.live_docs()),
                       "docs.deleted": segment.max_doc - len(segment.live_docs()),
                       "size": int(getattr(core, "size_bytes", 0) or 0)})
    return {"segments": listed}, b""


# --------------------------------------------------------------------------- search idle

DEFAULT_SEARCH_IDLE_AFTER_SECONDS = 30.0


class SearchIdle:
    """OpenSearch's "search idle" (``index.search.idle.after``, default 30s; ADR 0220): a shard
    copy that has had no search for that long skips its periodic refresh — bulk loads into an
    index nobody searches build a few large segments instead of one per second — until a search
    arrives, which refreshes it first and so sees every write, then the periodic refresh resumes.
    Only for indices whose ``index.refresh_interval`` is not set explicitly (as OpenSearch): an
    explicit interval is always honoured. Realtime get, ``refresh=true|wait_for`` writes and the
    _refresh API are unaffected. A copy is not idle when it opens: the clock starts there.

    The periodic refresh is index/'s (``Shard.scheduled_maintenance``); it is held off by
    installing the shard's settings with ``refresh_interval_seconds=None`` while idle and the
    configured ones again on the next search. Thread safe: the maintenance thread and search
    threads both call in."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.lock = threading.Lock()
        self.last_search: dict[tuple[str, int], float] = {}
        self.configured: dict[tuple[str, int], Any] = {}      # the ShardSettings from the index's settings
        self.idle_after: dict[tuple[str, int], float | None] = {}   # None: refresh_interval set explicitly
        self.idle: set[tuple[str, int]] = set()

    @staticmethod
    def idle_after_seconds(index_settings: dict) -> float | None:
        if index_settings.get("index.refresh_interval") is not None:
            return None
        value = index_settings.get("index.search.idle.after")
        if value is None:
            return DEFAULT_SEARCH_IDLE_AFTER_SECONDS
        try:
            seconds = parse_time_seconds(value, "index.search.idle.after")
        except Exception:  # noqa: BLE001 — a bad value must not keep the shard closed: the default applies
            logger.warning("index.search.idle.after: expected a time value such as 30s, got [%s]; using 30s", value)
            return DEFAULT_SEARCH_IDLE_AFTER_SECONDS
        return DEFAULT_SEARCH_IDLE_AFTER_SECONDS if seconds is None else max(0.0, seconds)

    def track(self, index_uuid: str, shard_number: int, shard_settings: Any, index_settings: dict) -> None:
        key = (index_uuid, shard_number)
        with self.lock:
            self.last_search[key] = self.clock()
            self.configured[key] = shard_settings
            self.idle_after[key] = self.idle_after_seconds(index_settings)
            self.idle.discard(key)

    def forget(self, index_uuid: str, shard_number: int) -> None:
        key = (index_uuid, shard_number)
        with self.lock:
            for table in (self.last_search, self.configured, self.idle_after):
                table.pop(key, None)
            self.idle.discard(key)

    def is_idle(self, key: tuple[str, int]) -> bool:
        with self.lock:
            return key in self.idle

    def install_settings(self, shard: Shard, key: tuple[str, int], shard_settings: Any, index_settings: dict) -> None:
        """New settings from the index: installed as they are, or with the periodic refresh held
        off while the copy is idle and may stay so."""
        with self.lock:
            self.configured[key] = shard_settings
            self.idle_after[key] = self.idle_after_seconds(index_settings)
            if self.idle_after[key] is None:
                self.idle.discard(key)
            held_off = key in self.idle
            shard.update_settings(dataclasses.replace(shard_settings, refresh_interval_seconds=None)
                                  if held_off else shard_settings)

    def before_maintenance(self, shard: Shard, key: tuple[str, int]) -> None:
        """Hold off the periodic refresh of a copy that just became search idle."""
        with self.lock:
            idle_after = self.idle_after.get(key)
            configured = self.configured.get(key)
            if (idle_after is None or configured is None or key in self.idle
                    or configured.refresh_interval_seconds is None
                    or self.clock() - self.last_search.get(key, self.clock()) < idle_after):
                return
            self.idle.add(key)
            shard.update_settings(dataclasses.replace(configured, refresh_interval_seconds=None))
        logger.debug("shard is search idle: periodic refresh held off until a search arrives",
                     extra={"fields": {"index_uuid": key[0], "shard": key[1]}})

    def on_search(self, registry: ShardRegistry, key: tuple[str, int]) -> None:
        """A search reached the copy: note it, and wake an idle copy with a refresh first."""
        with self.lock:
            if key not in self.last_search:
                return
            self.last_search[key] = self.clock()
            if key not in self.idle:
                return
            self.idle.discard(key)
            shard = registry.shards.get(key)
            if shard is None:
                return
            shard.update_settings(self.configured[key])
        # outside the lock: a refresh takes the shard's own locks and may take a while
        shard.refresh()


search_idle = SearchIdle()

# the worker methods that search a copy's refreshed view (a fetch, a scroll page or a PIT search
# reads a snapshot its query phase or context already holds)
SEARCHING_METHODS = frozenset({"search_shard", "count", "explain", "open_reader_context"})


def _noting_searches(method: ShardMethod) -> ShardMethod:
    def noted(registry: ShardRegistry, payload: dict, body: bytes) -> tuple[dict, bytes]:
        if "index_uuid" in payload and "shard_number" in payload:
            search_idle.on_search(registry, _key(payload))
        return method(registry, payload, body)

    noted.__name__ = getattr(method, "__name__", "search_method")
    noted.__doc__ = method.__doc__
    return noted


def _every_interval(pass_over_shards: Callable[[ShardRegistry], None], registry: ShardRegistry) -> None:
    """A background thread's body: ``pass_over_shards`` every MAINTENANCE_INTERVAL_SECONDS, forever."""
    while True:
        time.sleep(MAINTENANCE_INTERVAL_SECONDS)
        pass_over_shards(registry)


def maintain_every_shard(registry: ShardRegistry) -> None:
    """Refreshes, flushes, log fsyncs and reader-context sweeps of every shard of this worker — not
    merges: those run on their own thread (``merge_every_shard``), so a long one (an idle merge of
    333k documents takes ~8 s) never holds back a shard's refresh."""
    def maintain(key: tuple[str, int], shard: Shard) -> None:
        search_idle.before_maintenance(shard, key)
        shard.scheduled_maintenance(merge=False)

    _on_every_shard(registry, maintain, "scheduled maintenance")


def merge_every_shard(registry: ShardRegistry) -> None:
    """One merge step (tiered, or idle) of every shard of this worker."""
    _on_every_shard(registry, lambda key, shard: shard.maybe_merge(), "merge")


def _on_every_shard(registry: ShardRegistry, action: Callable[[tuple[str, int], Shard], Any], what: str) -> None:
    """``action`` on each shard in turn; one shard's trouble never stops the others'."""
    for key, shard in list(registry.shards.items()):
        try:
            action(key, shard)
        except StorageError as error:
            # an async fsync or a merge's write that failed leaves the shard failed: reopen it, as a call would
            reopen_if_failed(registry, key, error)
        except Exception:  # noqa: BLE001 — logged; the other shards go on
            logger.debug("%s failed", what, exc_info=True)


def _ensure_maintenance(registry: ShardRegistry) -> None:
    with _versions_lock:
        if _maintenance_started.is_set():
            return
        _maintenance_started.set()
    for pass_over_shards, name in ((maintain_every_shard, "shard-maintenance"), (merge_every_shard, "shard-merges")):
        threading.Thread(target=_every_interval, args=(pass_over_shards, registry), name=name, daemon=True).start()


# --------------------------------------------------------------------------- failed shards

# per shard: how many times this worker reopened it after a storage failure, and the last reason
_shard_failures: dict[tuple[str, int], dict[str, Any]] = {}
_reopen_lock = threading.Lock()


def _shard_has_failed(shard: Shard) -> bool:
    """A failed index Shard refuses every call until reopened; a searcher is the cheapest probe
    (index/ exposes no failure flag)."""
    try:
        shard.acquire_searcher()
    except ShardClosedError:
        return False
    except StorageError:
        return True
    return False


def reopen_if_failed(registry: ShardRegistry, key: tuple[str, int], error: BaseException) -> bool:
    """After a StorageError (an fsync that failed, a torn append) the index Shard is failed and
    refuses every later call: close it and open it again from its files, which replays the log so
    memory and log agree again. True when the shard was reopened. The failure is logged and
    counted (``stats``: ``storage_failures``, ``last_storage_failure``); if reopening fails too
    (the disk is still failing) the failed shard stays in place and the next call tries again."""
    with _reopen_lock:
        shard = registry.shards.get(key)
        if shard is None or not _shard_has_failed(shard):
            return False
        record = _shard_failures.setdefault(key, {"storage_failures": 0, "last_storage_failure": None})
        record["storage_failures"] += 1
        record["last_storage_failure"] = getattr(error, "reason", None) or repr(error)
        logger.error("shard failed on a storage error; reopening it from its files", extra={"fields": {
            "index_uuid": key[0], "shard": key[1], "reason": record["last_storage_failure"]}})
        with contextlib.suppress(Exception):
            shard.close()
        try:
            reopened = Shard.open(shard.path, shard.settings, shard.mapping, shard.analysis)
        except Exception:  # noqa: BLE001 — the disk may still be failing: keep the failed shard, retry later
            logger.error("reopening a failed shard failed; it stays failed", exc_info=True,
                         extra={"fields": {"index_uuid": key[0], "shard": key[1]}})
            return False
        reopened.global_checkpoint = max(reopened.global_checkpoint, shard.global_checkpoint)
        registry.put(key[0], key[1], reopened)
        return True


def _reopening_on_storage_failure(method: ShardMethod) -> ShardMethod:
    def guarded(registry: ShardRegistry, payload: dict, body: bytes) -> tuple[dict, bytes]:
        try:
            return method(registry, payload, body)
        except OperationsNotRetainedError:
            raise  # a history request the log cannot serve: nothing failed
        except StorageError as error:
            # the caller still gets the error (this call's operations are not acknowledged);
            # later calls find a working shard
            reopen_if_failed(registry, _key(payload), error)
            raise

    guarded.__name__ = getattr(method, "__name__", "shard_method")
    guarded.__doc__ = method.__doc__
    return guarded


SHARD_METHODS: dict[str, ShardMethod] = {
    "open_shard": open_shard, "close_shard": close_shard, "update_mapping": update_mapping,
    "update_settings": update_settings, "write": write, "get": get, "mget": mget, "refresh": refresh,
    "flush": flush, "force_merge": force_merge, "stats": stats, "segments": segments,
    "apply_replica": apply_replica, "history": history, "promote": promote, "resync": resync,
    "prepare_recovery": prepare_recovery,
    "set_retention_floor": set_retention_floor, "set_global_checkpoint": set_global_checkpoint,
    "recovery_snapshot_begin": recovery_snapshot_begin, "recovery_file_chunk": recovery_file_chunk,
    "recovery_snapshot_end": recovery_snapshot_end, "recovery_write_chunk": recovery_write_chunk,
    "recovery_install": recovery_install,
}
for _name in ("write", "get", "mget", "refresh", "flush", "force_merge", "apply_replica", "history", "promote",
              "resync", "prepare_recovery"):
    SHARD_METHODS[_name] = _reopening_on_storage_failure(SHARD_METHODS[_name])

# cheap and never blocking on I/O: answered on the worker loop without a thread hop
INLINE_METHODS: frozenset[str] = frozenset({"get", "stats", "segments"})


# ---- the search and UDF methods, imported when first needed (ADR 0291) ----------------------
# node.workers.search_service (index.query) and node.udf (wasmtime) are ~0.6 CPU-s of a worker's
# ~2.3 s of imports, and a restarting node's copies need none of them to open, replay and recover:
# the worker answers its first ping without them and imports them once it has been idle for
# PRELOAD_IDLE_SECONDS — or at the first call of one of them, whichever comes first. Their names
# (and which are inline) are listed here so the worker can dispatch before importing them; a test
# holds this table to the modules' own exports.
DEFERRED_METHOD_MODULES = ("node.workers.search_service", "node.udf.queries", "node.udf.host")
DEFERRED_METHODS: dict[str, bool] = {      # name -> answered inline (on the worker's reading thread)
    "search_shard": False, "fetch": False, "release_fetch": True, "count": False,
    "open_reader_context": True, "close_reader_context": True, "close_all_reader_contexts": False,
    "explain": False, "udf_statistics": True, "udf_retain": False,
}
PRELOAD_IDLE_SECONDS = 1.0
PRELOAD_POLL_SECONDS = 0.25

_deferred_lock = threading.Lock()
_deferred_loaded: dict[str, ShardMethod] | None = None
_activity_lock = threading.Lock()
_calls_in_flight = 0
_last_call_ended = time.monotonic()


def load_deferred_methods() -> dict[str, ShardMethod]:
    """Import the search and UDF methods (once; concurrent callers wait for the first)."""
    global _deferred_loaded
    loaded = _deferred_loaded
    if loaded is not None:
        return loaded
    with _deferred_lock:
        if _deferred_loaded is None:
            started = time.process_time()
            search_service = importlib.import_module("node.workers.search_service")
            exported = getattr(search_service, "SEARCH_METHODS", None) or getattr(search_service, "SHARD_METHODS", None)
            if not isinstance(exported, dict):
                raise TypeError("node.workers.search_service: expected SEARCH_METHODS (or SHARD_METHODS), a dict "
                                f"of method name to function, got {type(exported).__name__}")
            methods = dict(exported)    # the stubs in SHARD_METHODS note searches and activity
            # owner udf-node: importing node.udf.queries registers wasm_udf/script_score for this
            # worker's parses; the udf_statistics/udf_retain methods come from node.udf.host
            importlib.import_module("node.udf.queries")
            udf_host = importlib.import_module("node.udf.host")
            methods.update(udf_host.UDF_WORKER_METHODS)
            inline = (frozenset(getattr(search_service, "INLINE_METHODS", ())) | udf_host.UDF_INLINE_METHODS)
            expected = {name for name in DEFERRED_METHODS}
            if set(methods) != expected or inline != {name for name, is_inline in DEFERRED_METHODS.items() if is_inline}:
                # a method added to those modules but not to DEFERRED_METHODS would never be served
                raise TypeError(f"shard_service.DEFERRED_METHODS is out of date: the modules export "
                                f"{sorted(methods)} (inline {sorted(inline)}), expected {sorted(expected)}")
            _deferred_loaded = methods
            logger.debug("search and udf methods imported", extra={"fields": {
                "cpu_seconds": round(time.process_time() - started, 3)}})
    return _deferred_loaded


def _deferred(name: str) -> ShardMethod:
    def call(registry: ShardRegistry, payload: dict, body: bytes) -> tuple[dict, bytes]:
        return load_deferred_methods()[name](registry, payload, body)

    call.__name__ = name
    return call


def _noting_activity(method: ShardMethod) -> ShardMethod:
    """Counts calls in flight and when the last one ended: what the preload waits on."""
    def counted(registry: ShardRegistry, payload: dict, body: bytes) -> tuple[dict, bytes]:
        global _calls_in_flight, _last_call_ended
        with _activity_lock:
            _calls_in_flight += 1
        try:
            return method(registry, payload, body)
        finally:
            with _activity_lock:
                _calls_in_flight -= 1
                _last_call_ended = time.monotonic()

    counted.__name__ = getattr(method, "__name__", "shard_method")
    counted.__doc__ = method.__doc__
    return counted


def worker_is_idle(idle_seconds: float = PRELOAD_IDLE_SECONDS) -> bool:
    with _activity_lock:
        return _calls_in_flight == 0 and time.monotonic() - _last_call_ended >= idle_seconds


def _preload_when_idle() -> None:
    while _deferred_loaded is None:
        if worker_is_idle(PRELOAD_IDLE_SECONDS):
            try:
                load_deferred_methods()
            except Exception:  # noqa: BLE001 — the first search call imports again and reports the error
                logger.warning("importing the search and udf methods failed", exc_info=True)
            return
        time.sleep(PRELOAD_POLL_SECONDS)


for _name in DEFERRED_METHODS:
    if _name in SHARD_METHODS:
        raise TypeError(f"deferred method [{_name}] is already a shard_service method")
    SHARD_METHODS[_name] = _deferred(_name)
for _name in list(SHARD_METHODS):
    _counted = _noting_activity(SHARD_METHODS[_name])
    SHARD_METHODS[_name] = _noting_searches(_counted) if _name in SEARCHING_METHODS else _counted
INLINE_METHODS = INLINE_METHODS | {name for name, is_inline in DEFERRED_METHODS.items() if is_inline}


def start_preloading_deferred_methods() -> threading.Thread:
    """The worker's background import of the deferred methods (worker_main starts it)."""
    thread = threading.Thread(target=_preload_when_idle, name="preload-search-methods", daemon=True)
    thread.start()
    return thread
