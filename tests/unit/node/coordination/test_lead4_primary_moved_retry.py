"""A write that reaches a node no longer holding the shard's primary (or a read that reaches a node
holding no copy of it) ran nothing there, so the coordinating node sends it again once its cluster
state catches up (OpenSearch's reroute phase), instead of failing the client's request; other
errors still reach the caller at once."""

import pytest
import trio

from node.cluster.errors import PrimaryMovedError
from node.coordination.shards import ShardDirector
from node.transport.errors import ConnectionClosedError


def director_answering(outcomes):
    """A ShardDirector whose one-shot primary call yields ``outcomes`` in turn (an exception is
    raised); counts the state waits in between."""
    director = ShardDirector.__new__(ShardDirector)
    calls = {"primary": 0, "waits": 0}

    async def call_once(index_name, shard_number, method, payload, body, timeout_seconds):
        outcome = outcomes[calls["primary"]]
        calls["primary"] += 1
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    async def wait_for_state_change(timeout_seconds):
        calls["waits"] += 1
        await trio.sleep(0)

    director._call_primary_once = call_once
    director.wait_for_state_change = wait_for_state_change
    return director, calls


async def test_a_write_that_reached_a_deposed_primary_is_sent_again_to_the_new_one():
    answer = ({"results": []}, b"", "index", "shard")
    director, calls = director_answering([PrimaryMovedError("[i][0] this node no longer holds the primary"),
                                          PrimaryMovedError("[i][0] this node no longer holds the primary"),
                                          answer])
    assert await director.call_primary("i", 0, "write", {}, b"", 5.0) == answer
    assert calls == {"primary": 3, "waits": 2}


async def test_a_read_that_reached_a_node_without_the_copy_is_sent_again_once_the_state_moves_on():
    from node.workers.errors import ShardNotHostedError

    answer = ({"found": True}, b"", "index", "shard")
    director, calls = director_answering([ShardNotHostedError("shard [0] of index uuid [u] is not held by node [n]"),
                                          answer])
    assert await director.call_primary("i", 0, "get", {"id": "d1"}, b"", 5.0) == answer
    assert calls == {"primary": 2, "waits": 1}


async def test_the_retry_stops_at_the_timeout_with_the_primary_moved_error():
    director, calls = director_answering([PrimaryMovedError("moved")] * 1000)
    with pytest.raises(PrimaryMovedError):
        with trio.fail_after(30):
            await director.call_primary("i", 0, "write", {}, b"", 0.0)
    assert calls["primary"] == 1


async def test_a_connection_lost_after_sending_is_not_retried_it_may_have_been_applied():
    director, calls = director_answering([ConnectionClosedError("connection reset while reading the answer")])
    with pytest.raises(ConnectionClosedError):
        await director.call_primary("i", 0, "write", {}, b"", 5.0)
    assert calls == {"primary": 1, "waits": 0}


def test_the_primary_moved_error_renders_as_opensearch_unavailable_shards_503():
    from node.errors import STATUS_BY_OPENSEARCH_TYPE

    assert PrimaryMovedError.opensearch_type == "unavailable_shards_exception"
    assert STATUS_BY_OPENSEARCH_TYPE[PrimaryMovedError.opensearch_type] == 503
