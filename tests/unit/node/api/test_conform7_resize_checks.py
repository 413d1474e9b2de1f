"""``_shrink``/``_split``/``_clone`` checks in OpenSearch's order and with its errors (the
shard-count and routing refusals come before the write-block one), ``max_shard_size`` (shrink
only, OpenSearch 3.0), ``copy_settings=false`` and ``wait_for_completion=false`` (a task)."""

from __future__ import annotations

import pytest
import trio

from node.api.resize import shrink_shard_count_for_size


async def _source(api_node, shards=2, block=True, routing_shards=None):
    settings = {"number_of_shards": shards, "number_of_replicas": 0}
    if routing_shards is not None:
        settings["number_of_routing_shards"] = routing_shards
    status, _ = await api_node.request("PUT", "/src", {"settings": settings})
    assert status == 200
    for number in range(3):
        status, _ = await api_node.request("PUT", f"/src/_doc/{number}?refresh=true", {"foo": f"hello {number}"})
        assert status == 201
    if block:
        status, _ = await api_node.request("PUT", "/src/_settings", {"index.blocks.write": True})
        assert status == 200


@pytest.mark.parametrize("path, body, error_type, reason", [
    ("/src/_clone/dst", {"settings": {"index.number_of_shards": 6}}, "illegal_argument_exception",
     "the number of target shards (6) must be the same as the number of source shards (2)"),
    ("/src/_split/dst", {"settings": {"index.number_of_shards": 4, "index.number_of_routing_shards": 8}},
     "illegal_argument_exception", "cannot provide index.number_of_routing_shards on resize"),
    ("/src/_split/dst", {"settings": {"index.number_of_shards": 6}}, "illegal_state_exception",
     "the number of routing shards [4] must be a multiple of the target shards [6]"),
    ("/src/_shrink/dst", {"settings": {"index.routing_partition_size": 1}}, "illegal_argument_exception",
     "cannot provide a routing partition size value when resizing an index"),
])
async def test_shard_count_and_routing_refusals_come_before_the_missing_write_block(api_node, path, body,
                                                                                   error_type, reason):
    await _source(api_node, block=False, routing_shards=4)
    status, error = await api_node.request("PUT", path, body)
    assert status in (400, 500) and error["error"]["type"] == error_type
    assert error["error"]["reason"] == reason


async def test_a_split_from_one_shard_may_go_to_any_count_and_set_routing_shards(api_node):
    await _source(api_node, shards=1)
    status, answer = await api_node.request("PUT", "/src/_split/dst", {"settings": {
        "index.number_of_shards": 5, "index.number_of_routing_shards": 10, "index.number_of_replicas": 0}})
    assert status == 200 and answer["index"] == "dst"
    for number in range(3):
        status, found = await api_node.request("GET", f"/dst/_doc/{number}")
        assert status == 200 and found["_source"] == {"foo": f"hello {number}"}


def test_max_shard_size_picks_the_lowest_factor_of_the_source_count_that_fits():
    assert shrink_shard_count_for_size(None, 1000, 6) == 1
    assert shrink_shard_count_for_size(10 * 1024 ** 3, 1000, 6) == 1
    assert shrink_shard_count_for_size(300, 1000, 6) == 6           # needs 4: the next factor of 6 is 6
    assert shrink_shard_count_for_size(400, 1000, 6) == 3
    assert shrink_shard_count_for_size(1, 1000, 6) == 6
    assert shrink_shard_count_for_size(100, 0, 6) == 1


async def test_a_shrink_with_max_shard_size_gets_its_shard_count_from_the_source_size(api_node):
    await _source(api_node, shards=3)
    status, answer = await api_node.request("PUT", "/src/_shrink/big", {
        "settings": {"index.number_of_replicas": 0}, "max_shard_size": "10gb"})
    assert status == 200, answer
    status, settings = await api_node.request("GET", "/big/_settings")
    assert settings["big"]["settings"]["index"]["number_of_shards"] == "1"
    status, answer = await api_node.request("PUT", "/src/_shrink/small", {
        "settings": {"index.number_of_replicas": 0}, "max_shard_size": "1b"})
    assert status == 200, answer
    status, settings = await api_node.request("GET", "/small/_settings")
    assert settings["small"]["settings"]["index"]["number_of_shards"] == "3"


@pytest.mark.parametrize("path, body, error_type, reason", [
    ("/src/_split/dst", {"settings": {"index.number_of_shards": 4}, "max_shard_size": "1gb"},
     "illegal_argument_exception", "Unsupported parameter [max_shard_size]"),
    ("/src/_shrink/dst", {"settings": {"index.number_of_shards": 1}, "max_shard_size": "1gb"},
     "illegal_argument_exception", "Cannot set max_shard_size and index.number_of_shards at the same time!"),
    ("/src/_shrink/dst", {"max_shard_size": "0b"}, "action_request_validation_exception",
     "Validation Failed: 1: max_shard_size must be greater than 0;"),
    ("/src/_shrink/dst?copy_settings=false", {}, "illegal_argument_exception",
     "parameter [copy_settings] can not be explicitly set to [false]"),
])
async def test_max_shard_size_and_copy_settings_misuse_is_refused(api_node, path, body, error_type, reason):
    await _source(api_node)
    status, error = await api_node.request("PUT", path, body)
    assert status == 400 and error["error"]["type"] == error_type
    assert error["error"]["reason"] == reason


async def test_a_resize_without_waiting_answers_a_task_that_keeps_its_answer(api_node):
    await _source(api_node, shards=2)
    status, answer = await api_node.request("PUT", "/src/_shrink/dst?wait_for_completion=false",
                                            {"settings": {"index.number_of_replicas": 0}})
    assert status == 200 and set(answer) == {"task"}
    for _ in range(200):
        status, task = await api_node.request("GET", f"/_tasks/{answer['task']}")
        assert status == 200
        if task["completed"]:
            break
        await trio.sleep(0.05)
    assert task["task"]["action"] == "indices:admin/resize"
    assert task["task"]["description"] == "shrink from [src] to [dst]"
    assert task["response"] == {"acknowledged": True, "shards_acknowledged": True, "index": "dst"}
    status, found = await api_node.request("GET", "/dst/_doc/2")
    assert status == 200 and found["_source"] == {"foo": "hello 2"}
