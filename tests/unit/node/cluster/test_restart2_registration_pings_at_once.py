"""The master's failure detector pings a node that has just (re)registered at once — not up to a
ping interval later — and wakes the allocation loop when a node's held-copies report first
arrives or changes, so a restarted node's copies are placed without waiting for a tick."""

import logging
from types import SimpleNamespace

import trio

from node.cluster.failure_detector import FailureDetector


class FakeMetadata:
    def __init__(self, nodes):
        self.state = SimpleNamespace(nodes=nodes)
        self.listeners = []

    def status(self):
        return SimpleNamespace(role="leader")

    def on_state_applied(self, listener):
        self.listeners.append(listener)

    def apply(self, nodes):
        previous, self.state = self.state, SimpleNamespace(nodes=nodes)
        for listener in self.listeners:
            listener(previous, self.state)


class AnsweringPeers:
    def __init__(self, held_copies_by_address):
        self.held_copies_by_address = held_copies_by_address
        self.ping_times = []

    async def request(self, address, method, payload, body=b"", timeout_seconds=None, channel="default"):
        self.ping_times.append((address, trio.current_time()))
        return {"node_id": address.replace("addr-", ""),
                "held_copies": self.held_copies_by_address.get(address, [])}, b""


def nodes_named(*names, address_suffix=""):
    return {name: SimpleNamespace(transport_address=f"addr-{name}{address_suffix}") for name in names}


async def test_a_node_that_registers_is_pinged_at_once_not_a_round_later(autojump_clock):
    metadata = FakeMetadata(nodes_named("self", "b"))
    peers = AnsweringPeers({})
    detector = FailureDetector(metadata, peers, "self", logging.getLogger("test"), interval_seconds=5.0)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(detector.run)
        await trio.sleep(1.0)  # the first round (t=0) is done; the next would be at t=5
        registered_at = trio.current_time()
        metadata.apply({**nodes_named("self", "b"), "c": SimpleNamespace(transport_address="addr-c")})
        await trio.sleep(1.0)
        nursery.cancel_scope.cancel()
    pings_of_c = [at for address, at in peers.ping_times if address == "addr-c"]
    assert pings_of_c and pings_of_c[0] - registered_at <= 0.2


async def test_an_applied_state_with_the_same_nodes_does_not_bring_the_next_round_forward(autojump_clock):
    metadata = FakeMetadata(nodes_named("self", "b"))
    peers = AnsweringPeers({})
    detector = FailureDetector(metadata, peers, "self", logging.getLogger("test"), interval_seconds=5.0)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(detector.run)
        await trio.sleep(1.0)
        unchanged_at = trio.current_time()
        metadata.apply(nodes_named("self", "b"))
        await trio.sleep(0.5)
        assert [at for _, at in peers.ping_times if at > unchanged_at] == []  # same nodes: no early round
        restarted_at = trio.current_time()
        metadata.apply({"self": SimpleNamespace(transport_address="addr-self"),
                        "b": SimpleNamespace(transport_address="addr-b")})
        await trio.sleep(0.5)
        nursery.cancel_scope.cancel()
    # b's address is unchanged in that apply too; only a new address counts — see the next apply
    assert [at for _, at in peers.ping_times if at > restarted_at] == []


async def test_a_restarted_node_with_a_new_transport_port_is_pinged_at_once(autojump_clock):
    metadata = FakeMetadata(nodes_named("self", "b"))
    peers = AnsweringPeers({})
    detector = FailureDetector(metadata, peers, "self", logging.getLogger("test"), interval_seconds=5.0)
    async with trio.open_nursery() as nursery:
        nursery.start_soon(detector.run)
        await trio.sleep(1.0)
        restarted_at = trio.current_time()
        metadata.apply({"self": SimpleNamespace(transport_address="addr-self"),
                        "b": SimpleNamespace(transport_address="addr-b:new-port")})
        await trio.sleep(1.0)
        nursery.cancel_scope.cancel()
    pings = [at for address, at in peers.ping_times if address == "addr-b:new-port"]
    assert pings and pings[0] - restarted_at <= 0.2


async def test_a_first_or_changed_held_copies_report_wakes_the_allocation_loop(autojump_clock):
    metadata = FakeMetadata(nodes_named("self", "b"))
    report = [{"index_name": "logs", "shard_number": 0, "allocation_id": "a1"}]
    peers = AnsweringPeers({"addr-b": report})
    detector = FailureDetector(metadata, peers, "self", logging.getLogger("test"))
    wakeups = []
    detector.on_liveness_changed(lambda: wakeups.append(trio.current_time()))
    await detector.ping_everyone()
    assert len(wakeups) == 1
    assert [copy.allocation_id for copy in detector.reported_copies(metadata.state)["b"]] == ["a1"]
    await detector.ping_everyone()
    assert len(wakeups) == 1  # the same report again: no wake-up
    peers.held_copies_by_address["addr-b"] = []
    await detector.ping_everyone()
    assert len(wakeups) == 2
