"""The node's task registry: what runs on this node as an OpenSearch task, and the results of
finished tasks that asked for theirs to be kept.

Owns ``TaskRegistry`` (one per node, built by node/api/tasks.py), ``Task`` (a running task: its
action, description, a status callback read while it runs, a cancellation flag checked by the
task itself between batches, an event set when it ends), ``TaskId`` (``"<node_id>:<number>"``,
parsed as OpenSearch parses it) and ``task_info`` (OpenSearch's TaskInfo JSON).

Numbers are per node, counting from 1 for each run of the node process. This registry keeps the
newest ``COMPLETED_CAPACITY`` results of tasks started with ``store_result``
(``wait_for_completion=false``) in memory (ADR 0345); node/api/tasks.py also writes each to the
``.tasks`` index, as OpenSearch does, so it outlives the process (ADR 0375).

Must never: stop a task itself (cancellation only sets the flag the task reads at its next batch
boundary), block (no I/O: callers fan out to other nodes), or import index/ (it holds JSON).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable

import trio

COMPLETED_CAPACITY = 1000
CANCELLED_BY_USER = "by user request"
LIST_TASKS_ACTION = "cluster:monitor/tasks/lists"
LIST_TASKS_NODE_ACTION = "cluster:monitor/tasks/lists[n]"
GET_TASK_ACTION = "cluster:monitor/task/get"
CANCEL_TASKS_ACTION = "cluster:admin/tasks/cancel"
REINDEX_ACTION = "indices:data/write/reindex"
UPDATE_BY_QUERY_ACTION = "indices:data/write/update/byquery"
DELETE_BY_QUERY_ACTION = "indices:data/write/delete/byquery"


class MalformedTaskIdError(ValueError):
    """A task id that is not ``<node_id>:<number>``."""


@dataclass(frozen=True, slots=True)
class TaskId:
    node_id: str
    number: int

    def __str__(self) -> str:
        return f"{self.node_id}:{self.number}"

    @classmethod
    def parse(cls, text: str) -> TaskId:
        """OpenSearch's TaskId parsing: exactly one ``:``, a number after it."""
        parts = text.split(":")
        if len(parts) != 2 or not parts[0]:
            raise MalformedTaskIdError(f"malformed task id {text}")
        try:
            number = int(parts[1])
        except ValueError:
            raise MalformedTaskIdError(f"malformed task id {text}") from None
        return cls(parts[0], number)


@dataclass(eq=False)
class Task:
    """A running task. ``status_of`` is read while it runs (``detailed``, ``GET _tasks/{id}``);
    ``cancel_reason`` is set by a cancel and read by the task between batches."""
    number: int
    action: str
    description: str | None
    cancellable: bool
    parent_task_id: str | None
    headers: dict[str, str]
    start_time_millis: int
    start_monotonic_nanos: int
    status_of: Callable[[], dict] | None
    store_result: bool
    cancel_reason: str | None = None
    finished: trio.Event = field(default_factory=trio.Event)
    # set by a task that can take them: a new requests_per_second (None: unlimited), and a wake-up
    # so a task waiting out its throttle sees a cancellation at once
    rethrottle: Callable[[float | None], None] | None = None
    wake: Callable[[], None] | None = None

    @property
    def cancelled(self) -> bool:
        return self.cancel_reason is not None

    def running_time_nanos(self) -> int:
        return time.monotonic_ns() - self.start_monotonic_nanos


@dataclass(frozen=True, slots=True)
class CompletedTask:
    """A finished task's result as ``GET _tasks/{id}`` shows it: the task's info frozen at its
    end, and its response or its error (OpenSearch's exception JSON)."""
    info: dict[str, Any]
    response: dict[str, Any] | None
    error: dict[str, Any] | None


def resource_stats() -> dict[str, Any]:
    """OpenSearch's per-task resource usage. Quidditch does not measure CPU or memory per task
    (tasks are trio tasks sharing the front's one thread), so the usage reads as zero; the shape
    is OpenSearch's so clients that read it keep working (docs/api.md says so)."""
    usage = {"cpu_time_in_nanos": 0, "memory_in_bytes": 0}
    return {"average": dict(usage), "total": dict(usage), "min": dict(usage), "max": dict(usage),
            "thread_info": {"thread_executions": 1, "active_threads": 1}}


def task_info(node_id: str, task: Task, detailed: bool) -> dict[str, Any]:
    """OpenSearch's TaskInfo JSON; ``status`` and ``description`` only when ``detailed``."""
    info: dict[str, Any] = {"node": node_id, "id": task.number, "type": "transport", "action": task.action}
    if detailed:
        if task.status_of is not None:
            info["status"] = task.status_of()
        if task.description is not None:
            info["description"] = task.description
    info.update({"start_time_in_millis": task.start_time_millis, "running_time_in_nanos": task.running_time_nanos(),
                 "cancellable": task.cancellable, "cancelled": task.cancelled})
    if task.parent_task_id is not None:
        info["parent_task_id"] = task.parent_task_id
    info["headers"] = dict(task.headers)
    info["resource_stats"] = resource_stats()
    return info


def simple_match(pattern: str, value: str) -> bool:
    """OpenSearch's Regex.simpleMatch: ``*`` matches any run of characters; nothing else is
    special (action names hold ``[n]``, which fnmatch would read as a character class)."""
    pieces = pattern.split("*")
    if len(pieces) == 1:
        return pattern == value
    if not value.startswith(pieces[0]) or not value.endswith(pieces[-1]):
        return False
    position = len(pieces[0])
    end = len(value) - len(pieces[-1])
    for piece in pieces[1:-1]:
        found = value.find(piece, position, end)
        if found < 0:
            return False
        position = found + len(piece)
    return position <= end


def actions_match(actions: list[str], action: str) -> bool:
    return not actions or any(simple_match(pattern, action) for pattern in actions)


class TaskRegistry:
    """The tasks running on this node and the kept results of finished ones."""

    def __init__(self, node_id: str, completed_capacity: int = COMPLETED_CAPACITY) -> None:
        self.node_id = node_id
        self.completed_capacity = completed_capacity
        self._next_number = 1
        self._running: dict[int, Task] = {}
        self._completed: OrderedDict[int, CompletedTask] = OrderedDict()

    def register(self, action: str, description: str | None = None, cancellable: bool = False,
                 parent_task_id: str | None = None, headers: dict[str, str] | None = None,
                 status_of: Callable[[], dict] | None = None, store_result: bool = False) -> Task:
        task = Task(number=self._next_number, action=action, description=description, cancellable=cancellable,
                    parent_task_id=parent_task_id, headers=dict(headers or {}),
                    start_time_millis=int(time.time() * 1000), start_monotonic_nanos=time.monotonic_ns(),
                    status_of=status_of, store_result=store_result)
        self._next_number += 1
        self._running[task.number] = task
        return task

    def unregister(self, task: Task, response: dict | None = None, error: dict | None = None) -> None:
        """The task ended: it leaves the running set, its result is kept if it asked for that,
        and whoever waits for it wakes."""
        self._running.pop(task.number, None)
        if task.store_result:
            self._completed[task.number] = CompletedTask(info=task_info(self.node_id, task, detailed=True),
                                                         response=response, error=error)
            while len(self._completed) > self.completed_capacity:
                self._completed.popitem(last=False)
        task.finished.set()

    def running(self, number: int) -> Task | None:
        return self._running.get(number)

    def completed(self, number: int) -> CompletedTask | None:
        return self._completed.get(number)

    def matching(self, actions: list[str], parent_task_id: str | None = None,
                 cancellable_only: bool = False) -> list[Task]:
        """Running tasks whose action matches one of ``actions`` (all when empty), in start order."""
        return [task for number, task in sorted(self._running.items())
                if actions_match(actions, task.action)
                and (parent_task_id is None or task.parent_task_id == parent_task_id)
                and (not cancellable_only or task.cancellable)]

    def cancel(self, task: Task, reason: str = CANCELLED_BY_USER) -> None:
        if task.cancel_reason is None:
            task.cancel_reason = reason
            if task.wake is not None:
                task.wake()

    def statistics(self) -> dict[str, int]:
        return {"running": len(self._running), "completed_kept": len(self._completed),
                "next_number": self._next_number}


__all__ = ["CANCELLED_BY_USER", "COMPLETED_CAPACITY", "CompletedTask", "DELETE_BY_QUERY_ACTION",
           "LIST_TASKS_ACTION", "LIST_TASKS_NODE_ACTION", "MalformedTaskIdError", "REINDEX_ACTION", "Task", "TaskId",
           "TaskRegistry", "UPDATE_BY_QUERY_ACTION", "actions_match", "resource_stats", "simple_match", "task_info"]
