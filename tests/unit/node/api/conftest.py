"""An in-process node for API tests: the real app, raft's real ``apply`` and allocation, the real
shard service — without Raft networking or worker processes.

    api_node      an object with .client (Quart test client), .context, .state, .registry
    request_json  helper: await request_json(client, method, path, body=None) -> (status, json)

FakeMetadata applies commands with raft.apply.apply and then plays master (allocation_batch),
running the on_state_applied callbacks in version order; FakeWorkers runs
node.workers.shard_service methods in threads against a ShardRegistry in tmp_path.
"""

from __future__ import annotations

import inspect
import logging
import uuid
from typing import Any

import orjson
import pytest
import trio

from node.config import NodeConfig
from node.http.app import create_app
from node.http.context import NodeContext
from node.metrics import NodeMetrics
from node.workers import shard_service
from node.workers.registry import ShardRegistry
from raft.allocation import allocation_batch
from raft.apply import apply
from raft.commands import BootstrapCluster, RegisterNode
from raft.state import NodeInfo, initial_cluster_state

NODE_ID = "node-one"


class FakeStatus:
    leader_address = "127.0.0.1:9301"
    role = "leader"
    raft_term = 1
    is_ready = True
    has_quorum = True


class FakeMetadata:
    def __init__(self) -> None:
        self.state = initial_cluster_state("test-cluster")
        self.callbacks: list[Any] = []
        self.lock = trio.Lock()
        self.submitted: list[Any] = []
        self._apply_now(BootstrapCluster(cluster_uuid="cluster-uuid"))
        self._apply_now(RegisterNode(node=NodeInfo(
            node_id=NODE_ID, name="one", http_address="127.0.0.1:9200", transport_address="127.0.0.1:9300",
            raft_address="127.0.0.1:9301", voter=True)))

    def _apply_now(self, command: Any) -> Any:
        self.state, outcome = apply(self.state, command)
        return outcome

    @property
    def version(self) -> int:
        return self.state.version

    def status(self) -> FakeStatus:
        return FakeStatus()

    @property
    def is_master(self) -> bool:
        return True

    def on_state_applied(self, callback: Any) -> None:
        self.callbacks.append(callback)

    async def _publish(self, previous: Any) -> None:
        for callback in self.callbacks:
            result = callback(previous, self.state)
            if inspect.isawaitable(result):
                await result

    async def submit(self, command: Any, timeout_seconds: float = 10.0) -> Any:
        async with self.lock:
            self.submitted.append(command)
            previous = self.state
            outcome = self._apply_now(command)
            if self.state is not previous:
                await self._publish(previous)
            # play master: allocate what the change left unassigned
            previous = self.state
            batch = allocation_batch(self.state, 1, [NODE_ID], lambda: uuid.uuid4().hex)
            if batch is not None:
                self._apply_now(batch)
                if self.state is not previous:
                    await self._publish(previous)
            return outcome

    async def wait_for_version(self, version: int, timeout_seconds: float) -> Any:
        return self.state


class FakeWorkers:
    worker_count = 1

    def __init__(self, registry: ShardRegistry) -> None:
        self.registry = registry
        self.calls: list[tuple[str, str]] = []

    def worker_for(self, index_uuid: str, shard_number: int) -> int:
        return 0

    async def call(self, index_uuid: str, shard_number: int, method: str, payload: dict, body: bytes = b"",
                   timeout_seconds: float | None = None) -> tuple[dict, bytes]:
        self.calls.append((method, index_uuid))
        payload = orjson.loads(orjson.dumps({**payload, "index_uuid": index_uuid, "shard_number": shard_number}))
        function = shard_service.SHARD_METHODS[method]
        result, result_body = await trio.to_thread.run_sync(function, self.registry, payload, bytes(body))
        return orjson.loads(orjson.dumps(result)), result_body


class FakeHandlers:
    def __init__(self) -> None:
        self.handlers: dict[str, Any] = {}

    def register(self, method: str, handler: Any) -> None:
        self.handlers[method] = handler


class ApiNode:
    def __init__(self, app: Any, context: NodeContext, registry: ShardRegistry) -> None:
        self.app = app
        self.client = app.test_client()
        self.context = context
        self.registry = registry

    @property
    def state(self) -> Any:
        return self.context.metadata.state

    async def request(self, method: str, path: str, body: Any = None, raw: bytes | None = None,
                      content_type: str = "application/json") -> tuple[int, Any]:
        data = raw if raw is not None else (None if body is None else orjson.dumps(body))
        headers = {"Content-Type": content_type} if data is not None else {}
        response = await self.client.open(path, method=method, data=data, headers=headers)
        payload = await response.get_data()
        if not payload:
            return response.status_code, None
        content = response.headers.get("Content-Type", "")
        if "json" in content:
            return response.status_code, orjson.loads(payload)
        return response.status_code, payload.decode()

    async def settle(self) -> None:
        """Let the background tasks (shard opens, StartCopy) run."""
        for _ in range(50):
            await trio.sleep(0.01)


@pytest.fixture
async def api_node(tmp_path, nursery):
    config = NodeConfig(node_name="one", workers=1, data_directory=tmp_path)
    registry = ShardRegistry(tmp_path, 0)
    context = NodeContext(
        config=config, node_id=NODE_ID, node_name="one", cluster_name="test-cluster", started_at_millis=0,
        metadata=FakeMetadata(), workers=FakeWorkers(registry), metrics=NodeMetrics(),
        logger=logging.getLogger("test.api"), background=nursery, transport_handlers=FakeHandlers(),
        peers=None)
    app = create_app(context)
    node = ApiNode(app, context, registry)
    yield node
    registry.close_all(logging.getLogger("test.api"), flush=False)
