"""The one exception hierarchy of index/.

Every error index/ raises on purpose is a subclass of ``IndexEngineError``. node/ translates
them to HTTP in one table (node/errors.py); index/ itself knows nothing of status codes. Each
error carries ``opensearch_type``, the error type OpenSearch reports for the same condition,
because the same error can surface through more than one API.

    IndexEngineError
    ├── MappingError
    │   ├── MapperParsingError             a value does not fit its field, or a bad mapping
    │   ├── StrictDynamicMappingError      an unmapped field under "dynamic": "strict"
    │   ├── MappingConflictError           a mapping update changes an existing field
    │   └── MappingUpdateRequired          not a failure: new fields must be committed first
    ├── AnalysisError                      unknown analyzer, bad analysis settings
    ├── QueryParsingError                  malformed or unknown query DSL (names the key)
    ├── QueryShardError                    a well-formed query that cannot run on this shard
    ├── AggregationError                   malformed or impossible aggregation
    ├── LimitExceededError                 a documented limit was exceeded (names the limit)
    ├── VersionConflictError               optimistic concurrency / op_type=create conflict
    ├── DocumentMissingError               partial update of a document that does not exist
    ├── StaleOperationError                an operation from an older primary term
    ├── SearchContextMissingError          scroll / point-in-time id unknown or expired
    ├── ShardClosedError                   the shard was closed
    └── StorageError                       I/O on a durability path failed (names the file)
        ├── CorruptedLogError              a write-ahead log record before the tail is corrupt
        └── CorruptedIndexError            a segment or commit point fails its checksum
"""

from __future__ import annotations

from typing import Any


class IndexEngineError(Exception):
    """Base of every error index/ raises on purpose."""

    opensearch_type = "exception"

    def __init__(self, reason: str, **details: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.details = details


class MappingError(IndexEngineError):
    opensearch_type = "mapper_exception"


class MapperParsingError(MappingError):
    opensearch_type = "mapper_parsing_exception"


class StrictDynamicMappingError(MappingError):
    opensearch_type = "strict_dynamic_mapping_exception"


class MappingConflictError(MappingError):
    opensearch_type = "illegal_argument_exception"


class MappingUpdateRequired(MappingError):
    """The document brings fields the mapping does not have yet.

    ``update`` is the mapping fragment (``{"properties": {...}}``) the caller must commit to the
    cluster state, install with ``Shard.update_mapping``, and then retry. Nothing was applied.
    """

    opensearch_type = "mapping_update_required"

    def __init__(self, update: dict[str, Any]) -> None:
        super().__init__("the document needs a mapping update", update=update)
        self.update = update


class AnalysisError(IndexEngineError):
    opensearch_type = "illegal_argument_exception"


class QueryParsingError(IndexEngineError):
    opensearch_type = "parsing_exception"


class QueryShardError(IndexEngineError):
    opensearch_type = "query_shard_exception"


class AggregationError(IndexEngineError):
    opensearch_type = "illegal_argument_exception"


class LimitExceededError(IndexEngineError):
    opensearch_type = "illegal_argument_exception"


class VersionConflictError(IndexEngineError):
    opensearch_type = "version_conflict_engine_exception"


class DocumentMissingError(IndexEngineError):
    opensearch_type = "document_missing_exception"


class StaleOperationError(IndexEngineError):
    opensearch_type = "illegal_state_exception"


class SearchContextMissingError(IndexEngineError):
    opensearch_type = "search_context_missing_exception"


class ShardClosedError(IndexEngineError):
    opensearch_type = "index_closed_exception"


class MergeAbortedError(ShardClosedError):
    """A merge stopped before anything was written because its shard is closing (the close waits
    for a running merge: a merge that ran to its end delayed a node's shutdown by its length)."""


class StorageError(IndexEngineError):
    opensearch_type = "translog_exception"


class CorruptedLogError(StorageError):
    opensearch_type = "translog_corrupted_exception"


class CorruptedIndexError(StorageError):
    opensearch_type = "corrupt_index_exception"
