"""``ClusterMetadata``: the latest applied cluster state, in version order, inside trio.

raft/'s ``ClusterStateMachine`` runs pysyncobj on its own thread and calls our listener there
after each applied command. We never block that thread: the listener only hands the state to
trio with ``token.run_sync_soon`` (FIFO, so order is kept), and one applier task here publishes
states strictly in increasing version and runs the ``on_state_applied`` callbacks one at a time.
``submit`` bridges a command's callback the same way and gives every command a deadline: when
it passes, the outcome is *unknown* (CommandOutcomeUnknownError), never assumed failed.

This module must never decide what a command means, construct the adapter (node/server.py
does it on the main thread, DESIGN §8), or raise into the Raft thread.
"""

from __future__ import annotations

import inspect
import logging
import math
from typing import Any, Callable

import trio

from raft.state import initial_cluster_state
from node.cluster.errors import (
    ClusterStateTimeoutError,
    ClusterUnavailableError,
    CommandOutcomeUnknownError,
)

DEFAULT_SUBMIT_TIMEOUT_SECONDS = 10.0
# extra time beyond the adapter's own deadline before we stop waiting for its callback at all
CALLBACK_GRACE_SECONDS = 5.0
LOCAL_APPLY_WAIT_SECONDS = 5.0

StateCallback = Callable[[Any, Any], Any]


class ClusterMetadata:
    def __init__(self, adapter: Any, logger: logging.Logger, metrics: Any = None) -> None:
        self.adapter = adapter
        self.logger = logger
        self.metrics = metrics
        self._state = adapter.state
        self._callbacks: list[StateCallback] = []
        self._version_waiters: list[tuple[int, trio.Event]] = []
        self._token: trio.lowlevel.TrioToken | None = None

    # ------------------------------------------------------------------ reading

    @property
    def state(self) -> Any:
        """The latest cluster state applied on this node (and seen by every callback)."""
        return self._state

    @property
    def version(self) -> int:
        return self._state.version

    def status(self) -> Any:
        """raft/'s RaftStatus: role, leader, term, readiness."""
        return self.adapter.status()

    @property
    def is_master(self) -> bool:
        return self.adapter.status().role == "leader"

    # ------------------------------------------------------------------ listening

    def on_state_applied(self, callback: StateCallback) -> None:
        """``callback(previous_state, new_state)``; may be async. Called in version order, one at
        a time; an exception is logged and never stops the node or later callbacks."""
        self._callbacks.append(callback)

    async def run(self, task_status: trio.TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """The applier task: lives in the node's nursery for the node's lifetime."""
        self._token = trio.lowlevel.current_trio_token()
        send_channel, receive_channel = trio.open_memory_channel[Any](math.inf)
        token = self._token

        def hand_to_applier(state: Any) -> None:
            # runs inside trio's run_sync_soon queue, where any exception is a TrioInternalError that
            # kills the node: once the applier task has ended (the node is stopping) drop the state
            try:
                send_channel.send_nowait(state)
            except (trio.BrokenResourceError, trio.ClosedResourceError):
                pass

        def from_raft_thread(state: Any, outcome: Any = None) -> None:
            try:
                token.run_sync_soon(hand_to_applier, state)
            except (trio.RunFinishedError, trio.ClosedResourceError):
                pass  # the node is shutting down; nothing left to apply to

        self.adapter.on_state_applied(from_raft_thread)

        def status_from_raft_thread(status: Any) -> None:
            try:
                token.run_sync_soon(self._status_changed, status)
            except trio.RunFinishedError:
                pass

        self.adapter.on_status_changed(status_from_raft_thread)
        self._status_changed(self.adapter.status())
        # states applied between the adapter's start and the registration above
        send_channel.send_nowait(self.adapter.state)
        task_status.started()
        # listeners registered before the node started learn the restored state as a change
        # from the empty state, so shards held since the last run are opened like new ones
        await self._run_callbacks(initial_cluster_state(self._state.cluster_name), self._state)
        async with receive_channel:
            async for state in receive_channel:
                await self._publish(state)

    def _status_changed(self, status: Any) -> None:
        self.logger.info("raft status", extra={"fields": {
            "role": status.role, "leader": status.leader_address, "term": status.raft_term,
            "has_quorum": status.has_quorum, "ready": status.is_ready}})
        if self.metrics is not None:
            self.metrics.raft_term.set(status.raft_term)
            self.metrics.raft_commit_index.set(status.commit_index)
            self.metrics.raft_is_leader.set(1 if status.role == "leader" else 0)

    async def _publish(self, new_state: Any) -> None:
        previous = self._state
        if new_state is previous:
            self._wake_version_waiters()
            return
        if new_state.version < previous.version:
            self.logger.debug("ignoring an older cluster state", extra={"fields": {
                "version": new_state.version, "applied_version": previous.version}})
            return
        if new_state.version == previous.version and new_state == previous:
            return
        self._state = new_state
        if self.metrics is not None:
            self.metrics.cluster_state_version.set(new_state.version)
            self.metrics.set_cluster_shape(new_state, previous)
            self.metrics.raft_commit_index.set(self.adapter.status().commit_index)
        self._wake_version_waiters()
        await self._run_callbacks(previous, new_state)

    async def _run_callbacks(self, previous: Any, new_state: Any) -> None:
        for callback in list(self._callbacks):
            try:
                result = callback(previous, new_state)
                if inspect.isawaitable(result):
                    await result
            except Exception:  # noqa: BLE001 — a listener bug must not stop state application
                self.logger.error("cluster state listener failed", exc_info=True,
                                  extra={"fields": {"version": new_state.version,
                                                    "listener": getattr(callback, "__qualname__", repr(callback))}})

    def _wake_version_waiters(self) -> None:
        version = self._state.version
        still_waiting = []
        for wanted, event in self._version_waiters:
            if wanted <= version:
                event.set()
            else:
                still_waiting.append((wanted, event))
        self._version_waiters = still_waiting

    async def wait_for_version(self, version: int, timeout_seconds: float) -> Any:
        """The applied state once its version is at least ``version``."""
        if self._state.version >= version:
            return self._state
        event = trio.Event()
        waiter = (version, event)
        self._version_waiters.append(waiter)
        try:
            with trio.move_on_after(timeout_seconds):
                await event.wait()
        finally:
            if waiter in self._version_waiters:
                self._version_waiters.remove(waiter)  # timed out or cancelled: do not leak it
        if self._state.version < version:
            raise ClusterStateTimeoutError(
                f"cluster state version {version} not applied within {timeout_seconds}s; "
                f"applied version is {self._state.version}")
        return self._state

    # ------------------------------------------------------------------ writing

    async def submit(self, command: Any, timeout_seconds: float = DEFAULT_SUBMIT_TIMEOUT_SECONDS) -> Any:
        """Replicate ``command`` and return raft/'s CommandOutcome once it is committed and applied
        here (``outcome.accepted`` False is a typed rejection, not an exception)."""
        token = trio.lowlevel.current_trio_token()
        done = trio.Event()
        results: list[Any] = []

        def deliver(result: Any) -> None:
            results.append(result)
            done.set()

        def from_raft_thread(result: Any) -> None:
            try:
                token.run_sync_soon(deliver, result)
            except trio.RunFinishedError:
                pass

        try:
            self.adapter.submit(command, from_raft_thread, timeout_seconds)
        except Exception as error:  # AdapterClosedError and friends: definitely not committed
            self._count("not_committed")
            raise ClusterUnavailableError(f"cannot submit the command: {error}") from None
        with trio.move_on_after(timeout_seconds + CALLBACK_GRACE_SECONDS):
            await done.wait()
        if not results:
            self._count("unknown")
            raise CommandOutcomeUnknownError(
                f"no answer from raft within {timeout_seconds}s; the command may or may not be committed")
        result = results[0]
        if result.status == "committed":
            outcome = result.outcome
            self._count("accepted" if getattr(outcome, "accepted", False) else "rejected")
            if outcome is not None:
                with trio.move_on_after(LOCAL_APPLY_WAIT_SECONDS):
                    await self.wait_for_version(outcome.state_version, LOCAL_APPLY_WAIT_SECONDS)
            return outcome
        if result.status == "not_committed":
            self._count("not_committed")
            raise ClusterUnavailableError(f"the command was not committed: {result.reason}")
        self._count("unknown")
        raise CommandOutcomeUnknownError(f"the command's outcome is unknown: {result.reason}")

    def _count(self, result: str) -> None:
        if self.metrics is not None:
            self.metrics.cluster_commands.labels(result).inc()
