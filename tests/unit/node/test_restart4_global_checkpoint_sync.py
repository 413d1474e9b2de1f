"""After a burst of writes the primary sends its global checkpoint on its own (ADR 0294): a write
only carries the checkpoint computed BEFORE it, so without the sync every copy — the primary's
own included — stayed one write behind for good, and a copy restarted later rolled that write back
and fetched it again. Two in-process nodes over real shards; time is trio's autojump clock."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from pathlib import Path
from types import SimpleNamespace

import orjson
import trio

from node.coordination import replication as replication_module
from node.coordination.shards import ShardDirector
from node.workers import shard_service
from node.workers.registry import ShardRegistry
from raft import commands as c
from raft.apply import apply
from raft.state import NodeInfo, initial_cluster_state

INDEX_UUID = "gcp-sync-uuid"


def accepted(state, command):
    new_state, outcome = apply(state, command)
    assert outcome.accepted, outcome
    return new_state


def cluster_with_started_primary_and_replica():
    state = accepted(initial_cluster_state("test"), c.BootstrapCluster(cluster_uuid="u"))
    for node_id in ("n1", "n2"):
        state = accepted(state, c.RegisterNode(node=NodeInfo(node_id=node_id, name=node_id,
                                                             http_address=f"{node_id}:9200",
                                                             transport_address=f"{node_id}:9300")))
    state = accepted(state, c.CreateIndex(index_name="logs", index_uuid=INDEX_UUID, creation_date=1,
                                          mappings={"properties": {"n": {"type": "long"}}},
                                          settings={"index": {"number_of_shards": 1, "number_of_replicas": 1}}))
    state = accepted(state, c.AllocateCopy(index_name="logs", shard_number=0, node_id="n1", allocation_id="p",
                                           primary=True))
    state = accepted(state, c.StartCopy(index_name="logs", shard_number=0, allocation_id="p"))
    state = accepted(state, c.AllocateCopy(index_name="logs", shard_number=0, node_id="n2", allocation_id="r",
                                           primary=False))
    return accepted(state, c.StartCopy(index_name="logs", shard_number=0, allocation_id="r"))


class InProcessWorkers:
    def __init__(self, data_directory: Path):
        self.registry = ShardRegistry(data_directory)
        self.calls: list[str] = []

    async def call(self, index_uuid, shard_number, method, payload, body=b"", timeout_seconds=None):
        self.calls.append(method)
        return shard_service.SHARD_METHODS[method](
            self.registry, {**payload, "index_uuid": index_uuid, "shard_number": shard_number}, body)

    def shard(self):
        return self.registry.get(INDEX_UUID, 0)


class Handlers:
    def __init__(self):
        self.methods = {}

    def register(self, method, handler):
        self.methods[method] = handler


class Network:
    def __init__(self):
        self.handlers_by_address = {}
        # while set, every shard/replicate request waits for it (``forward_held`` tells one is waiting)
        self.replication_gate: trio.Event | None = None
        self.forward_held = trio.Event()

    def peers(self):
        network = self

        class Peers:
            async def request(self, address, method, payload, body, timeout_seconds=None, channel=None):
                if method == "shard/replicate" and network.replication_gate is not None:
                    network.forward_held.set()
                    await network.replication_gate.wait()
                return await network.handlers_by_address[address].methods[method](payload, body)

        return Peers()


class Metadata:
    def __init__(self, state):
        self.state = state

    def on_state_applied(self, callback):
        pass

    async def submit(self, command, timeout_seconds=None):
        self.state, outcome = apply(self.state, command)
        return outcome


def start_node(node_id, data_directory, network, metadata, nursery):
    handlers = Handlers()
    network.handlers_by_address[f"{node_id}:9300"] = handlers
    context = SimpleNamespace(node_id=node_id, metadata=metadata, workers=InProcessWorkers(data_directory),
                              peers=network.peers(), transport_handlers=handlers, background=nursery, network=network,
                              logger=logging.getLogger(f"test.restart4.{node_id}"), metrics=None)
    director = ShardDirector(context)
    director.attach()
    director.on_state_applied(None, metadata.state)
    return director


async def opened(director):
    local = director.local[(INDEX_UUID, 0)]
    await local.opened.wait()
    if local.primary:
        await local.writes_allowed.wait()


@asynccontextmanager
async def two_nodes(tmp_path):
    """n1 with the started primary and n2 with its replica, both open; the nodes' background tasks
    are cancelled on the way out."""
    metadata = Metadata(cluster_with_started_primary_and_replica())
    network = Network()
    async with trio.open_nursery() as nursery:
        replica_node = start_node("n2", tmp_path / "n2", network, metadata, nursery)
        primary_node = start_node("n1", tmp_path / "n1", network, metadata, nursery)
        await opened(replica_node)
        await opened(primary_node)
        yield primary_node, replica_node
        nursery.cancel_scope.cancel()


async def replicated_write(director, document_id, value):
    state = director.context.metadata.state
    source = orjson.dumps({"n": value})
    answer, _ = await director.replication.primary_write(
        state.indices["logs"], state.routing_table["logs"][0], write_payload(document_id, source), source)
    assert answer["failed_copies"] == 0, answer
    return answer


def write_payload(document_id, source):
    return {"items": [["index", document_id, {"length": len(source)}]], "mapping_version": 1}


async def test_every_copy_learns_the_final_global_checkpoint_once_writes_stop(tmp_path, autojump_clock):
    async with two_nodes(tmp_path) as (primary_node, replica_node):
        for number in range(3):
            await replicated_write(primary_node, f"doc-{number}", number)
        primary_shard, replica_shard = primary_node.context.workers.shard(), replica_node.context.workers.shard()
        # each write carried the checkpoint computed before it: both copies are one write behind
        assert primary_shard.global_checkpoint == 1 and replica_shard.global_checkpoint == 1
        await trio.sleep(replication_module.GLOBAL_CHECKPOINT_SYNC_DELAY_SECONDS / 2)
        assert replica_shard.global_checkpoint == 1, "no sync while writes may still follow"
        await trio.sleep(replication_module.GLOBAL_CHECKPOINT_SYNC_DELAY_SECONDS * 2)
        assert primary_shard.global_checkpoint == 2 and replica_shard.global_checkpoint == 2
        synced_calls = primary_node.context.workers.calls.count("set_global_checkpoint")
        await trio.sleep(replication_module.GLOBAL_CHECKPOINT_SYNC_DELAY_SECONDS * 5)
        assert primary_node.context.workers.calls.count("set_global_checkpoint") == synced_calls == 1, \
            "nothing new: no second sync"


async def test_writes_that_keep_coming_postpone_the_sync(tmp_path, autojump_clock):
    async with two_nodes(tmp_path) as (primary_node, replica_node):
        for number in range(6):
            await replicated_write(primary_node, f"doc-{number}", number)
            await trio.sleep(replication_module.GLOBAL_CHECKPOINT_SYNC_DELAY_SECONDS / 2)
        assert "set_global_checkpoint" not in primary_node.context.workers.calls
        await trio.sleep(replication_module.GLOBAL_CHECKPOINT_SYNC_DELAY_SECONDS * 2)
        assert replica_node.context.workers.shard().global_checkpoint == 5


async def test_a_node_that_no_longer_holds_the_primary_sends_nothing(tmp_path, autojump_clock):
    async with two_nodes(tmp_path) as (primary_node, replica_node):
        await replicated_write(primary_node, "doc-0", 0)
        await replicated_write(primary_node, "doc-1", 1)
        key = (INDEX_UUID, 0)
        primary_node.local[key] = SimpleNamespace(primary=False, allocation_id="p")   # demoted meanwhile
        assert await primary_node.replication.sync_global_checkpoint(key) is False
        assert replica_node.context.workers.shard().global_checkpoint == 0


async def test_a_lagging_computed_checkpoint_is_corrected_from_what_the_copies_answer(tmp_path, autojump_clock):
    # concurrent writes whose forwards finish out of order leave the per-write minimum behind the
    # true global checkpoint; the sync asks every copy its local checkpoint and sends the minimum
    async with two_nodes(tmp_path) as (primary_node, replica_node):
        for number in range(4):
            await replicated_write(primary_node, f"doc-{number}", number)
        key = (INDEX_UUID, 0)
        primary_node.replication.global_checkpoints[key] = 0          # as if it lagged behind
        assert await primary_node.replication.sync_global_checkpoint(key) is True
        assert primary_node.replication.global_checkpoints[key] == 3
        assert primary_node.context.workers.shard().global_checkpoint == 3
        assert replica_node.context.workers.shard().global_checkpoint == 3


async def test_a_write_whose_caller_is_cancelled_mid_forward_still_reaches_the_replica(tmp_path, autojump_clock):
    # jepsen-lite seed 1861254742 (ADR 0333): the HTTP client timed out while the primary's node
    # was paused, quart-trio cancelled the request's handler when it resumed, and the forward of
    # an operation the primary had applied was cancelled with it: every replica kept a hole
    async with two_nodes(tmp_path) as (primary_node, replica_node):
        network = primary_node.context.network
        network.replication_gate = trio.Event()
        with trio.move_on_after(1.0) as client_gave_up:
            await replicated_write(primary_node, "doc-0", 0)
        assert client_gave_up.cancelled_caught and network.forward_held.is_set()
        network.replication_gate.set()
        await trio.sleep(replication_module.GLOBAL_CHECKPOINT_SYNC_DELAY_SECONDS / 10)   # before any sync
        replica_shard = replica_node.context.workers.shard()
        assert replica_shard.local_checkpoint == 0 and replica_shard.max_seq_no == 0
        assert primary_node.replication.writes_in_flight[(INDEX_UUID, 0)] == 0


async def test_a_write_cancelled_while_the_primary_applies_it_is_still_forwarded(tmp_path, autojump_clock):
    async with two_nodes(tmp_path) as (primary_node, replica_node):
        workers = primary_node.context.workers
        applying, may_apply = trio.Event(), trio.Event()
        unheld_call = workers.call

        async def held_call(index_uuid, shard_number, method, payload, body=b"", timeout_seconds=None):
            if method == "write":
                applying.set()
                await may_apply.wait()
            return await unheld_call(index_uuid, shard_number, method, payload, body, timeout_seconds)

        workers.call = held_call
        async with trio.open_nursery() as client:
            client.start_soon(replicated_write, primary_node, "doc-0", 0)
            await applying.wait()
            client.cancel_scope.cancel()          # the client disconnects while the worker applies
        may_apply.set()
        await trio.sleep(replication_module.GLOBAL_CHECKPOINT_SYNC_DELAY_SECONDS / 10)
        assert replica_node.context.workers.shard().local_checkpoint == 0


async def test_a_started_replica_missing_an_operation_is_caught_up_once_writes_stop(tmp_path, autojump_clock):
    # whatever left the hole, a quiet primary whose copy's local checkpoint stays below its own
    # resends what the copy lacks instead of leaving the global checkpoint stuck for good
    async with two_nodes(tmp_path) as (primary_node, replica_node):
        await replicated_write(primary_node, "doc-0", 0)
        source = orjson.dumps({"n": 1})
        # applied on the primary alone, as when its forward was lost: seq_no 1 never reaches n2
        await primary_node.context.workers.call(INDEX_UUID, 0, "write", {
            **write_payload("doc-1", source), "primary_term": 1, "replicate": True}, source)
        await replicated_write(primary_node, "doc-2", 2)
        replica_shard = replica_node.context.workers.shard()
        assert (replica_shard.local_checkpoint, replica_shard.max_seq_no) == (0, 2), "the hole at seq_no 1"
        await trio.sleep(replication_module.GLOBAL_CHECKPOINT_SYNC_DELAY_SECONDS * 5)
        assert replica_shard.local_checkpoint == 2
        assert replica_shard.global_checkpoint == 2 and primary_node.context.workers.shard().global_checkpoint == 2
