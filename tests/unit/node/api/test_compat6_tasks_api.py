"""The _tasks API through the in-process node: _reindex, _delete_by_query and _update_by_query
with wait_for_completion=false answer a task id whose result GET _tasks/{id} returns; listing
(group_by nodes/parents/none, actions, detailed, X-Opaque-Id), cancelling (a named task, by
action, a missing one), OpenSearch's errors for malformed and unknown ids, and a cancelled
by-scroll job stopping at the next batch boundary."""

from __future__ import annotations

import re

import orjson
import trio

from node.api.search import coordinator_of
from node.api.reindex import prepare_by_query, prepare_reindex
from node.api.tasks import tasks_of
from node.coordination.services import services_of
from node.coordination.tasks import REINDEX_ACTION

SETTINGS = {"settings": {"number_of_shards": 2, "number_of_replicas": 0}}
TASK_ID = re.compile(r"^node-one:\d+$")


async def _source_index(api_node, count=6, name="src"):
    await api_node.request("PUT", f"/{name}", SETTINGS)
    lines = []
    for number in range(count):
        lines.append({"index": {"_index": name, "_id": str(number)}})
        lines.append({"n": number, "kind": "even" if number % 2 == 0 else "odd"})
    body = b"".join(orjson.dumps(line) + b"\n" for line in lines)
    status, response = await api_node.request("POST", "/_bulk?refresh=true", raw=body,
                                              content_type="application/x-ndjson")
    assert status == 200 and response["errors"] is False


async def _count(api_node, name):
    await api_node.request("POST", f"/{name}/_refresh")
    status, body = await api_node.request("GET", f"/{name}/_count")
    assert status == 200
    return body["count"]


async def test_reindex_without_waiting_answers_a_task_whose_result_get_task_returns(api_node):
    await _source_index(api_node)
    status, body = await api_node.request("POST", "/_reindex?wait_for_completion=false",
                                          {"source": {"index": "src"}, "dest": {"index": "dst"}})
    assert status == 200 and set(body) == {"task"} and TASK_ID.match(body["task"])
    status, result = await api_node.request("GET", f"/_tasks/{body['task']}?wait_for_completion=true")
    assert status == 200 and result["completed"] is True
    assert result["task"]["action"] == REINDEX_ACTION and result["task"]["description"] == "reindex from [src] to [dst]"
    assert result["task"]["status"]["total"] == 6 and result["task"]["status"]["created"] == 6
    assert result["response"]["created"] == 6 and result["response"]["failures"] == []
    assert await _count(api_node, "dst") == 6
    # the kept result is still there for a later look, without waiting
    status, again = await api_node.request("GET", f"/_tasks/{body['task']}")
    assert status == 200 and again["response"]["created"] == 6


async def test_delete_by_query_without_waiting_deletes_in_the_background(api_node):
    await _source_index(api_node)
    status, body = await api_node.request("POST", "/src/_delete_by_query?wait_for_completion=false&scroll_size=2",
                                          {"query": {"term": {"kind": "even"}}})
    assert status == 200 and TASK_ID.match(body["task"]) and "deleted" not in body
    status, result = await api_node.request("GET", f"/_tasks/{body['task']}?wait_for_completion=true&timeout=20s")
    assert status == 200 and result["completed"] is True
    response = result["response"]
    assert response["deleted"] == 3 and response["batches"] == 2 and response["version_conflicts"] == 0
    assert response["failures"] == [] and "updated" not in response
    assert result["task"]["action"] == "indices:data/write/delete/byquery"
    assert await _count(api_node, "src") == 3


async def test_update_by_query_without_waiting_with_and_without_a_script(api_node):
    await _source_index(api_node)
    status, body = await api_node.request("POST", "/src/_update_by_query?wait_for_completion=false&refresh=true", {})
    status, result = await api_node.request("GET", f"/_tasks/{body['task']}?wait_for_completion=true")
    assert result["response"]["updated"] == 6 and result["task"]["action"] == "indices:data/write/update/byquery"
    status, body = await api_node.request("POST", "/src/_update_by_query?wait_for_completion=false&refresh=true", {
        "query": {"term": {"kind": "odd"}}, "script": {"source": "ctx._source.n += 100"}})
    status, result = await api_node.request("GET", f"/_tasks/{body['task']}?wait_for_completion=true")
    assert result["response"]["updated"] == 3
    assert result["task"]["description"].startswith("update-by-query [src] updated with Script{")
    status, search = await api_node.request("POST", "/src/_search", {"query": {"range": {"n": {"gte": 100}}}})
    assert search["hits"]["total"]["value"] == 3


async def test_a_request_refused_before_it_starts_answers_its_error_not_a_task(api_node):
    await _source_index(api_node)
    status, body = await api_node.request("POST", "/_reindex?wait_for_completion=false",
                                          {"source": {"index": "missing"}, "dest": {"index": "dst"}})
    assert status == 404 and body["error"]["type"] == "index_not_found_exception"
    status, body = await api_node.request("POST", "/src/_delete_by_query?wait_for_completion=false",
                                          {"query": {"match_all": {}}, "bogus": 1})
    assert status == 400 and body["error"]["type"] == "parsing_exception"
    status, body = await api_node.request("POST", "/_reindex?wait_for_completion=maybe",
                                          {"source": {"index": "src"}, "dest": {"index": "dst"}})
    assert status == 400


async def test_a_failing_background_task_keeps_its_error(api_node):
    await _source_index(api_node)
    status, body = await api_node.request("POST", "/_reindex?wait_for_completion=false", {
        "source": {"index": "src"}, "dest": {"index": "dst"},
        "script": {"source": "ctx._source.n = ctx._source.missing.length()"}})
    assert status == 200
    status, result = await api_node.request("GET", f"/_tasks/{body['task']}?wait_for_completion=true")
    assert status == 200 and result["completed"] is True and "response" not in result
    assert result["error"]["type"] == "script_exception"


async def test_list_shows_the_list_request_itself_grouped_three_ways(api_node):
    status, body = await api_node.request("GET", "/_tasks")
    assert status == 200
    node = body["nodes"]["node-one"]
    assert node["roles"] and node["name"] == "one"
    actions = sorted(info["action"] for info in node["tasks"].values())
    assert actions == ["cluster:monitor/tasks/lists", "cluster:monitor/tasks/lists[n]"]
    assert all("status" not in info and "description" not in info for info in node["tasks"].values())

    status, body = await api_node.request("GET", "/_tasks?group_by=parents&detailed=true")
    (root_id, root), = body["tasks"].items()
    assert root["action"] == "cluster:monitor/tasks/lists" and root["resource_stats"]["total"]
    assert root["resource_stats"]["thread_info"]
    assert [child["action"] for child in root["children"]] == ["cluster:monitor/tasks/lists[n]"]
    assert root["children"][0]["parent_task_id"] == root_id and "description" in root

    response = await api_node.client.open("/_tasks?actions=cluster:monitor/tasks/lists&group_by=none",
                                          method="GET", headers={"X-Opaque-Id": "That is me"})
    listed = orjson.loads(await response.get_data())
    assert [info["action"] for info in listed["tasks"]] == ["cluster:monitor/tasks/lists"]
    assert listed["tasks"][0]["headers"] == {"X-Opaque-Id": "That is me"}

    status, body = await api_node.request("GET", "/_tasks?group_by=sideways")
    assert status == 400 and body["error"]["type"] == "illegal_argument_exception"


async def test_get_task_errors_as_opensearch_answers_them(api_node):
    status, body = await api_node.request("GET", "/_tasks/foo:1")
    assert status == 404 and body["error"]["type"] == "resource_not_found_exception"
    assert body["error"]["reason"] == "task [foo:1] isn't running and hasn't stored its results"
    status, body = await api_node.request("GET", "/_tasks/node-one:987654")
    assert status == 404 and body["error"]["type"] == "resource_not_found_exception"
    status, body = await api_node.request("GET", "/_tasks/not-a-task-id")
    assert status == 400 and body["error"]["reason"] == "malformed task id not-a-task-id"


async def test_a_running_task_shows_its_status_and_is_cancelled_by_id_or_by_action(api_node):
    registry = tasks_of(api_node.app)
    progress = {"total": 7}
    task = registry.register(REINDEX_ACTION, "reindex from [a] to [b]", cancellable=True,
                             status_of=lambda: dict(progress), store_result=True)
    blocked = registry.register("indices:data/read/search", cancellable=False)
    task_id = f"node-one:{task.number}"

    status, body = await api_node.request("GET", f"/_tasks/{task_id}")
    assert status == 200 and body["completed"] is False and body["task"]["status"] == {"total": 7}
    assert body["task"]["cancellable"] is True and body["task"]["cancelled"] is False

    status, body = await api_node.request("GET", "/_tasks?actions=*reindex&detailed=true")
    listed = body["nodes"]["node-one"]["tasks"]
    assert list(listed) == [task_id] and listed[task_id]["description"] == "reindex from [a] to [b]"

    status, body = await api_node.request("POST", "/_tasks/_cancel?actions=unknown_action")
    assert status == 200 and body == {"nodes": {}}
    status, body = await api_node.request("POST", f"/_tasks/node-one:{blocked.number}/_cancel")
    assert status == 200 and body["nodes"] == {}
    assert body["node_failures"][0]["caused_by"]["reason"] == \
        f"task [node-one:{blocked.number}] doesn't support this operation"
    status, body = await api_node.request("POST", "/_tasks/node-one:999999/_cancel")
    assert body["node_failures"][0]["caused_by"] == {"type": "resource_not_found_exception",
                                                     "reason": "task [node-one:999999] is missing"}

    status, body = await api_node.request("POST", f"/_tasks/{task_id}/_cancel")
    assert status == 200 and body["nodes"]["node-one"]["tasks"][task_id]["cancelled"] is True
    assert task.cancel_reason == "by user request" and blocked.cancel_reason is None

    registry.unregister(task, response={"total": 7, "canceled": "by user request"})
    registry.unregister(blocked)
    status, body = await api_node.request("GET", f"/_tasks/{task_id}")
    assert body["completed"] is True and body["response"]["canceled"] == "by user request"
    assert body["task"]["cancelled"] is True


async def test_cancel_all_matching_cancels_only_cancellable_tasks(api_node):
    registry = tasks_of(api_node.app)
    first = registry.register(REINDEX_ACTION, cancellable=True)
    second = registry.register("indices:data/write/delete/byquery", cancellable=True)
    plain = registry.register("indices:data/write/bulk", cancellable=False)
    status, body = await api_node.request("POST", "/_tasks/_cancel?actions=indices:data/write/*")
    assert sorted(body["nodes"]["node-one"]["tasks"]) == sorted([f"node-one:{first.number}",
                                                                 f"node-one:{second.number}"])
    assert first.cancelled and second.cancelled and not plain.cancelled


async def test_get_task_waits_for_completion_and_times_out_with_a_504(api_node):
    registry = tasks_of(api_node.app)
    task = registry.register(REINDEX_ACTION, cancellable=True, store_result=True)
    status, body = await api_node.request("GET", f"/_tasks/node-one:{task.number}?wait_for_completion=true"
                                                 f"&timeout=50ms")
    assert status == 504 and body["error"]["type"] == "timeout_exception"

    async def finish_soon():
        await trio.sleep(0.05)
        registry.unregister(task, response={"done": True})

    async with trio.open_nursery() as nursery:
        nursery.start_soon(finish_soon)
        status, body = await api_node.request("GET", f"/_tasks/node-one:{task.number}?wait_for_completion=true")
    assert status == 200 and body["completed"] is True and body["response"] == {"done": True}


async def test_a_cancelled_by_scroll_job_stops_at_the_next_batch_boundary(api_node):
    await _source_index(api_node, count=6)
    services = services_of(api_node.app)
    coordinator = coordinator_of(api_node.app)
    job = await prepare_reindex(services, coordinator, {"source": {"index": "src", "size": 1},
                                                        "dest": {"index": "dst"}}, {})
    job.progress.cancel_reason = lambda: "by user request" if job.progress.batches >= 2 else None
    body, status = await job.run()
    assert status == 200 and body["batches"] == 2 and body["total"] == 2 and body["created"] == 2
    assert body["canceled"] == "by user request"
    assert await _count(api_node, "dst") == 2

    job = await prepare_by_query(services, coordinator, "delete", "src", {"query": {"match_all": {}}},
                                 {"scroll_size": "2"})
    job.progress.cancel_reason = lambda: "by user request" if job.progress.batches >= 1 else None
    body, status = await job.run()
    assert body["deleted"] == 2 and body["canceled"] == "by user request"
    assert job.progress.status()["canceled"] == "by user request"
    assert await _count(api_node, "src") == 4


async def test_waiting_reindex_and_by_query_are_listed_cancellable_while_they_run_and_not_kept(api_node):
    await _source_index(api_node)
    registry = tasks_of(api_node.app)
    seen: list[list[str]] = []
    original_register = registry.register

    def spying_register(action, *args, **kwargs):
        task = original_register(action, *args, **kwargs)
        seen.append([running.action for running in registry.matching([], cancellable_only=True)])
        return task

    registry.register = spying_register
    status, body = await api_node.request("POST", "/_reindex", {"source": {"index": "src"}, "dest": {"index": "dst"}})
    assert status == 200 and body["created"] == 6 and "task" not in body
    assert any(REINDEX_ACTION in actions for actions in seen)
    assert registry.matching([REINDEX_ACTION]) == []
    seen.clear()
    status, body = await api_node.request("POST", "/src/_delete_by_query", {"query": {"match_all": {}}})
    assert status == 200 and body["deleted"] == 6
    assert any("indices:data/write/delete/byquery" in actions for actions in seen)   # listed, cancellable
    assert registry.statistics()["completed_kept"] == 0


async def test_cat_tasks_lists_running_tasks_as_a_table(api_node):
    registry = tasks_of(api_node.app)
    task = registry.register(REINDEX_ACTION, "reindex from [a] to [b]", cancellable=True)
    status, text = await api_node.request("GET", "/_cat/tasks?v&detailed")
    assert status == 200
    lines = text.splitlines()
    assert lines[0].split() == ["action", "task_id", "parent_task_id", "type", "start_time", "timestamp",
                                "running_time", "ip", "node", "description"]
    rows = {line.split()[0]: line.split() for line in lines[1:]}
    assert rows[REINDEX_ACTION][1] == f"node-one:{task.number}" and rows[REINDEX_ACTION][2] == "-"
    assert " ".join(rows[REINDEX_ACTION][-5:]) == "reindex from [a] to [b]"
    assert rows["cluster:monitor/tasks/lists[n]"][2].startswith("node-one:")
    status, listed = await api_node.request("GET", "/_cat/tasks?format=json&h=action,running_time")
    assert {row["action"] for row in listed} >= {REINDEX_ACTION, "cluster:monitor/tasks/lists"}
    assert all(re.fullmatch(r"[\d.]+(nanos|micros|ms|s|m|h|d)", row["running_time"]) for row in listed)


def test_time_values_read_as_opensearch_writes_them():
    from node.api.cat import time_value_text

    assert [time_value_text(value) for value in (512, 431_600, 1_200_000, 5_000_000_000, 90 * 10 ** 9)] == \
        ["512nanos", "431.6micros", "1.2ms", "5s", "1.5m"]


async def test_throttle_holds_batches_to_the_rate_and_a_faster_rethrottle_ends_the_wait(autojump_clock):
    from node.api.reindex import ByScrollProgress

    progress = ByScrollProgress()
    progress.requests_per_second = 10.0
    started = trio.current_time()
    await progress.throttle(started, 50)                 # 50 documents at 10 per second: 5 s
    assert trio.current_time() - started == 5.0
    assert progress.status()["throttled_millis"] == 5000 and progress.status()["requests_per_second"] == 10.0

    progress.requests_per_second = 1.0
    started = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(progress.throttle, started, 100)   # 100 s at 1 per second
        await trio.sleep(10)
        assert progress.status()["throttled_until_millis"] == 90000
        progress.rethrottle(0.5)                           # slower: the wait in progress keeps its end
        await trio.sleep(10)
        assert progress.status()["throttled_until_millis"] == 80000
        progress.rethrottle(20.0)                          # faster: 100 docs fit in 5 s, already past
    assert trio.current_time() - started == 20.0
    assert progress.status()["throttled_until_millis"] == 0 and progress.status()["throttled_millis"] == 25000

    progress.rethrottle(None)
    await progress.throttle(trio.current_time(), 1000)     # unlimited: no wait at all
    assert progress.status()["requests_per_second"] == -1.0 and progress.status()["throttled_millis"] == 25000


async def test_a_cancel_wakes_a_task_waiting_out_its_throttle(autojump_clock):
    from node.api.reindex import ByScrollProgress
    from node.coordination.tasks import TaskRegistry

    registry = TaskRegistry("node-one")
    progress = ByScrollProgress()
    progress.requests_per_second = 1.0
    task = registry.register(REINDEX_ACTION, cancellable=True, status_of=progress.status)
    task.wake = progress.wake
    progress.cancel_reason = lambda: task.cancel_reason
    started = trio.current_time()
    async with trio.open_nursery() as nursery:
        nursery.start_soon(progress.throttle, started, 3600)
        await trio.sleep(1)
        registry.cancel(task)
    assert trio.current_time() - started == 1.0 and progress.status()["canceled"] == "by user request"


async def test_rethrottle_reaches_a_running_by_scroll_task_and_refuses_others(api_node):
    registry = tasks_of(api_node.app)
    rates = []
    task = registry.register(REINDEX_ACTION, "reindex from [a] to [b]", cancellable=True,
                             status_of=lambda: {"requests_per_second": rates[-1] if rates else -1.0})
    task.rethrottle = rates.append
    other = registry.register("indices:data/write/bulk")
    status, body = await api_node.request("POST", f"/_reindex/node-one:{task.number}/_rethrottle?requests_per_second=5")
    assert status == 200 and rates == [5.0]
    assert body["nodes"]["node-one"]["tasks"][f"node-one:{task.number}"]["status"] == {"requests_per_second": 5.0}
    status, body = await api_node.request("POST", f"/_update_by_query/node-one:{task.number}/_rethrottle"
                                                  f"?requests_per_second=-1")
    assert status == 200 and rates == [5.0, None]
    status, body = await api_node.request("POST", f"/_delete_by_query/node-one:{task.number}/_rethrottle")
    assert status == 400 and body["error"]["reason"] == "requests_per_second is a required parameter"
    status, body = await api_node.request("POST", f"/_reindex/node-one:{task.number}/_rethrottle?requests_per_second=0")
    assert status == 400 and "must be a float greater than 0" in body["error"]["reason"]
    status, body = await api_node.request("POST", f"/_reindex/node-one:{other.number}/_rethrottle?requests_per_second=1")
    assert status == 200 and body["nodes"] == {}
    assert body["node_failures"][0]["caused_by"]["reason"].endswith("doesn't support this operation")


async def test_a_throttled_reindex_waits_between_batches_for_the_previous_batch(api_node, monkeypatch):
    from node.api.reindex import ByScrollProgress

    waits = []
    original_throttle = ByScrollProgress.throttle

    async def recording_throttle(self, batch_started, batch_size):
        waits.append((self.requests_per_second, batch_size))
        await original_throttle(self, batch_started, batch_size)

    monkeypatch.setattr(ByScrollProgress, "throttle", recording_throttle)
    await _source_index(api_node, count=5)
    status, body = await api_node.request("POST", "/_reindex?requests_per_second=1000", {
        "source": {"index": "src", "size": 2}, "dest": {"index": "dst"}})
    assert status == 200 and body["created"] == 5 and body["batches"] == 3
    assert body["requests_per_second"] == 1000.0
    assert waits == [(1000.0, 2), (1000.0, 2)]       # before the 2nd and 3rd batches, none before the 1st
    waits.clear()
    status, body = await api_node.request("POST", "/src/_delete_by_query?requests_per_second=1000&scroll_size=4",
                                          {"query": {"match_all": {}}})
    assert status == 200 and body["deleted"] == 5 and body["requests_per_second"] == 1000.0
    assert waits == [(1000.0, 4)]                    # a throttled by-query runs the throttling driver


async def test_force_merge_without_waiting_runs_as_a_task_keeping_its_shards_answer(api_node):
    await _source_index(api_node, count=4)
    status, body = await api_node.request("POST", "/src/_forcemerge?wait_for_completion=false&max_num_segments=1")
    assert status == 200 and TASK_ID.match(body["task"])
    status, result = await api_node.request("GET", f"/_tasks/{body['task']}?wait_for_completion=true")
    assert status == 200 and result["completed"] is True
    assert result["response"] == {"_shards": {"total": 2, "successful": 2, "failed": 0}}
    assert result["task"]["action"] == "indices:admin/forcemerge" and result["task"]["cancellable"] is False
    assert result["task"]["description"].startswith("Force-merge indices [src], maxSegments[1]")
    status, body = await api_node.request("POST", "/missing/_forcemerge?wait_for_completion=false")
    assert status == 404
    status, body = await api_node.request("POST", "/src/_forcemerge")
    assert status == 200 and body == {"_shards": {"total": 2, "successful": 2, "failed": 0}}


async def test_by_query_requests_are_validated_as_opensearch_validates_them(api_node):
    await _source_index(api_node, count=2)
    status, body = await api_node.request("POST", "/src/_delete_by_query", {})
    assert status == 400 and body["error"]["reason"] == "Validation Failed: 1: query is missing;"
    status, body = await api_node.request("POST", "/src/_delete_by_query?q=kind:even&refresh=true")
    assert status == 200 and body["deleted"] == 1          # a `q` is a query too
    for path in ("/src/_delete_by_query", "/src/_update_by_query"):
        status, body = await api_node.request("POST", f"{path}?scroll_size=asdf", {"query": {"match_all": {}}})
        assert status == 400 and body["error"]["reason"] == "Failed to parse int parameter [scroll_size] with value [asdf]"
        status, body = await api_node.request("POST", path, {"stored_fields": ["_id"]})
        assert status == 400 and "stored_fields is not supported in this context" in body["error"]["reason"]
    status, body = await api_node.request("POST", "/src/_update_by_query", {"script": "ctx._source.n = 1",
                                                                           "from": 3})
    assert status == 400 and "from is not supported in this context" in body["error"]["reason"]


async def test_update_by_query_over_an_index_without_source_says_so(api_node):
    await api_node.request("PUT", "/nosource", {"mappings": {"_source": {"enabled": False}}})
    await api_node.request("PUT", "/nosource/_doc/1?refresh=true", {"age": 23})
    for body in ({}, {"script": "ctx._source.age = 1"}):
        status, answer = await api_node.request("POST", "/nosource/_update_by_query", body)
        assert status == 400 and answer["error"]["reason"] == "[nosource][1] didn't store _source"


async def test_get_shows_the_fields_a_value_was_dropped_from(api_node):
    await api_node.request("PUT", "/lenient", {"mappings": {"properties": {
        "when": {"type": "date", "ignore_malformed": True}, "tag": {"type": "keyword", "ignore_above": 3}}}})
    await api_node.request("PUT", "/lenient/_doc/1", {"when": "bar", "tag": "long"})
    await api_node.request("PUT", "/lenient/_doc/2", {"when": "2024-01-01", "tag": "ok"})
    status, body = await api_node.request("GET", "/lenient/_doc/1")
    assert status == 200 and body["_ignored"] == ["when", "tag"] and body["_source"] == {"when": "bar", "tag": "long"}
    assert list(body).index("_ignored") < list(body).index("found")
    status, body = await api_node.request("GET", "/lenient/_doc/2")
    assert status == 200 and "_ignored" not in body
    await api_node.request("PUT", "/strict-ish/_doc/1", {"n": 1})
    status, body = await api_node.request("GET", "/strict-ish/_doc/1")
    assert status == 200 and "_ignored" not in body
