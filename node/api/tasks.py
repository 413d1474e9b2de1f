"""The ``_tasks`` API and running a long request as a task.

Owns the routes ``POST /{_reindex,_update_by_query,_delete_by_query}/{task_id}/_rethrottle``,
``GET /_tasks`` (``nodes``, ``actions``, ``detailed``, ``parent_task_id``,
``group_by`` nodes|parents|none, ``wait_for_completion``, ``timeout``), ``GET /_tasks/{task_id}``
(``wait_for_completion``, ``timeout``), ``POST /_tasks/_cancel`` and ``POST /_tasks/{task_id}/_cancel``
(``nodes``, ``actions``, ``parent_task_id``, ``wait_for_completion``), the node-to-node methods
``tasks/list``, ``tasks/get``, ``tasks/cancel``, ``tasks/rethrottle`` that ask another node about its own tasks, and
``respond_as_task``, which node/api/reindex.py and node/api/search.py run _reindex,
_update_by_query and _delete_by_query through.

A task runs on the node that received the request and its id names that node
(``"<node_id>:<n>"``): any node answers for any task by asking the named node over the transport;
a task id whose node has left the cluster is a 404 ``resource_not_found_exception`` "task [x]
isn't running and hasn't stored its results", as OpenSearch answers when the ``.tasks`` index
has nothing either. Results of ``wait_for_completion=false`` tasks are kept in the node's memory
(node/coordination/tasks.py, ADR 0345) and, as OpenSearch keeps them, in the hidden ``.tasks``
index (created on first use with ``auto_expand_replicas: 0-1``; one document per task id, written
before the task counts as finished), so ``GET _tasks/{id}`` still answers after the node restarted
or left (ADR 0375).

Must never: stop a task's work from outside it (cancellation sets a flag the task reads between
batches), let a background task's failure reach the node's nursery (it becomes the task's
``error``), or wait on another node without a deadline.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

import trio
from quart import request

import orjson

from node.api import params, respond
from node.coordination.tasks import (CANCELLED_BY_USER, DELETE_BY_QUERY_ACTION, LIST_TASKS_ACTION,
                                     LIST_TASKS_NODE_ACTION, REINDEX_ACTION, UPDATE_BY_QUERY_ACTION,
                                     MalformedTaskIdError, Task, TaskId, TaskRegistry, actions_match, task_info)
from node.coordination.values import parse_boolean, parse_time_seconds
from node.coordination.writes import WriteRequest, execute_writes
from node.logs import get_logger
from node.errors import ApiError, IllegalArgumentError, error_body, error_status

TASKS_EXTENSION_KEY = "quidditch_tasks"
LIST_TRANSPORT_METHOD = "tasks/list"
GET_TRANSPORT_METHOD = "tasks/get"
CANCEL_TRANSPORT_METHOD = "tasks/cancel"
RETHROTTLE_TRANSPORT_METHOD = "tasks/rethrottle"
BY_SCROLL_ACTIONS = (REINDEX_ACTION, UPDATE_BY_QUERY_ACTION, DELETE_BY_QUERY_ACTION)
DEFAULT_WAIT_SECONDS = 30.0          # OpenSearch's default wait for a task's completion
TRANSPORT_MARGIN_SECONDS = 10.0      # a remote wait's reply may take this much past the wait itself
GROUP_BY_VALUES = ("nodes", "parents", "none")
KEPT_HEADERS = ("X-Opaque-Id",)      # OpenSearch copies only these request headers into a task
TASK_RESULTS_INDEX = ".tasks"
TASK_RESULTS_INDEX_BODY = {
    "settings": {"index.hidden": True, "number_of_shards": 1, "auto_expand_replicas": "0-1"},
    # results are read back by id only: nothing in them needs indexing beyond who ran what
    "mappings": {"dynamic": False, "properties": {
        "completed": {"type": "boolean"},
        "task": {"properties": {"node": {"type": "keyword"}, "id": {"type": "long"},
                                "action": {"type": "keyword"}}}}},
}
STORE_RESULT_TIMEOUT_SECONDS = 30.0


def tasks_of(app: Any) -> TaskRegistry:
    return app.extensions[TASKS_EXTENSION_KEY]


def _request_headers() -> dict[str, str]:
    headers: dict[str, str] = {}
    for name in KEPT_HEADERS:
        value = request.headers.get(name)
        if value is not None:
            headers[name] = value
    return headers


# ------------------------------------------------------------------ running requests as tasks

async def respond_as_task(app: Any, services: Any, job: Any, query: dict[str, str]) -> Any:
    """Run a prepared by-scroll job (node/api/reindex.py's ``ByScrollJob``) as a task: while the
    client waits (``wait_for_completion`` true, the default: its answer is the job's), or in the
    node's background nursery (false: the answer is ``{"task": "<node_id>:<n>"}`` and the job's
    response is kept for ``GET _tasks/{id}``). Cancellable either way."""
    registry = tasks_of(app)
    wait = parse_boolean(query.get("wait_for_completion"), "wait_for_completion", True)
    task = registry.register(job.action, job.description, cancellable=True, headers=_request_headers(),
                             status_of=job.progress.status, store_result=not wait)
    job.progress.cancel_reason = lambda: task.cancel_reason
    task.rethrottle = job.progress.rethrottle
    task.wake = job.progress.wake
    if wait:
        try:
            answer, status = await job.run()
        finally:
            registry.unregister(task)
        return respond(answer, status)
    services.context.background.start_soon(_run_in_background, services, registry, task, job.run)
    return respond({"task": str(TaskId(registry.node_id, task.number))})


def start_background_task(app: Any, services: Any, action: str, description: str,
                          run: Callable[[], Awaitable[tuple[dict, int]]]) -> str:
    """Run ``run`` in the node's background nursery as a task that keeps its result (a request's
    ``wait_for_completion=false``), not cancellable; the task's id. ``run`` must not need the
    request context (read parameters before)."""
    registry = tasks_of(app)
    task = registry.register(action, description, cancellable=False, headers=_request_headers(), store_result=True)
    services.context.background.start_soon(_run_in_background, services, registry, task, run)
    return str(TaskId(registry.node_id, task.number))


async def _run_in_background(services: Any, registry: TaskRegistry, task: Task,
                             run: Callable[[], Awaitable[tuple[dict, int]]]) -> None:
    response: dict | None = None
    error: dict | None = None
    try:
        response, _ = await run()
    except Exception as failure:  # noqa: BLE001 — the task's error, as OpenSearch stores it; the node goes on
        from node.api import unwrap

        error = error_body(unwrap(failure))["error"]
        error.pop("root_cause", None)
    finally:
        stored: dict[str, Any] = {"completed": True, "task": task_info(registry.node_id, task, detailed=True)}
        if error is not None:
            stored["error"] = error
        if response is not None:
            stored["response"] = response
        try:
            # stored before the task counts as finished: a client told "completed" can rely on it
            await _store_result(services, str(TaskId(registry.node_id, task.number)), stored)
        finally:
            registry.unregister(task, response, error)


async def _store_result(services: Any, task_id: str, stored: dict) -> None:
    """Write a finished task's result into ``.tasks`` (creating it on first use). A failure is
    logged, not raised: the result stays in the node's memory, as before ADR 0375."""
    try:
        with trio.fail_after(STORE_RESULT_TIMEOUT_SECONDS):
            if TASK_RESULTS_INDEX not in services.state.indices:
                try:
                    await services.create_index(TASK_RESULTS_INDEX, TASK_RESULTS_INDEX_BODY)
                except ApiError as error:
                    if error.opensearch_type != "resource_already_exists_exception":
                        raise
            outcome, = await execute_writes(services, [WriteRequest(
                action="index", index=TASK_RESULTS_INDEX, document_id=task_id, source=orjson.dumps(stored))])
            if outcome.status >= 300:
                raise ApiError(f"storing the result of task [{task_id}] answered {outcome.body}",
                               status=outcome.status)
    except Exception:  # noqa: BLE001 — the result is still answered from memory; say that .tasks lacks it
        get_logger("api").error("a task result was not stored in .tasks", exc_info=True,
                                extra={"fields": {"task": task_id}})


async def stored_result(services: Any, task_id: TaskId) -> dict | None:
    """The result ``.tasks`` holds for ``task_id``, or None (no such index or document)."""
    from node.api.documents import fetch_document

    index = services.state.indices.get(TASK_RESULTS_INDEX)
    if index is None:
        return None
    answer, source = await fetch_document(services, index, str(task_id), {}, None)
    if not answer.get("found"):
        return None
    return orjson.loads(source)


# ------------------------------------------------------------------ one node's part

async def _wait_for_tasks(tasks: list[Task], timeout_seconds: float) -> bool:
    """Wait until every task has ended; False when the timeout came first."""
    with trio.move_on_after(timeout_seconds):
        for task in tasks:
            await task.finished.wait()
        return True
    return False


def _timeout_error(what: str) -> ApiError:
    return ApiError(f"Timed out waiting for completion of [{what}]", opensearch_type="timeout_exception", status=504)


async def local_list(registry: TaskRegistry, request_payload: dict) -> dict:
    """This node's running tasks matching the request (``actions``, ``parent_task_id``), as
    TaskInfo JSON; the node's part of a list is itself a child task of the list request."""
    actions = list(request_payload.get("actions") or [])
    parent_task_id = request_payload.get("parent_task_id")
    detailed = bool(request_payload.get("detailed"))
    child = registry.register(LIST_TASKS_NODE_ACTION, f"tasks[], actions[{','.join(actions)}], parent[]",
                              parent_task_id=request_payload.get("list_task_id"),
                              headers=request_payload.get("headers") or {})
    try:
        if request_payload.get("wait_for_completion"):
            waited = [task for task in registry.matching(actions, parent_task_id)
                      if task.action not in (LIST_TASKS_ACTION, LIST_TASKS_NODE_ACTION)]
            if not await _wait_for_tasks(waited, float(request_payload.get("timeout_seconds") or DEFAULT_WAIT_SECONDS)):
                return {"failure": error_body(_timeout_error("tasks"))["error"]}
        return {"tasks": [task_info(registry.node_id, task, detailed)
                          for task in registry.matching(actions, parent_task_id)]}
    finally:
        registry.unregister(child)


async def local_get(registry: TaskRegistry, task_id: TaskId, wait: bool, timeout_seconds: float) -> tuple[dict, int]:
    """``GET _tasks/{id}`` for a task of this node: ``(body, status)``."""
    task = registry.running(task_id.number)
    if task is not None:
        if not wait:
            return {"completed": False, "task": task_info(registry.node_id, task, detailed=True)}, 200
        snapshot = task_info(registry.node_id, task, detailed=True)
        with trio.move_on_after(timeout_seconds) as waiting:
            await task.finished.wait()
        if waiting.cancelled_caught:
            error = _timeout_error(str(task_id))
            return error_body(error), error_status(error)
        kept = registry.completed(task_id.number)
        if kept is None:
            # a task that keeps no result: OpenSearch answers with the snapshot taken as it ended
            snapshot["running_time_in_nanos"] = task.running_time_nanos()
            return {"completed": True, "task": snapshot}, 200
        return _completed_body(kept), 200
    kept = registry.completed(task_id.number)
    if kept is not None:
        return _completed_body(kept), 200
    error = _not_stored(task_id)
    return error_body(error), error_status(error)


def _completed_body(kept: Any) -> dict:
    body: dict[str, Any] = {"completed": True, "task": kept.info}
    if kept.error is not None:
        body["error"] = kept.error
    if kept.response is not None:
        body["response"] = kept.response
    return body


def _not_stored(task_id: TaskId) -> ApiError:
    return ApiError(f"task [{task_id}] isn't running and hasn't stored its results",
                    opensearch_type="resource_not_found_exception", status=404)


async def local_cancel(registry: TaskRegistry, request_payload: dict) -> dict:
    """Cancel this node's matching cancellable tasks (or the one named): ``{"tasks": [info]}``, or
    ``{"failure": {...}}`` for a named task that is missing or cannot be cancelled."""
    number = request_payload.get("number")
    reason = request_payload.get("reason") or CANCELLED_BY_USER
    if number is not None:
        task_id = TaskId(registry.node_id, int(number))
        task = registry.running(task_id.number)
        if task is None:
            return {"failure": {"type": "resource_not_found_exception", "reason": f"task [{task_id}] is missing"}}
        if not task.cancellable or not actions_match(list(request_payload.get("actions") or []), task.action):
            return {"failure": {"type": "resource_not_found_exception",
                                "reason": f"task [{task_id}] doesn't support this operation"}}
        tasks = [task]
    else:
        tasks = registry.matching(list(request_payload.get("actions") or []), request_payload.get("parent_task_id"),
                                  cancellable_only=True)
    for task in tasks:
        registry.cancel(task, reason)
    if request_payload.get("wait_for_completion"):
        if not await _wait_for_tasks(tasks, float(request_payload.get("timeout_seconds") or DEFAULT_WAIT_SECONDS)):
            return {"failure": error_body(_timeout_error("cancelled tasks"))["error"]}
    return {"tasks": [task_info(registry.node_id, task, detailed=False) for task in tasks]}


async def local_rethrottle(registry: TaskRegistry, request_payload: dict) -> dict:
    """Give this node's named by-scroll task a new ``requests_per_second`` (None: unlimited):
    ``{"tasks": [detailed info]}``, or ``{"failure": {...}}`` when it is missing or cannot take one."""
    task_id = TaskId(registry.node_id, int(request_payload["number"]))
    task = registry.running(task_id.number)
    if task is None:
        return {"failure": {"type": "resource_not_found_exception", "reason": f"task [{task_id}] is missing"}}
    if task.rethrottle is None or task.action not in BY_SCROLL_ACTIONS:
        return {"failure": {"type": "resource_not_found_exception",
                            "reason": f"task [{task_id}] doesn't support this operation"}}
    task.rethrottle(request_payload.get("requests_per_second"))
    return {"tasks": [task_info(registry.node_id, task, detailed=True)]}


# ------------------------------------------------------------------ the cluster's answer

def _failed_node(node_id: str, cause: dict) -> dict:
    return {"type": "failed_node_exception", "reason": f"Failed node [{node_id}]", "node_id": node_id,
            "caused_by": cause}


def _cause_of(error: BaseException) -> dict:
    from node.api import unwrap

    error = unwrap(error)
    return {"type": getattr(error, "opensearch_type", None) or "exception", "reason": str(error)}


def _node_summary(services: Any, node_id: str) -> dict[str, Any]:
    node = services.state.nodes.get(node_id)
    if node is None:
        return {"name": node_id}
    host = node.http_address.rsplit(":", 1)[0]
    summary: dict[str, Any] = {"name": node.name, "transport_address": node.transport_address, "host": host,
                               "ip": node.transport_address, "roles": sorted(node.roles)}
    if node.attributes:
        summary["attributes"] = dict(node.attributes)
    return summary


def _grouped(services: Any, infos: list[dict], group_by: str, node_failures: list[dict],
             task_failures: list[dict]) -> dict[str, Any]:
    """OpenSearch's ListTasksResponse: failures first, then the tasks by node, by parent or flat."""
    body: dict[str, Any] = {}
    if task_failures:
        body["task_failures"] = task_failures
    if node_failures:
        body["node_failures"] = node_failures
    if group_by == "none":
        body["tasks"] = infos
        return body
    if group_by == "parents":
        by_id = {f"{info['node']}:{info['id']}": {**info} for info in infos}
        roots: dict[str, Any] = {}
        for task_id, info in by_id.items():
            parent = info.get("parent_task_id")
            if parent in by_id:
                by_id[parent].setdefault("children", []).append(info)
            else:
                roots[task_id] = info
        body["tasks"] = roots
        return body
    nodes: dict[str, Any] = {}
    for info in infos:
        entry = nodes.setdefault(info["node"], {**_node_summary(services, info["node"]), "tasks": {}})
        entry["tasks"][f"{info['node']}:{info['id']}"] = info
    body["nodes"] = nodes
    return body


def _selected_nodes(services: Any, node_filter: str | None) -> list[str]:
    from node.api.cluster import selected_node_ids

    return selected_node_ids(services, node_filter)


async def _on_nodes(services: Any, node_ids: list[str], method: str, payload: dict,
                    local: Callable[[dict], Awaitable[dict]],
                    timeout_seconds: float) -> tuple[dict[str, dict], list[dict]]:
    """Each node's answer to ``payload`` (this node's through ``local``), and failed-node entries."""
    context = services.context
    answers: dict[str, dict] = {}
    failures: list[dict] = []

    async def one(node_id: str) -> None:
        try:
            if node_id == context.node_id:
                answers[node_id] = await local(payload)
                return
            node = services.state.nodes.get(node_id)
            if node is None:
                failures.append(_failed_node(node_id, {"type": "no_such_node_exception",
                                                       "reason": f"No such node [{node_id}]"}))
                return
            answer, _ = await context.peers.request(node.transport_address, method, payload, b"", timeout_seconds)
            answers[node_id] = answer
        except Exception as error:  # noqa: BLE001 — reported as that node's failure, as OpenSearch does
            failures.append(_failed_node(node_id, _cause_of(error)))

    async with trio.open_nursery() as nursery:
        for node_id in node_ids:
            nursery.start_soon(one, node_id)
    return answers, failures


def _split_list(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _group_by(query: dict[str, str]) -> str:
    group_by = query.get("group_by") or "nodes"
    if group_by not in GROUP_BY_VALUES:
        raise IllegalArgumentError(f"No enum constant org.opensearch.rest.action.admin.cluster."
                                   f"RestListTasksAction.GroupBy.{group_by.upper()}")
    return group_by


def _wait_seconds(query: dict[str, str]) -> float:
    seconds = parse_time_seconds(query.get("timeout"), "timeout")
    return DEFAULT_WAIT_SECONDS if seconds is None else seconds


def _parse_task_id(text: str) -> TaskId:
    try:
        return TaskId.parse(text)
    except MalformedTaskIdError as error:
        raise IllegalArgumentError(str(error)) from None


async def gather_task_infos(services: Any, registry: TaskRegistry, query: dict[str, str],
                            headers: dict[str, str]) -> tuple[list[dict], list[dict]]:
    """The running tasks of the nodes ``query`` selects (``nodes``, ``actions``,
    ``parent_task_id``, ``detailed``, ``wait_for_completion``, ``timeout``), as TaskInfo JSON in
    node order, and the failed-node entries. The listing itself runs as a task (with one child per
    node), so it lists itself, as OpenSearch does."""
    detailed = parse_boolean(query.get("detailed"), "detailed", False)
    wait = parse_boolean(query.get("wait_for_completion"), "wait_for_completion", False)
    timeout_seconds = _wait_seconds(query)
    node_ids = _selected_nodes(services, query.get("nodes"))
    list_task = registry.register(LIST_TASKS_ACTION, f"tasks[], actions[{query.get('actions', '')}], parent[]",
                                  headers=headers)
    try:
        payload = {"actions": _split_list(query.get("actions")), "parent_task_id": query.get("parent_task_id"),
                   "detailed": detailed, "list_task_id": str(TaskId(registry.node_id, list_task.number)),
                   "headers": headers, "wait_for_completion": wait, "timeout_seconds": timeout_seconds}
        answers, node_failures = await _on_nodes(services, node_ids, LIST_TRANSPORT_METHOD, payload,
                                                 lambda request_payload: local_list(registry, request_payload),
                                                 timeout_seconds + TRANSPORT_MARGIN_SECONDS)
    finally:
        registry.unregister(list_task)
    return _tasks_answered(answers, node_failures), node_failures


def _tasks_answered(answers: dict, node_failures: list) -> list[dict]:
    """The task infos the nodes answered, by node id; a node's failure goes to ``node_failures``."""
    infos: list[dict] = []
    for node_id in sorted(answers):
        answer = answers[node_id]
        if "failure" in answer:
            node_failures.append(_failed_node(node_id, answer["failure"]))
            continue
        infos.extend(answer.get("tasks", []))
    return infos


def register(app: Any, services: Any) -> None:
    context = services.context
    registry = TaskRegistry(context.node_id)
    app.extensions[TASKS_EXTENSION_KEY] = registry

    async def list_handler(payload: dict, body: bytes) -> tuple[dict, bytes]:
        return await local_list(registry, payload), b""

    async def get_handler(payload: dict, body: bytes) -> tuple[dict, bytes]:
        task_id = TaskId(context.node_id, int(payload["number"]))
        answer, status = await local_get(registry, task_id, bool(payload.get("wait_for_completion")),
                                         float(payload.get("timeout_seconds") or DEFAULT_WAIT_SECONDS))
        return {"status": status, "body": answer}, b""

    async def cancel_handler(payload: dict, body: bytes) -> tuple[dict, bytes]:
        return await local_cancel(registry, payload), b""

    async def rethrottle_handler(payload: dict, body: bytes) -> tuple[dict, bytes]:
        return await local_rethrottle(registry, payload), b""

    handlers = getattr(context, "transport_handlers", None)
    if handlers is not None:
        handlers.register(LIST_TRANSPORT_METHOD, list_handler)
        handlers.register(GET_TRANSPORT_METHOD, get_handler)
        handlers.register(CANCEL_TRANSPORT_METHOD, cancel_handler)
        handlers.register(RETHROTTLE_TRANSPORT_METHOD, rethrottle_handler)

    @app.route("/_tasks", methods=["GET"])
    async def list_tasks() -> Any:
        query = params()
        group_by = _group_by(query)
        infos, node_failures = await gather_task_infos(services, registry, query, _request_headers())
        return respond(_grouped(services, infos, group_by, node_failures, []))

    @app.route("/_tasks/<task_id>", methods=["GET"])
    async def get_task(task_id: str) -> Any:
        query = params()
        parsed = _parse_task_id(task_id)
        wait = parse_boolean(query.get("wait_for_completion"), "wait_for_completion", False)
        timeout_seconds = _wait_seconds(query)
        node = services.state.nodes.get(parsed.node_id)
        if parsed.node_id == context.node_id:
            answer, status = await local_get(registry, parsed, wait, timeout_seconds)
        elif node is not None:
            reply, _ = await context.peers.request(
                node.transport_address, GET_TRANSPORT_METHOD,
                {"number": parsed.number, "wait_for_completion": wait, "timeout_seconds": timeout_seconds}, b"",
                timeout_seconds + TRANSPORT_MARGIN_SECONDS)
            answer, status = reply["body"], int(reply["status"])
        else:
            answer, status = None, 404     # the node left: only .tasks can know
        if status == 404:
            # neither running nor in its node's memory (restarted, left): OpenSearch reads .tasks
            stored = await stored_result(services, parsed)
            if stored is not None:
                return respond(stored)
            if answer is None:
                raise _not_stored(parsed)
        return respond(answer, status)

    async def cancel(task_id: str | None = None) -> Any:
        query = params()
        group_by = _group_by(query)
        wait = parse_boolean(query.get("wait_for_completion"), "wait_for_completion", False)
        timeout_seconds = _wait_seconds(query)
        payload: dict[str, Any] = {"actions": _split_list(query.get("actions")),
                                   "parent_task_id": query.get("parent_task_id"), "reason": CANCELLED_BY_USER,
                                   "wait_for_completion": wait, "timeout_seconds": timeout_seconds}
        if task_id is not None:
            parsed = _parse_task_id(task_id)
            payload["number"] = parsed.number
            node_ids = [parsed.node_id]
        else:
            node_ids = _selected_nodes(services, query.get("nodes"))
        answers, node_failures = await _on_nodes(services, node_ids, CANCEL_TRANSPORT_METHOD, payload,
                                                 lambda request_payload: local_cancel(registry, request_payload),
                                                 timeout_seconds + TRANSPORT_MARGIN_SECONDS)
        infos = _tasks_answered(answers, node_failures)
        body = _grouped(services, infos, group_by, node_failures, [])
        if group_by == "nodes":
            body.setdefault("nodes", {})
        return respond(body)

    async def rethrottle(task_id: str) -> Any:
        """``POST /_reindex|_update_by_query|_delete_by_query/{task_id}/_rethrottle``: a running
        by-scroll task's new ``requests_per_second`` (required; -1 = unlimited), as OpenSearch."""
        from node.api.reindex import requests_per_second_of, validate_requests_per_second

        query = params()
        if query.get("requests_per_second") is None:
            raise IllegalArgumentError("requests_per_second is a required parameter")
        validate_requests_per_second(query)
        group_by = _group_by(query)
        parsed = _parse_task_id(task_id)
        payload = {"number": parsed.number, "requests_per_second": requests_per_second_of(query)}
        answers, node_failures = await _on_nodes(services, [parsed.node_id], RETHROTTLE_TRANSPORT_METHOD, payload,
                                                 lambda request_payload: local_rethrottle(registry, request_payload),
                                                 DEFAULT_WAIT_SECONDS)
        infos: list[dict] = []
        for node_id, answer in answers.items():
            if "failure" in answer:
                node_failures.append(_failed_node(node_id, answer["failure"]))
            else:
                infos.extend(answer.get("tasks", []))
        body = _grouped(services, infos, group_by, node_failures, [])
        if group_by == "nodes":
            body.setdefault("nodes", {})
        return respond(body)

    for prefix in ("_reindex", "_update_by_query", "_delete_by_query"):
        app.add_url_rule(f"/{prefix}/<task_id>/_rethrottle", f"rethrottle{prefix}", rethrottle, methods=["POST"])
    app.add_url_rule("/_tasks/_cancel", "cancel_tasks", cancel, methods=["POST"])
    app.add_url_rule("/_tasks/<task_id>/_cancel", "cancel_task", cancel, methods=["POST"])


__all__ = ["CANCEL_TRANSPORT_METHOD", "GET_TRANSPORT_METHOD", "LIST_TRANSPORT_METHOD", "RETHROTTLE_TRANSPORT_METHOD",
           "TASKS_EXTENSION_KEY", "gather_task_infos", "start_background_task", "local_cancel", "local_get", "local_list", "local_rethrottle",
           "register", "respond_as_task", "tasks_of"]
