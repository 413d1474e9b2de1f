"""ClusterMetadata: states from the Raft thread applied in version order; submit outcomes."""

import logging
import threading
from types import SimpleNamespace
from dataclasses import dataclass, replace

import pytest
import trio
import trio.testing

from node.cluster.errors import ClusterStateTimeoutError, ClusterUnavailableError, CommandOutcomeUnknownError
from node.cluster.metadata import ClusterMetadata
from raft.state import initial_cluster_state


@dataclass(frozen=True)
class FakeSubmitResult:
    status: str
    outcome: object
    reason: str = ""


@dataclass(frozen=True)
class FakeOutcome:
    accepted: bool
    state_version: int


class FakeAdapter:
    """Calls listeners and callbacks from a foreign thread, like pysyncobj's tick thread."""

    def __init__(self):
        self.state = initial_cluster_state("test")
        self.listeners = []
        self.submit_behaviour = "commit"

    def on_state_applied(self, listener):
        self.listeners.append(listener)

    def on_status_changed(self, listener):
        self.status_listeners = [listener]

    def status(self):
        return SimpleNamespace(role="leader", leader_address="127.0.0.1:1", raft_term=1,
                               has_quorum=True, is_ready=True)

    def apply_from_thread(self, states):
        def run():
            for state in states:
                self.state = state
                for listener in self.listeners:
                    listener(state, None)
        thread = threading.Thread(target=run)
        thread.start()
        thread.join()

    def submit(self, command, callback, timeout_seconds):
        if self.submit_behaviour == "closed":
            raise RuntimeError("adapter closed")
        if self.submit_behaviour == "silent":
            return  # a callback that never fires (leader change lost it)
        next_state = replace(self.state, version=self.state.version + 1)
        status = {"commit": "committed", "drop": "not_committed", "unknown": "unknown"}[self.submit_behaviour]

        def run():
            if status == "committed":
                self.state = next_state
                for listener in self.listeners:
                    listener(next_state, None)
            callback(FakeSubmitResult(status, FakeOutcome(True, next_state.version) if status == "committed" else None, status))
        threading.Thread(target=run).start()


def versioned(version):
    return replace(initial_cluster_state("test"), version=version)


async def test_states_are_published_in_version_order_and_older_ones_ignored():
    adapter = FakeAdapter()
    metadata = ClusterMetadata(adapter, logging.getLogger("test"))
    seen = []
    metadata.on_state_applied(lambda previous, new: seen.append((previous.version, new.version)))
    async with trio.open_nursery() as nursery:
        await nursery.start(metadata.run)
        await trio.to_thread.run_sync(adapter.apply_from_thread, [versioned(1), versioned(3), versioned(2), versioned(4)])
        state = await metadata.wait_for_version(4, timeout_seconds=30)
        assert state.version == 4
        assert seen == [(0, 0), (0, 1), (1, 3), (3, 4)]
        nursery.cancel_scope.cancel()


async def test_a_failing_listener_does_not_stop_later_listeners_or_states():
    adapter = FakeAdapter()
    metadata = ClusterMetadata(adapter, logging.getLogger("test"))
    seen = []

    def broken(previous, new):
        raise ValueError("listener bug")

    async def async_listener(previous, new):
        seen.append(new.version)

    metadata.on_state_applied(broken)
    metadata.on_state_applied(async_listener)
    async with trio.open_nursery() as nursery:
        await nursery.start(metadata.run)
        await trio.to_thread.run_sync(adapter.apply_from_thread, [versioned(1), versioned(2)])
        await metadata.wait_for_version(2, timeout_seconds=30)
        await trio.testing.wait_all_tasks_blocked()
        assert seen == [0, 1, 2]
        nursery.cancel_scope.cancel()


async def test_submit_returns_the_outcome_after_the_state_is_applied_here():
    adapter = FakeAdapter()
    metadata = ClusterMetadata(adapter, logging.getLogger("test"))
    async with trio.open_nursery() as nursery:
        await nursery.start(metadata.run)
        outcome = await metadata.submit(object(), timeout_seconds=30)
        assert outcome.accepted
        assert metadata.version >= outcome.state_version == 1
        nursery.cancel_scope.cancel()


@pytest.mark.parametrize("behaviour, error", [("drop", ClusterUnavailableError),
                                              ("unknown", CommandOutcomeUnknownError),
                                              ("closed", ClusterUnavailableError)])
async def test_submit_failures_are_typed(behaviour, error):
    adapter = FakeAdapter()
    adapter.submit_behaviour = behaviour
    metadata = ClusterMetadata(adapter, logging.getLogger("test"))
    async with trio.open_nursery() as nursery:
        await nursery.start(metadata.run)
        with pytest.raises(error):
            await metadata.submit(object(), timeout_seconds=30)
        nursery.cancel_scope.cancel()


async def test_a_callback_that_never_fires_becomes_an_unknown_outcome_at_the_deadline(autojump_clock):
    adapter = FakeAdapter()
    adapter.submit_behaviour = "silent"
    metadata = ClusterMetadata(adapter, logging.getLogger("test"))
    async with trio.open_nursery() as nursery:
        await nursery.start(metadata.run)
        with pytest.raises(CommandOutcomeUnknownError, match="may or may not"):
            await metadata.submit(object(), timeout_seconds=3)
        nursery.cancel_scope.cancel()


async def test_waiting_for_a_version_that_never_comes_times_out(autojump_clock):
    adapter = FakeAdapter()
    metadata = ClusterMetadata(adapter, logging.getLogger("test"))
    async with trio.open_nursery() as nursery:
        await nursery.start(metadata.run)
        with pytest.raises(ClusterStateTimeoutError, match="version 5 not applied"):
            await metadata.wait_for_version(5, timeout_seconds=2)
        nursery.cancel_scope.cancel()


async def test_a_state_applied_after_the_applier_task_ended_is_dropped_without_killing_the_node():
    # pysyncobj may still apply a state while the node shuts down: the hand-over runs inside trio's
    # run_sync_soon queue, where an exception (the closed channel) would be a TrioInternalError
    adapter = FakeAdapter()
    metadata = ClusterMetadata(adapter, logging.getLogger("test"))
    async with trio.open_nursery() as nursery:
        await nursery.start(metadata.run)
        nursery.cancel_scope.cancel()
    await trio.to_thread.run_sync(adapter.apply_from_thread, [versioned(7)])
    await trio.testing.wait_all_tasks_blocked()
    await trio.sleep(0.01)
