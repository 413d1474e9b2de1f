"""node/errors.py: every package's errors become OpenSearch bodies with the right status."""

from __future__ import annotations

from index.errors import DocumentMissingError, MapperParsingError, VersionConflictError
from node.cluster.errors import ClusterUnavailableError
from node.errors import (
    ActionRequestValidationError, IndexNotFoundError, RejectedExecutionError, error_body, outcome_error,
)
from node.transport.errors import RemoteError
from node.workers.errors import WorkerUnavailableError
from raft.apply import CommandOutcome


def test_engine_errors_carry_their_type_status_and_shard():
    body = error_body(VersionConflictError("[1]: version conflict"), "idx", "uuid-1", 3)
    assert body["status"] == 409
    assert body["error"]["type"] == "version_conflict_engine_exception"
    assert body["error"]["shard"] == "3" and body["error"]["index"] == "idx" and body["error"]["index_uuid"] == "uuid-1"
    assert body["error"]["root_cause"] == [{k: v for k, v in body["error"].items() if k != "root_cause"}]
    assert error_body(DocumentMissingError("missing"))["status"] == 404
    assert error_body(MapperParsingError("bad"))["status"] == 400


def test_index_not_found_has_opensearch_resource_fields():
    body = error_body(IndexNotFoundError("nope"))
    assert body["status"] == 404
    assert body["error"]["reason"] == "no such index [nope]"
    assert body["error"]["resource.id"] == "nope" and body["error"]["index_uuid"] == "_na_"


def test_validation_errors_are_numbered_like_opensearch():
    error = ActionRequestValidationError("index is missing", "id is missing")
    assert error.reason == "Validation Failed: 1: index is missing;2: id is missing;"
    assert error_body(error)["status"] == 400


def test_rejections_and_unavailability_map_to_429_503_and_500():
    assert error_body(RejectedExecutionError("busy"))["status"] == 429
    assert error_body(ClusterUnavailableError("no leader"))["status"] == 503
    assert error_body(WorkerUnavailableError("worker died"))["status"] == 500


def test_a_rejected_raft_outcome_keeps_its_opensearch_type():
    outcome = CommandOutcome(command_id="c", command_type="create_index", accepted=False, state_version=3,
                             error_type="resource_already_exists_exception", reason="index [a/x] already exists")
    body = error_body(outcome_error(outcome, index="a"))
    assert body["status"] == 400 and body["error"]["type"] == "resource_already_exists_exception"
    missing = outcome_error(CommandOutcome(command_id="d", command_type="delete_index", accepted=False,
                                           state_version=3, error_type="index_not_found_exception",
                                           reason="no such index [b]"))
    assert error_body(missing)["status"] == 404 and error_body(missing)["error"]["index"] == "b"


def test_remote_errors_use_their_opensearch_type_and_unknown_errors_are_500():
    assert error_body(RemoteError("KeyError", "x", "illegal_argument_exception"))["status"] == 400
    assert error_body(RuntimeError("boom")) == {
        "error": {"root_cause": [{"type": "exception", "reason": "boom"}], "type": "exception", "reason": "boom"},
        "status": 500}


def test_too_many_buckets_is_a_503_that_names_the_bucket_limit():
    from index.aggregations.render import MAX_BUCKETS, TooManyBucketsError

    body = error_body(TooManyBucketsError("Trying to create too many buckets", max_buckets=MAX_BUCKETS))
    assert body["status"] == 503
    assert body["error"]["type"] == "too_many_buckets_exception"
    assert body["error"]["max_buckets"] == MAX_BUCKETS
    assert body["error"]["root_cause"][0]["max_buckets"] == MAX_BUCKETS


def test_a_malformed_aggregation_is_a_400():
    from index.errors import AggregationError

    body = error_body(AggregationError("[terms] aggregation needs a field"))
    assert body["status"] == 400 and body["error"]["type"] == "illegal_argument_exception"
