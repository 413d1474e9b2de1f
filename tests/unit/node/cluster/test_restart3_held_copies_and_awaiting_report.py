"""A restarted node's copies go back to it (ADR 0270): its held-copies record says which shards
hold data of a copy once STARTED there, the report carries it over the wire, and the master's
failure detector lists a node that has (re)registered but not yet answered a ping as awaiting
its report (the allocation decides no move toward it until then)."""

import logging
from types import SimpleNamespace

import orjson
import trio

from node.cluster.failure_detector import FailureDetector
from node.cluster.held_copies import HeldCopies, reported_copies_from_wire
from raft import commands as c
from raft.apply import apply
from raft.state import NodeInfo, initial_cluster_state


def state_with_bench_on(node_ids):
    state = initial_cluster_state("test")
    for node_id in node_ids:
        state, _ = apply(state, c.RegisterNode(node=NodeInfo(
            node_id=node_id, name=node_id, http_address=f"{node_id}:9200", transport_address=f"{node_id}:9300")))
    state, _ = apply(state, c.CreateIndex(index_name="bench", index_uuid="bench-uuid", creation_date=0,
                                          settings={"number_of_shards": "1", "number_of_replicas": "0"}))
    return state


def test_a_copy_counts_as_started_data_only_once_a_state_showed_it_started(tmp_path):
    (tmp_path / "indices" / "bench-uuid" / "0").mkdir(parents=True)
    held = HeldCopies(tmp_path, "n1", logging.getLogger("test"))
    empty = state_with_bench_on(["n1"])
    initializing, _ = apply(empty, c.AllocateCopy(index_name="bench", shard_number=0, node_id="n1",
                                                  allocation_id="a1", primary=True))
    held.on_state_applied(empty, initializing)
    assert [copy.holds_started_data for copy in held.reported_copies(initializing)] == [False]
    started, _ = apply(initializing, c.StartCopy(index_name="bench", shard_number=0, allocation_id="a1"))
    held.on_state_applied(initializing, started)
    assert [copy.holds_started_data for copy in held.reported_copies(started)] == [True]


def test_the_started_mark_survives_a_restart_and_a_new_allocation_id_of_the_same_shard(tmp_path):
    (tmp_path / "indices" / "bench-uuid" / "0").mkdir(parents=True)
    held = HeldCopies(tmp_path, "n1", logging.getLogger("test"))
    empty = state_with_bench_on(["n1"])
    initializing, _ = apply(empty, c.AllocateCopy(index_name="bench", shard_number=0, node_id="n1",
                                                  allocation_id="a1", primary=True))
    started, _ = apply(initializing, c.StartCopy(index_name="bench", shard_number=0, allocation_id="a1"))
    held.on_state_applied(empty, started)
    reopened = HeldCopies(tmp_path, "n1", logging.getLogger("test"))
    assert [(copy.allocation_id, copy.holds_started_data) for copy in reopened.reported_copies(started)] == [("a1", True)]
    failed, _ = apply(started, c.FailCopy(index_name="bench", shard_number=0, allocation_id="a1",
                                          preserve_in_sync=True))
    again, _ = apply(failed, c.AllocateCopy(index_name="bench", shard_number=0, node_id="n1",
                                            allocation_id="a1", primary=True))
    reopened.on_state_applied(failed, again)
    assert [copy.holds_started_data for copy in reopened.reported_copies(again)] == [True]


def test_an_older_held_copies_file_of_bare_allocation_ids_is_read_as_not_started(tmp_path):
    (tmp_path / "indices" / "bench-uuid" / "0").mkdir(parents=True)
    (tmp_path / "held_copies.json").write_bytes(orjson.dumps({"bench-uuid/0": "a1"}))
    held = HeldCopies(tmp_path, "n1", logging.getLogger("test"))
    state = state_with_bench_on(["n1"])
    assert [(copy.allocation_id, copy.holds_started_data) for copy in held.reported_copies(state)] == [("a1", False)]


def test_the_wire_form_carries_the_started_mark_and_an_older_report_without_it_means_false(tmp_path):
    copies = reported_copies_from_wire([
        {"index_name": "bench", "shard_number": 0, "allocation_id": "a1", "holds_started_data": True},
        {"index_name": "bench", "shard_number": 1, "allocation_id": "a2"},
        {"index_name": "bench", "shard_number": 2, "allocation_id": "a3", "holds_started_data": "yes"}])
    assert [copy.holds_started_data for copy in copies] == [True, False, False]


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


class GatedPeers:
    """Answers pings only once ``open`` is set (a node still starting its transport handlers)."""

    def __init__(self):
        self.open = trio.Event()

    async def request(self, address, method, payload, body=b"", timeout_seconds=None, channel="default"):
        await self.open.wait()
        return {"node_id": address.replace("addr-", ""), "held_copies": []}, b""


async def test_a_node_is_awaiting_its_report_until_its_first_ping_answer_even_an_empty_one(autojump_clock):
    metadata = FakeMetadata({"self": SimpleNamespace(transport_address="addr-self"),
                             "b": SimpleNamespace(transport_address="addr-b")})
    peers = GatedPeers()
    detector = FailureDetector(metadata, peers, "self", logging.getLogger("test"), interval_seconds=1.0,
                               ping_timeout_seconds=30.0)
    woken = []
    detector.on_liveness_changed(lambda: woken.append(trio.current_time()))
    async with trio.open_nursery() as nursery:
        nursery.start_soon(detector.run)
        await trio.sleep(0.5)
        assert detector.nodes_awaiting_report(metadata.state) == ("b",)
        peers.open.set()
        await trio.sleep(0.5)
        assert detector.nodes_awaiting_report(metadata.state) == ()
        assert woken, "the first (empty) report must wake the allocation loop"
        # b restarts on a new transport port: its old report no longer counts
        metadata.apply({"self": SimpleNamespace(transport_address="addr-self"),
                        "b": SimpleNamespace(transport_address="addr-b-restarted")})
        assert detector.nodes_awaiting_report(metadata.state) == ("b",)
        nursery.cancel_scope.cancel()
