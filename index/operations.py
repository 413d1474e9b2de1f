"""The values that describe shard writes and their outcomes (contracts §4).

Owns: the frozen dataclasses node/ builds to drive a shard (IndexOperation, DeleteOperation,
UpdateOperation), the replicated form every copy applies and the write-ahead log stores
(ReplicatedOperation), and what a write returns (OperationResult, StoredDocument).

Must never: hold behaviour beyond validation of its own fields; the engine is index/shard.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from index.errors import IndexEngineError

VERSION_TYPES = ("internal", "external", "external_gte")
REPLICATED_KINDS = ("index", "delete", "noop")


@dataclass(frozen=True, slots=True)
class IndexOperation:
    document_id: str | None            # None: the shard generates one (auto-id)
    source: bytes
    op_type: str = "index"             # "index" | "create"
    routing: str | None = None
    if_seq_no: int | None = None
    if_primary_term: int | None = None
    version: int | None = None
    version_type: str = "internal"


@dataclass(frozen=True, slots=True)
class DeleteOperation:
    document_id: str
    routing: str | None = None
    if_seq_no: int | None = None
    if_primary_term: int | None = None
    version: int | None = None
    version_type: str = "internal"


@dataclass(frozen=True, slots=True)
class UpdateOperation:
    document_id: str
    doc: dict[str, Any] | None = None
    upsert: dict[str, Any] | None = None
    doc_as_upsert: bool = False
    detect_noop: bool = True
    if_seq_no: int | None = None
    if_primary_term: int | None = None
    routing: str | None = None


@dataclass(frozen=True, slots=True)
class ReplicatedOperation:
    """An operation as the primary decided it: what replicas apply and the log stores."""

    kind: str                          # "index" | "delete" | "noop"
    seq_no: int
    primary_term: int
    version: int
    document_id: str | None = None
    source: bytes | None = None
    reason: str | None = None          # noop only: why the seq_no was filled
    routing: str | None = None         # index only: the custom routing value, returned as _routing


@dataclass(frozen=True, slots=True)
class OperationResult:
    document_id: str | None
    result: str                        # "created" | "updated" | "deleted" | "not_found" | "noop"
    seq_no: int
    primary_term: int
    version: int
    error: IndexEngineError | None = None
    replicated: ReplicatedOperation | None = None   # what to forward to replicas (None: nothing)
    source: bytes | None = None        # the resulting _source (updates return it for `_source` in get)


@dataclass(frozen=True, slots=True)
class StoredDocument:
    document_id: str
    source: bytes
    seq_no: int
    primary_term: int
    version: int
    routing: str | None = None


@dataclass(frozen=True, slots=True)
class CommitSnapshot:
    """A commit point and the files it needs, pinned (not deleted) while the snapshot is open."""

    directory: Any                     # pathlib.Path of the shard
    commit_file: str                   # file name of the commit point, relative to directory
    files: tuple[str, ...]             # every file name the commit needs, relative to directory
    local_checkpoint: int
    max_seq_no: int
