"""The one table from every package's errors to OpenSearch error bodies and HTTP status codes.

Owns: ``ApiError`` (errors the API layer raises itself, each with an OpenSearch type and
status), ``STATUS_BY_OPENSEARCH_TYPE`` (the table), and ``error_body`` / ``error_status`` that
translate anything raised below a handler — index/errors.py, raft/errors.py, a rejected raft
``CommandOutcome``, node/cluster, node/workers, node/transport — into

    {"error": {"root_cause": [{...}], "type", "reason", index, index_uuid, shard ...}, "status"}

exactly as OpenSearch shapes it. Handlers never build error bodies by hand; they raise.

    ApiError                              (opensearch_type, status, reason, extra fields)
    ├── IndexNotFoundError                404 index_not_found_exception (index, resource.*)
    ├── IllegalArgumentError              400 illegal_argument_exception
    ├── ActionRequestValidationError      400 action_request_validation_exception
    ├── RequestParsingError               400 parse_exception / json_parse_exception
    ├── RejectedExecutionError            429 rejected_execution_exception (bounded queues)
    ├── UnavailableShardsError            503 unavailable_shards_exception
    └── NotSupportedError                 400 illegal_argument_exception naming what is missing

This module must never import trio, quart or the engine's internals beyond index/errors.py, and
must never decide what an error *means* for a request (retrying, partial results): callers do.
"""

from __future__ import annotations

from typing import Any

import orjson

from index.errors import IndexEngineError

# OpenSearch's RestStatus for each exception type it reports (ExceptionsHelper.status).
STATUS_BY_OPENSEARCH_TYPE: dict[str, int] = {
    "index_not_found_exception": 404,
    "resource_already_exists_exception": 400,
    "invalid_index_name_exception": 400,
    "invalid_alias_name_exception": 400,
    "invalid_type_name_exception": 400,
    "illegal_argument_exception": 400,
    "action_request_validation_exception": 400,
    "mapper_parsing_exception": 400,
    "mapper_exception": 400,
    "strict_dynamic_mapping_exception": 400,
    "parsing_exception": 400,
    "parse_exception": 400,
    "json_parse_exception": 400,
    "x_content_parse_exception": 400,
    "query_shard_exception": 400,
    "script_exception": 400,
    "search_phase_execution_exception": 400,
    "aggregation_execution_exception": 400,
    # OpenSearch's TooManyBucketsException answers SERVICE_UNAVAILABLE (the limit is a cluster-wide
    # protection, not a malformed request); the body carries max_buckets
    "too_many_buckets_exception": 503,
    "version_conflict_engine_exception": 409,
    "document_missing_exception": 404,
    "aliases_not_found_exception": 404,
    "resource_not_found_exception": 404,
    "search_context_missing_exception": 404,
    "shard_not_found_exception": 404,
    "index_closed_exception": 400,
    "stale_mapping_version_exception": 409,
    "rejected_execution_exception": 429,
    "circuit_breaking_exception": 429,
    "content_too_long_exception": 413,
    "cluster_manager_not_discovered_exception": 503,
    "master_not_discovered_exception": 503,
    "process_cluster_event_timeout_exception": 503,
    "unavailable_shards_exception": 503,
    "no_shard_available_action_exception": 503,
    "node_not_connected_exception": 500,
    "timeout_exception": 504,
    "illegal_state_exception": 500,
    "translog_exception": 500,
    "translog_corrupted_exception": 500,
    "corrupt_index_exception": 500,
    "state_machine_exception": 500,
    "exception": 500,
}


# IndexEngineError.details keys that OpenSearch renders in the error object itself
RENDERED_DETAIL_FIELDS: tuple[str, ...] = ("max_buckets",)


class ApiError(Exception):
    """An error the API layer raises itself; ``extra`` fields go into the error object."""

    opensearch_type = "exception"
    status = 500

    def __init__(self, reason: str, *, opensearch_type: str | None = None, status: int | None = None,
                 **extra: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        if opensearch_type is not None:
            self.opensearch_type = opensearch_type
        if status is not None:
            self.status = status
        elif opensearch_type is not None:
            self.status = STATUS_BY_OPENSEARCH_TYPE.get(opensearch_type, 500)
        self.extra = extra


class IndexNotFoundError(ApiError):
    opensearch_type = "index_not_found_exception"
    status = 404

    def __init__(self, index_name: str) -> None:
        super().__init__(f"no such index [{index_name}]", **index_not_found_fields(index_name))


def index_not_found_fields(index_name: str) -> dict[str, Any]:
    return {"index": index_name, "resource.id": index_name, "resource.type": "index_or_alias",
            "index_uuid": "_na_"}


class IllegalArgumentError(ApiError):
    opensearch_type = "illegal_argument_exception"
    status = 400


class ActionRequestValidationError(ApiError):
    opensearch_type = "action_request_validation_exception"
    status = 400

    def __init__(self, *problems: str) -> None:
        listed = "".join(f"{number}: {problem};" for number, problem in enumerate(problems, start=1))
        super().__init__(f"Validation Failed: {listed}")


class RequestParsingError(ApiError):
    opensearch_type = "parse_exception"
    status = 400


class RejectedExecutionError(ApiError):
    opensearch_type = "rejected_execution_exception"
    status = 429


class UnavailableShardsError(ApiError):
    opensearch_type = "unavailable_shards_exception"
    status = 503


class NotSupportedError(ApiError):
    """A real OpenSearch feature this engine does not implement: a clear 400, never a fake 200."""

    opensearch_type = "illegal_argument_exception"
    status = 400


def outcome_error(outcome: Any, **extra: Any) -> ApiError:
    """A rejected raft ``CommandOutcome`` as an ApiError with OpenSearch's type and status."""
    error_type = getattr(outcome, "error_type", None) or "illegal_state_exception"
    reason = getattr(outcome, "reason", None) or f"the {getattr(outcome, 'command_type', 'cluster')} command was rejected"
    if error_type == "index_not_found_exception":
        name = reason.rsplit("[", 1)[-1].rstrip("]") if "[" in reason else ""
        extra = {**index_not_found_fields(name), **extra}
    return ApiError(reason, opensearch_type=error_type, **extra)


# --------------------------------------------------------------------------- translation


def error_status(error: BaseException) -> int:
    if isinstance(error, ApiError):
        return error.status
    opensearch_type = _opensearch_type(error)
    return STATUS_BY_OPENSEARCH_TYPE.get(opensearch_type, 500)


def _opensearch_type(error: BaseException) -> str:
    error_type = getattr(error, "opensearch_type", None)
    if isinstance(error_type, str):
        return error_type
    remote_type = getattr(error, "remote_type", None) or getattr(error, "type", None)
    if isinstance(remote_type, str) and remote_type in STATUS_BY_OPENSEARCH_TYPE:
        return remote_type
    if isinstance(error, (ValueError, TypeError)):
        return "illegal_argument_exception"
    return "exception"


def error_fields(error: BaseException, index_name: str | None = None, index_uuid: str | None = None,
                 shard_number: int | None = None) -> dict[str, Any]:
    """The error object (``type``, ``reason`` and OpenSearch's extra fields) for any exception."""
    reason = getattr(error, "reason", None)
    if not isinstance(reason, str):
        reason = str(error) or type(error).__name__
    fields: dict[str, Any] = {"type": _opensearch_type(error), "reason": reason}
    if isinstance(error, ApiError):
        fields.update(error.extra)
    details = getattr(error, "details", None)
    if isinstance(details, dict):
        # only the detail fields OpenSearch itself puts in the error object
        for name in RENDERED_DETAIL_FIELDS:
            if name in details:
                fields[name] = details[name]
    cause = error_cause(error)
    if cause is not None:
        fields["caused_by"] = cause
    if isinstance(error, IndexEngineError) or shard_number is not None:
        if index_uuid is not None:
            fields.setdefault("index_uuid", index_uuid)
        if shard_number is not None:
            fields.setdefault("shard", str(shard_number))
    if index_name is not None:
        fields.setdefault("index", index_name)
    return fields


def error_cause(error: BaseException) -> dict[str, Any] | None:
    """The ``caused_by`` object OpenSearch nests in an error, from an engine error's details.

    The engine records a cause either as an OpenSearch cause object or, for a value that failed to
    parse, as the underlying message — which OpenSearch reports as an illegal_argument_exception.
    """
    details = getattr(error, "details", None)
    cause = details.get("caused_by") if isinstance(details, dict) else None
    if isinstance(cause, dict):
        return cause
    if isinstance(cause, str) and cause:
        return {"type": "illegal_argument_exception", "reason": cause}
    return None


def error_body(error: BaseException, index_name: str | None = None, index_uuid: str | None = None,
               shard_number: int | None = None) -> dict[str, Any]:
    return error_envelope(error_fields(error, index_name, index_uuid, shard_number), error_status(error))


def error_envelope(fields: dict[str, Any], status: int) -> dict[str, Any]:
    """``{"error": {"root_cause": [...], **fields}, "status"}`` for an error object's fields."""
    # OpenSearch's root_cause lists the failure without its nested cause
    root_cause = {name: value for name, value in fields.items() if name != "caused_by"}
    return {"error": {"root_cause": [root_cause], **fields}, "status": status}


def error_response_bytes(error: BaseException, **context: Any) -> tuple[int, bytes]:
    body = error_body(error, **context)
    return body["status"], orjson.dumps(body)


def item_error(error: BaseException, index_name: str | None, index_uuid: str | None,
               shard_number: int | None) -> dict[str, Any]:
    """The ``error`` object of one bulk item (no root_cause, as OpenSearch's bulk items)."""
    return error_fields(error, index_name, index_uuid, shard_number)


def remote_error_fields(error_type: str, reason: str, index_name: str | None, index_uuid: str | None,
                        shard_number: int | None, caused_by: dict[str, Any] | None = None) -> dict[str, Any]:
    """An error that arrived as (type, reason[, caused_by]) from a worker, shaped like ``item_error``."""
    fields: dict[str, Any] = {"type": error_type, "reason": reason}
    if caused_by:
        fields["caused_by"] = caused_by
    if index_uuid is not None:
        fields["index_uuid"] = index_uuid
    if shard_number is not None:
        fields["shard"] = str(shard_number)
    if index_name is not None:
        fields["index"] = index_name
    return fields
