"""A search's local shards that live on one worker are searched in ONE worker call (ADR 0320):
the answer is the same as with one call per shard — hits, scores, order, totals, aggregations,
failures — a shard that fails inside the call is reported (or retried) on its own, and reader
contexts (scroll, point in time) keep one call per shard."""

from __future__ import annotations

from collections import Counter

import orjson
import pytest

from node.coordination import search as search_coordination

SHARDS = 3


async def load(api_node) -> None:
    status, _ = await api_node.request("PUT", "/books", {
        "settings": {"number_of_shards": SHARDS, "number_of_replicas": 0},
        "mappings": {"properties": {"title": {"type": "text"}, "year": {"type": "integer"}}}})
    assert status == 200
    titles = ["the quick fox", "a lazy dog", "the fox and the dog", "quick quick", "dog days",
              "a fox in the snow", "the end", "quick brown fox jumps", "lazy afternoon", "fox"]
    lines = []
    for number, title in enumerate(titles * 3):
        lines.append(orjson.dumps({"index": {"_index": "books", "_id": str(number)}}))
        lines.append(orjson.dumps({"title": title, "year": 2000 + number % 7}))
    status, _ = await api_node.request("POST", "/_bulk?refresh=true", raw=b"\n".join(lines) + b"\n",
                                       content_type="application/x-ndjson")
    assert status == 200


def without_took(body):
    return {key: value for key, value in body.items() if key != "took"} if isinstance(body, dict) else body


SEARCHES = [
    {"query": {"match": {"title": "fox"}}},
    {"query": {"match": {"title": "quick dog"}}, "size": 3, "from": 2},
    {"query": {"match_all": {}}, "sort": [{"year": "desc"}, "_doc"], "size": 7},
    {"query": {"match": {"title": "the"}}, "size": 60},            # past the window fetch: query then fetch
    {"size": 0, "aggs": {"years": {"terms": {"field": "year"}}}},
    {"query": {"match": {"title": "nothing matches this"}}},
    {"query": {"match": {"title": "fox"}}, "track_total_hits": False, "_source": False},
]


def search_calls(api_node) -> int:
    return sum(1 for method, _ in api_node.context.workers.calls if method == "search_shard")


async def search_both_ways(api_node, monkeypatch, body, path="/books/_search"):
    answers = {}
    for batched in (True, False):
        monkeypatch.setattr(search_coordination, "BATCH_LOCAL_SHARD_CALLS", batched)
        calls_before = search_calls(api_node)
        status, answer = await api_node.request("POST", path, body)
        answers[batched] = (status, without_took(answer), search_calls(api_node) - calls_before)
    return answers


@pytest.mark.parametrize("body", SEARCHES)
async def test_one_call_for_all_shards_of_a_worker_answers_what_one_call_per_shard_answers(
        api_node, monkeypatch, body):
    await load(api_node)
    answers = await search_both_ways(api_node, monkeypatch, body)
    (status, answer, batched_calls), (plain_status, plain_answer, plain_calls) = answers[True], answers[False]
    assert status == plain_status == 200, answer
    assert answer == plain_answer
    assert answer["_shards"] == {"total": SHARDS, "successful": SHARDS, "skipped": 0, "failed": 0}
    # the in-process node has one worker: every shard of the search went in one call
    assert (batched_calls, plain_calls) == (1, SHARDS)


async def test_a_shard_that_fails_inside_the_call_is_reported_alone_as_with_separate_calls(
        api_node, monkeypatch):
    await load(api_node)
    index_uuid = api_node.state.indices["books"].uuid
    closed_shard = api_node.registry.pop(index_uuid, 1)     # the worker no longer hosts shard 1
    try:
        answers = await search_both_ways(api_node, monkeypatch, {"query": {"match": {"title": "fox"}}})
    finally:
        api_node.registry.put(index_uuid, 1, closed_shard)
    (status, answer, _), (plain_status, plain_answer, _) = answers[True], answers[False]
    assert status == plain_status == 200
    assert answer == plain_answer
    assert answer["_shards"]["failed"] == 1 and answer["_shards"]["successful"] == SHARDS - 1
    assert answer["_shards"]["failures"][0]["shard"] == 1
    assert answer["hits"]["hits"], "the other shards' hits are still there"


async def test_every_shard_failing_inside_the_call_is_the_same_search_phase_error(api_node, monkeypatch):
    await load(api_node)
    # sorting on a text field fails on every shard, on its own terms
    answers = await search_both_ways(api_node, monkeypatch, {"sort": [{"title": "asc"}]})
    (status, answer, _), (plain_status, plain_answer, _) = answers[True], answers[False]
    assert status == plain_status == 400
    assert answer == plain_answer
    assert answer["error"]["type"] == "search_phase_execution_exception"


async def test_scroll_and_point_in_time_keep_one_call_per_shard(api_node, monkeypatch):
    await load(api_node)
    monkeypatch.setattr(search_coordination, "BATCH_LOCAL_SHARD_CALLS", True)
    calls_before = search_calls(api_node)
    status, page = await api_node.request("POST", "/books/_search?scroll=1m",
                                          {"size": 4, "sort": ["_doc"], "query": {"match_all": {}}})
    assert status == 200 and len(page["hits"]["hits"]) == 4
    assert search_calls(api_node) - calls_before == SHARDS      # each opens a context on its copy
    calls_before = search_calls(api_node)
    status, page = await api_node.request("POST", "/_search/scroll", {"scroll": "1m", "scroll_id": page["_scroll_id"]})
    assert status == 200 and len(page["hits"]["hits"]) == 4
    assert search_calls(api_node) - calls_before == SHARDS


async def test_a_top_ten_search_over_one_workers_shards_is_one_worker_call_in_all(api_node, monkeypatch):
    # a small page fetches with its query phase (ADR 0080): no fetch, no release afterwards
    await load(api_node)
    for batched, expected_calls in ((True, [("search_shard", 1)]), (False, [("search_shard", SHARDS)])):
        monkeypatch.setattr(search_coordination, "BATCH_LOCAL_SHARD_CALLS", batched)
        calls_before = len(api_node.context.workers.calls)
        status, answer = await api_node.request("POST", "/books/_search",
                                                {"query": {"match": {"title": "fox"}}, "_source": False})
        assert status == 200 and len(answer["hits"]["hits"]) == 10
        made = [method for method, _ in api_node.context.workers.calls[calls_before:]]
        assert sorted(Counter(made).items()) == expected_calls
