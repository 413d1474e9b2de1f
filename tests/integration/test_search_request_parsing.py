"""Pure parts of the search front end, without a node: _msearch NDJSON parsing, keep-alive
limits, and the status rule of search_phase_execution_exception."""

import pytest

from index.errors import QueryShardError
from node.api.search import parse_msearch_body
from node.coordination.search import SearchPhaseExecutionError, ShardFailure, keep_alive_seconds
from node.errors import ApiError, IllegalArgumentError, error_body


def test_msearch_pairs_headers_with_bodies_and_inherits_the_path_index():
    raw = b'{}\n{"query":{"match_all":{}}}\n{"index":"other","preference":"_local"}\n{"size":0}\n'
    items = parse_msearch_body(raw, "default-index", {"rest_total_hits_as_int": "true"})
    assert items[0] == ("default-index", {"query": {"match_all": {}}}, {"rest_total_hits_as_int": "true"})
    assert items[1] == ("other", {"size": 0}, {"rest_total_hits_as_int": "true", "preference": "_local"})


def test_msearch_header_lists_and_booleans_become_parameters():
    raw = b'{"index":["a","b"],"ignore_unavailable":true,"expand_wildcards":["open","closed"]}\n{}\n'
    (index, body, parameters), = parse_msearch_body(raw, None, {})
    assert index == "a,b" and body == {}
    assert parameters == {"ignore_unavailable": "true", "expand_wildcards": "open,closed"}


def test_an_unknown_msearch_header_key_fails_only_that_item():
    items = parse_msearch_body(b'{"bogus":1}\n{}\n{}\n{}\n', None, {})
    assert isinstance(items[0], ApiError) and "bogus" in items[0].reason
    assert items[1] == (None, {}, {})


@pytest.mark.parametrize("raw", [b'{"index":"a"\n{}\n', b'{}\n', b'{}\n{"query":\n'])
def test_malformed_msearch_bodies_fail_the_whole_request(raw):
    with pytest.raises(ApiError) as error:
        parse_msearch_body(raw, None, {})
    assert error.value.status == 400


def test_keep_alives_parse_as_time_values_and_are_capped_at_a_day():
    assert keep_alive_seconds("1m") == 60.0
    assert keep_alive_seconds(None, default=5.0) == 5.0
    with pytest.raises(IllegalArgumentError):
        keep_alive_seconds("2d")
    with pytest.raises(IllegalArgumentError):
        keep_alive_seconds("soon")


def failure(shard_number, error):
    return ShardFailure("books", "uuid", shard_number, "node", error)


def test_all_shards_failing_takes_the_first_failures_status_unless_one_is_a_server_error():
    client_errors = [failure(0, QueryShardError("bad value")), failure(1, QueryShardError("bad value"))]
    assert SearchPhaseExecutionError("query", client_errors).status == 400
    mixed = client_errors + [failure(2, ApiError("disk on fire", opensearch_type="translog_exception"))]
    assert SearchPhaseExecutionError("query", mixed).status == 500


def test_the_error_body_groups_identical_causes_and_lists_failed_shards():
    error = SearchPhaseExecutionError("query", [failure(0, QueryShardError("bad value")),
                                                failure(1, QueryShardError("bad value"))])
    body = error_body(error)
    assert body["status"] == 400
    assert body["error"]["type"] == "search_phase_execution_exception"
    assert body["error"]["reason"] == "all shards failed"
    assert body["error"]["root_cause"] == [{"type": "query_shard_exception", "reason": "bad value",
                                            "index_uuid": "uuid", "index": "books"}]
    assert [shard["shard"] for shard in body["error"]["failed_shards"]] == [0]


from types import SimpleNamespace  # noqa: E402

from node.coordination.search import order_copies  # noqa: E402

COPIES = [SimpleNamespace(node_id="n1", primary=False), SimpleNamespace(node_id="n2", primary=True),
          SimpleNamespace(node_id="n3", primary=False)]


def nodes(copies):
    return [copy.node_id for copy in copies]


@pytest.mark.parametrize("preference, expected", [
    (None, ["n1", "n2", "n3"]),                 # this node's copy, then the primary, then the rest
    ("_local", ["n1", "n2", "n3"]),
    ("_only_local", ["n1"]),
    ("_primary", ["n2"]),
    ("_primary_first", ["n2", "n1", "n3"]),
    ("_replica", ["n1", "n3"]),
    ("_only_nodes:n3,n2", ["n2", "n3"]),
    ("_prefer_nodes:n3", ["n3", "n1", "n2"]),
])
def test_preference_orders_the_copies_a_search_tries(preference, expected):
    assert nodes(order_copies(COPIES, "n1", preference, "uuid", 0)) == expected


def test_a_custom_preference_string_always_picks_the_same_copy_and_spreads_across_shards():
    first = [nodes(order_copies(COPIES, "n1", "session-42", "uuid", shard))[0] for shard in range(30)]
    again = [nodes(order_copies(COPIES, "n1", "session-42", "uuid", shard))[0] for shard in range(30)]
    assert first == again
    assert len(set(first)) > 1


def test_an_unknown_underscore_preference_is_an_illegal_argument():
    with pytest.raises(IllegalArgumentError):
        order_copies(COPIES, "n1", "_nearest", "uuid", 0)
