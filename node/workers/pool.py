"""The front's pool of shard worker processes: spawn, route, supervise, restart.

``ShardWorkers.run`` (in the node's nursery) spawns ``worker_count`` processes of
``python -m node.workers.worker_main``, each connected by an AF_UNIX socketpair and speaking the
framed RPC of node/transport. A shard always lives on ``worker_for(uuid, n)``: chosen when the front
first routes it (the worker with the fewest of its index's shards, crc32's pick on ties; ADR 0370)
and kept for the front's lifetime, worker restarts included. A worker that exits unexpectedly is
logged, restarted with back-off, and the ``open_shard`` calls that succeeded on it are replayed in
order so its shards reopen from disk; calls that were in flight fail with WorkerUnavailableError
(their outcome is unknown to the caller, exactly as with a lost node).

This module must never open a shard, parse a payload, or decide what a method does.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import trio

from node.transport.errors import ConnectionClosedError, RequestTimeoutError
from node.transport.framing import FrameStream
from node.transport.rpc import RpcClient
from node.workers.errors import WorkerUnavailableError
from node.workers.spawning import PrespawnedWorker, worker_command, worker_environment

OPEN_SHARD_METHOD = "open_shard"
CLOSE_SHARD_METHOD = "close_shard"
RESTART_BACKOFF_INITIAL_SECONDS = 0.2
RESTART_BACKOFF_MAX_SECONDS = 10.0
WORKER_READY_TIMEOUT_SECONDS = 60.0
SHUTDOWN_GRACE_SECONDS = 20.0


def worker_for_shard(index_uuid: str, shard_number: int, worker_count: int) -> int:
    # crc32, not hash(): str hashes are salted per process and must agree across restarts. The
    # index picks the starting worker and consecutive shards take the next ones, so an index's
    # shards spread over every core (crc32 of "uuid/0" and "uuid/1" always shared their low bit,
    # which put every shard of an index on the same one of two workers).
    return (zlib.crc32(index_uuid.encode()) + shard_number) % worker_count


@dataclass
class WorkerHandle:
    worker_number: int
    client: RpcClient | None = None
    process: Any = None
    ready: trio.Event = field(default_factory=trio.Event)
    starts: int = 0
    crashes: int = 0
    calls: int = 0


@dataclass(frozen=True, slots=True)
class WorkerStatistics:
    worker_number: int
    pid: int | None
    ready: bool
    starts: int
    crashes: int
    calls: int


class AdoptedProcess:
    """A worker ``spawning.prespawn_workers`` started (a ``subprocess.Popen``), awaited and killed
    like the ``trio.Process`` of a worker the pool spawned itself."""

    def __init__(self, popen: subprocess.Popen) -> None:
        self.popen = popen
        self.pid = popen.pid

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()

    async def wait(self) -> int:
        if self.popen.poll() is not None:
            return self.popen.returncode
        try:
            descriptor = os.pidfd_open(self.pid)   # readable once the process exits (Linux 5.3+)
        except (AttributeError, OSError):
            descriptor = None
        if descriptor is None:
            while self.popen.poll() is None:
                await trio.sleep(0.1)
        else:
            try:
                await trio.lowlevel.wait_readable(descriptor)
            finally:
                os.close(descriptor)
        return self.popen.wait()

    def kill(self) -> None:
        self.popen.kill()


class ShardWorkers:
    def __init__(self, worker_count: int, data_directory: Path, secret: bytes, node_name: str,
                 log_level: str, logger: logging.Logger, log_to_file: bool = True,
                 methods_module: str | None = None, extra_environment: dict[str, str] | None = None,
                 metrics: Any = None,
                 ready_timeout_seconds: float = WORKER_READY_TIMEOUT_SECONDS,
                 prespawned: list[PrespawnedWorker] | None = None) -> None:
        if worker_count < 1:
            raise ValueError(f"worker_count: expected at least 1, got {worker_count}")
        self.worker_count = worker_count
        self.data_directory = Path(data_directory)
        self.secret = secret
        self.node_name = node_name
        self.log_level = log_level
        self.logger = logger
        self.log_to_file = log_to_file
        self.methods_module = methods_module      # None: node.workers.shard_service
        self.extra_environment = dict(extra_environment or {})
        self.metrics = metrics
        self.ready_timeout_seconds = ready_timeout_seconds
        self.handles = [WorkerHandle(number) for number in range(worker_count)]
        # (uuid, shard) → the open_shard (payload, body) to replay after a worker restart
        self.opened_shards: dict[tuple[str, int], tuple[dict, bytes]] = {}
        # (uuid, shard) → its worker, chosen when the shard is first routed (``worker_for``), kept
        self.assigned_workers: dict[tuple[str, int], int] = {}
        self.shutting_down = False
        self.cancel_scope: trio.CancelScope | None = None
        self.reopen_hook: Any = None
        # workers run_node started before its own imports (ADR 0292): each handle's first start
        self.prespawned = {worker.worker_number: worker for worker in prespawned or ()
                           if worker.worker_number < worker_count}

    def set_reopen_hook(self, hook: Any) -> None:
        """``await hook(index_uuid, shard_number, recorded_payload, recorded_body)`` before a
        restarted worker reopens a shard: return the (payload, body) to open it with now (the
        current mapping and settings — the recorded ones may be stale), or None to leave it
        closed (its index was deleted meanwhile). Without a hook the recorded call is replayed."""
        self.reopen_hook = hook

    # ------------------------------------------------------------------ routing and calls

    def worker_for(self, index_uuid: str, shard_number: int) -> int:
        worker_number = self.assigned_workers.get((index_uuid, shard_number))
        if worker_number is None:
            worker_number = self._assign_worker(index_uuid, shard_number)
        return worker_number

    def _assign_worker(self, index_uuid: str, shard_number: int) -> int:
        """The worker a shard this front has not routed yet will live on, for the front's lifetime:
        the one holding the fewest of this index's shards here (then the fewest shards), ties
        going to ``worker_for_shard``'s pick and the workers after it. A node holds only some of
        an index's shards (two of three in the three-node bench), and crc32 + shard number put
        shards 0 and 2 on one of two workers, so one worker searched both one after the other
        while the other idled (ADR 0370). On a front routing one index, shards routed in number
        order land exactly where ``worker_for_shard`` puts them. Never reassigned, not even after close_shard: a call
        still queued on the old worker (an open that outlived its timeout) must never meet a
        second open of the same directory on another worker (one lifecycle lock per worker)."""
        preferred = worker_for_shard(index_uuid, shard_number, self.worker_count)
        same_index = [0] * self.worker_count
        every_index = [0] * self.worker_count
        for (assigned_uuid, _), worker_number in self.assigned_workers.items():
            every_index[worker_number] += 1
            if assigned_uuid == index_uuid:
                same_index[worker_number] += 1
        candidates = [(preferred + step) % self.worker_count for step in range(self.worker_count)]
        chosen = min(candidates, key=lambda number: (same_index[number], every_index[number]))
        self.assigned_workers[(index_uuid, shard_number)] = chosen
        return chosen

    async def call(self, index_uuid: str, shard_number: int, method: str, payload: dict,
                   body: bytes = b"", timeout_seconds: float | None = None) -> tuple[dict, bytes]:
        worker_number = self.worker_for(index_uuid, shard_number)
        payload = {**payload, "index_uuid": index_uuid, "shard_number": shard_number}
        result = await self.call_worker(worker_number, method, payload, body, timeout_seconds)
        key = (index_uuid, shard_number)
        if method == OPEN_SHARD_METHOD:
            self.opened_shards[key] = (payload, body)
        elif method == CLOSE_SHARD_METHOD:
            self.opened_shards.pop(key, None)
        return result

    async def broadcast(self, method: str, payload: dict, body: bytes = b"",
                        timeout_seconds: float | None = None) -> list[tuple[dict, bytes]]:
        results: list[Any] = [None] * self.worker_count
        errors: list[BaseException] = []

        async def one(worker_number: int) -> None:
            try:
                results[worker_number] = await self.call_worker(
                    worker_number, method, payload, body, timeout_seconds)
            except Exception as error:  # noqa: BLE001 — re-raised below, first one wins
                errors.append(error)

        async with trio.open_nursery() as nursery:
            for worker_number in range(self.worker_count):
                nursery.start_soon(one, worker_number)
        if errors:
            raise errors[0]
        return results

    async def call_worker(self, worker_number: int, method: str, payload: dict, body: bytes = b"",
                          timeout_seconds: float | None = None) -> tuple[dict, bytes]:
        handle = self.handles[worker_number]
        if self.shutting_down:
            raise WorkerUnavailableError(f"shard worker {worker_number}: the node is shutting down")
        if not handle.ready.is_set():
            wait = WORKER_READY_TIMEOUT_SECONDS if timeout_seconds is None else timeout_seconds
            with trio.move_on_after(wait):
                await handle.ready.wait()
        client = handle.client
        if client is None or not handle.ready.is_set():
            raise WorkerUnavailableError(f"shard worker {worker_number} is not running (restarting)")
        handle.calls += 1
        try:
            return await client.request(method, payload, body, timeout_seconds)
        except RequestTimeoutError as error:
            raise WorkerUnavailableError(f"shard worker {worker_number}: {error}") from None

    def statistics(self) -> list[WorkerStatistics]:
        return [WorkerStatistics(handle.worker_number,
                                 handle.process.pid if handle.process is not None else None,
                                 handle.ready.is_set(), handle.starts, handle.crashes, handle.calls)
                for handle in self.handles]

    # ------------------------------------------------------------------ lifecycle

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Spawn every worker and supervise them until shutdown. Reports started at once (the
        processes boot while the front does its own start-up); ``wait_until_ready`` waits for
        their first answers, and calls wait by themselves."""
        async with trio.open_nursery() as nursery:
            self.cancel_scope = nursery.cancel_scope
            for handle in self.handles:
                nursery.start_soon(self.supervise, handle)
            task_status.started()

    async def wait_until_ready(self) -> None:
        """Every worker answered its first ping; WorkerUnavailableError after the ready timeout."""
        with trio.move_on_after(self.ready_timeout_seconds):
            for handle in self.handles:
                await handle.ready.wait()
        not_ready = [handle.worker_number for handle in self.handles if not handle.ready.is_set()]
        if not_ready:
            raise WorkerUnavailableError(
                f"shard workers {not_ready} did not start within {self.ready_timeout_seconds:.0f}s "
                f"(they crashed {sum(h.crashes for h in self.handles)} times; see their errors above)")

    async def shutdown(self) -> None:
        """Close every shard on every worker (they flush), then end the processes."""
        if self.shutting_down:
            return
        async def close_one(handle: WorkerHandle) -> None:
            if handle.client is not None and handle.ready.is_set():
                try:
                    await handle.client.request("close_all_shards", {}, b"", SHUTDOWN_GRACE_SECONDS)
                except Exception:  # noqa: BLE001 — keep shutting the others down
                    self.logger.warning("worker %s did not close its shards cleanly",
                                        handle.worker_number, exc_info=True)
        async with trio.open_nursery() as nursery:
            for handle in self.handles:
                nursery.start_soon(close_one, handle)
        self.shutting_down = True
        for handle in self.handles:
            if handle.client is not None:
                await handle.client.aclose()  # EOF: the worker's only exit path
        with trio.move_on_after(5):
            for handle in self.handles:
                if handle.process is not None:
                    await handle.process.wait()
        for handle in self.handles:
            if handle.process is not None and handle.process.returncode is None:
                self.logger.warning("worker %s did not exit; killing it", handle.worker_number)
                handle.process.kill()
        if self.cancel_scope is not None:
            self.cancel_scope.cancel()

    def worker_command(self, handle: WorkerHandle, child_fd: int) -> list[str]:
        return worker_command(handle.worker_number, child_fd, self.data_directory, self.node_name, self.log_level,
                              self.log_to_file, self.methods_module)

    async def supervise(self, handle: WorkerHandle) -> None:
        backoff = RESTART_BACKOFF_INITIAL_SECONDS
        while not self.shutting_down:
            prespawned = self.prespawned.pop(handle.worker_number, None)
            if prespawned is not None:
                # started by run_node before the front's imports, its secret already sent
                parent_socket = prespawned.parent_socket
                process: Any = AdoptedProcess(prespawned.process)
                handle.process = process
                handle.starts += 1
            else:
                parent_socket, child_socket = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
                try:
                    process = await trio.lowlevel.open_process(
                        self.worker_command(handle, child_socket.fileno()),
                        stdin=subprocess.PIPE, pass_fds=(child_socket.fileno(),),
                        env=worker_environment(self.extra_environment))
                except OSError as error:
                    # out of processes or memory: keep the node up and try again later
                    parent_socket.close()
                    self.logger.error("cannot spawn a shard worker", extra={"fields": {
                        "worker": handle.worker_number, "error": str(error), "retry_in_seconds": backoff}})
                    await trio.sleep(backoff)
                    backoff = min(backoff * 2, RESTART_BACKOFF_MAX_SECONDS)
                    continue
                finally:
                    child_socket.close()
                handle.process = process
                handle.starts += 1
                try:
                    await process.stdin.send_all(self.secret.hex().encode() + b"\n")
                    await process.stdin.aclose()
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    pass  # it died at once; process.wait() below reports it
            stream = trio.SocketStream(trio.socket.from_stdlib_socket(parent_socket))
            client = RpcClient(FrameStream(stream, self.secret), name=f"shard worker {handle.worker_number}",
                               closed_error=WorkerUnavailableError)
            handle.client = client
            async with trio.open_nursery() as connection_nursery:
                connection_nursery.start_soon(client.run)
                connection_nursery.start_soon(self.bring_up, handle, client)
                await process.wait()
                handle.ready = trio.Event() if handle.ready.is_set() else handle.ready
                self._publish_ready_count()
                connection_nursery.cancel_scope.cancel()
            client.fail_pending(f"worker process exited with code {process.returncode}")
            await client.aclose()
            if self.shutting_down:
                return
            handle.crashes += 1
            if self.metrics is not None:
                self.metrics.worker_restarts.inc()
            self.logger.error("shard worker exited unexpectedly; restarting", extra={"fields": {
                "worker": handle.worker_number, "pid": process.pid, "exit_code": process.returncode,
                "restart_in_seconds": backoff}})
            await trio.sleep(backoff)
            backoff = min(backoff * 2, RESTART_BACKOFF_MAX_SECONDS)

    async def bring_up(self, handle: WorkerHandle, client: RpcClient) -> None:
        """Ping the new worker, replay its shards' open_shard calls, then mark it ready."""
        try:
            await client.request("ping", {}, b"", WORKER_READY_TIMEOUT_SECONDS)
        except (ConnectionClosedError, WorkerUnavailableError, RequestTimeoutError) as error:
            self.logger.error("shard worker did not answer its first ping",
                              extra={"fields": {"worker": handle.worker_number, "error": str(error)}})
            return
        replayed = 0
        for (index_uuid, shard_number), (payload, body) in list(self.opened_shards.items()):
            if self.worker_for(index_uuid, shard_number) != handle.worker_number:
                continue
            try:
                if self.reopen_hook is not None:
                    fresh = await self.reopen_hook(index_uuid, shard_number, payload, body)
                    if fresh is None:
                        self.opened_shards.pop((index_uuid, shard_number), None)
                        continue
                    payload = {**fresh[0], "index_uuid": index_uuid, "shard_number": shard_number}
                    body = fresh[1]
                    self.opened_shards[(index_uuid, shard_number)] = (payload, body)
                await client.request(OPEN_SHARD_METHOD, payload, body)
                replayed += 1
            except Exception as error:  # noqa: BLE001 — one broken shard must not block the rest
                self.logger.error("reopening shard after worker restart failed", extra={"fields": {
                    "worker": handle.worker_number, "index_uuid": index_uuid, "shard": shard_number,
                    "error": f"{type(error).__name__}: {error}"}})
        if handle.starts > 1:
            self.logger.info("shard worker restarted", extra={"fields": {
                "worker": handle.worker_number, "shards_reopened": replayed}})
        handle.ready.set()
        self._publish_ready_count()

    def _publish_ready_count(self) -> None:
        if self.metrics is not None:
            self.metrics.workers_ready.set(sum(1 for handle in self.handles if handle.ready.is_set()))
