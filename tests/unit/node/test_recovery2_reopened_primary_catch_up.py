"""The divergent in-sync replica jepsen-lite found (convergence/divergent-copies; probe run seed
2040220061, shard jepsen-set…/1: n0 held 461 documents, n1 and n2 462; ADR 0225).

On the copies left on disk, n0's replica lacked exactly seq_no 159 (document "1-99", term 1) and
its local checkpoint was stuck at 158 while it held everything up to 461. The story: a primary
applies and fsyncs a batch BEFORE forwarding it; the nodes were stopped and killed between the
two, so that (never acknowledged) operation was on the primary and on the replica the forward had
reached, not on the third copy. Every node came back before the master failed anything, so every
copy reopened as the same STARTED copy under the same term, and nothing ever sent the operation
again: the replica kept a hole below every later write, for good.

These tests run two in-process "nodes" (a ShardDirector each) over REAL shards in temporary
directories: the worker calls go to node/workers/shard_service.py, the transport calls to the
other node's handlers. The interleaving is chosen by the test, never timed.
"""

import logging
from pathlib import Path
from types import SimpleNamespace

import orjson
import trio

from node.coordination.shards import ShardDirector
from node.metrics import NodeMetrics
from node.workers import shard_service
from node.workers.registry import ShardRegistry
from raft import commands as c
from raft.apply import apply
from raft.state import NodeInfo, initial_cluster_state

INDEX_UUID = "divergent-uuid"
MAPPINGS = {"properties": {"n": {"type": "long"}}}


def accepted(state, command):
    new_state, outcome = apply(state, command)
    assert outcome.accepted, outcome
    return new_state


def cluster_with_started_primary_and_replica():
    """n1 holds the started primary "p" of logs[0], n2 its started in-sync replica "r"."""
    state = accepted(initial_cluster_state("test"), c.BootstrapCluster(cluster_uuid="u"))
    for node_id in ("n1", "n2"):
        state = accepted(state, c.RegisterNode(node=NodeInfo(node_id=node_id, name=node_id,
                                                             http_address=f"{node_id}:9200",
                                                             transport_address=f"{node_id}:9300")))
    state = accepted(state, c.CreateIndex(index_name="logs", index_uuid=INDEX_UUID, creation_date=1, mappings=MAPPINGS,
                                          settings={"index": {"number_of_shards": 1, "number_of_replicas": 1,
                                                              "refresh_interval": "-1"}}))
    state = accepted(state, c.AllocateCopy(index_name="logs", shard_number=0, node_id="n1", allocation_id="p",
                                           primary=True))
    state = accepted(state, c.StartCopy(index_name="logs", shard_number=0, allocation_id="p"))
    state = accepted(state, c.AllocateCopy(index_name="logs", shard_number=0, node_id="n2", allocation_id="r",
                                           primary=False))
    return accepted(state, c.StartCopy(index_name="logs", shard_number=0, allocation_id="r"))


class InProcessWorkers:
    """The node's worker pool, in-process: each call runs the real shard_service method."""

    def __init__(self, data_directory: Path, fail_methods=()):
        self.registry = ShardRegistry(data_directory)
        self.fail_methods = set(fail_methods)

    async def call(self, index_uuid, shard_number, method, payload, body=b"", timeout_seconds=None):
        if method in self.fail_methods:
            raise RuntimeError(f"worker method [{method}] failed (test)")
        return shard_service.SHARD_METHODS[method](
            self.registry, {**payload, "index_uuid": index_uuid, "shard_number": shard_number}, body)

    def shard(self):
        return self.registry.get(INDEX_UUID, 0)

    def crash(self):
        """kill -9: the shard objects are dropped without a flush (the log is what survives)."""
        for shard in list(self.registry.shards.values()):
            shard.close()
        self.registry.shards.clear()


class Handlers:
    def __init__(self):
        self.methods = {}

    def register(self, method, handler):
        self.methods[method] = handler


class Network:
    """Transport between the in-process nodes; a node listed in ``down`` cannot be connected to."""

    def __init__(self):
        self.handlers_by_address = {}
        self.down: set[str] = set()

    def peers_for(self):
        network = self

        class Peers:
            async def request(self, address, method, payload, body, timeout_seconds=None, channel=None):
                if address in network.down:
                    raise ConnectionError(f"cannot connect to {address}")
                return await network.handlers_by_address[address].methods[method](payload, body)

        return Peers()


class RecordingMetadata:
    def __init__(self, state):
        self.state = state
        self.submitted = []

    def on_state_applied(self, callback):
        pass

    async def submit(self, command, timeout_seconds=None):
        self.submitted.append(command)
        self.state, outcome = apply(self.state, command)
        return outcome


def start_node(node_id, data_directory, network, metadata, nursery, fail_methods=(), metrics=None):
    handlers = Handlers()
    network.handlers_by_address[f"{node_id}:9300"] = handlers
    context = SimpleNamespace(node_id=node_id, metadata=metadata, workers=InProcessWorkers(data_directory, fail_methods),
                              peers=network.peers_for(), transport_handlers=handlers, background=nursery,
                              logger=logging.getLogger(f"test.recovery2.{node_id}"), metrics=metrics)
    director = ShardDirector(context)
    director.attach()
    return director


async def opened(director):
    local = director.local[(INDEX_UUID, 0)]
    await local.opened.wait()
    if local.primary:
        await local.writes_allowed.wait()
    return local


async def wait_until_idle(director):
    while director.queued:
        await trio.sleep(0)


async def replicated_write(director, document_id, value):
    """A write through the real primary path: applied on n1's shard, forwarded to n2's."""
    state = director.context.metadata.state
    source = orjson.dumps({"n": value})
    answer, _ = await director.replication.primary_write(
        state.indices["logs"], state.routing_table["logs"][0],
        {"items": [["index", document_id, {"length": len(source)}]], "mapping_version": 1}, source)
    assert answer["failed_copies"] == 0 and answer["successful_copies"] == 2, answer


async def applied_on_the_primary_only(director, document_id, value):
    """The primary's worker applied (and fsynced) a batch; the process dies before forwarding it."""
    source = orjson.dumps({"n": value})
    answer, _ = await director.context.workers.call(INDEX_UUID, 0, "write", {
        "items": [["index", document_id, {"length": len(source)}]], "mapping_version": 1, "primary_term": 1,
        "replicate": True}, source)
    return answer["results"][0]["_seq_no"]


def searchable_count(shard):
    shard.refresh()
    return shard.statistics().doc_count


async def crash_with_a_write_only_on_the_primary(tmp_path, network, metadata):
    """Before the crash: three writes reach both copies, a fourth only the primary. Returns its seq_no."""
    async with trio.open_nursery() as nursery:
        replica_node = start_node("n2", tmp_path / "n2", network, metadata, nursery)
        primary_node = start_node("n1", tmp_path / "n1", network, metadata, nursery)
        replica_node.on_state_applied(None, metadata.state)
        primary_node.on_state_applied(None, metadata.state)
        await opened(replica_node)
        await opened(primary_node)
        for number in range(3):
            await replicated_write(primary_node, f"doc-{number}", number)
        lost_seq_no = await applied_on_the_primary_only(primary_node, "doc-3", 3)
        assert replica_node.context.workers.shard().local_checkpoint == lost_seq_no - 1
        primary_node.context.workers.crash()
        replica_node.context.workers.crash()
        nursery.cancel_scope.cancel()
    return lost_seq_no


async def test_a_reopened_started_primary_sends_its_started_replicas_what_it_applied_but_never_forwarded(tmp_path):
    network = Network()
    metadata = RecordingMetadata(cluster_with_started_primary_and_replica())
    lost_seq_no = await crash_with_a_write_only_on_the_primary(tmp_path, network, metadata)

    # both nodes come back before the master fails anything: both copies are still STARTED
    metrics = NodeMetrics()
    async with trio.open_nursery() as nursery:
        replica_node = start_node("n2", tmp_path / "n2", network, metadata, nursery)
        primary_node = start_node("n1", tmp_path / "n1", network, metadata, nursery, metrics=metrics)
        replica_node.on_state_applied(None, metadata.state)
        primary_node.on_state_applied(None, metadata.state)
        await opened(replica_node)
        await opened(primary_node)  # writes are allowed only once the replica was caught up
        replica = replica_node.context.workers.shard()
        primary = primary_node.context.workers.shard()
        assert replica.local_checkpoint == primary.local_checkpoint == lost_seq_no
        assert metrics.replica_catch_up_operations._value.get() == 1
        # and the copies converge under later writes instead of keeping a hole below them
        await replicated_write(primary_node, "doc-4", 4)
        assert searchable_count(replica) == searchable_count(primary) == 5
        assert metadata.submitted == [], "a replica that could be caught up stays in sync"
        nursery.cancel_scope.cancel()


async def test_a_started_replica_that_cannot_be_caught_up_leaves_the_in_sync_set_before_the_primary_takes_writes(
        tmp_path):
    network = Network()
    metadata = RecordingMetadata(cluster_with_started_primary_and_replica())
    await crash_with_a_write_only_on_the_primary(tmp_path, network, metadata)

    network.down.add("n2:9300")  # only the primary's node comes back
    async with trio.open_nursery() as nursery:
        primary_node = start_node("n1", tmp_path / "n1", network, metadata, nursery)
        primary_node.on_state_applied(None, metadata.state)
        await opened(primary_node)
        assert [type(command).__name__ for command in metadata.submitted] == ["RemoveFromInSync"]
        (command,) = metadata.submitted
        assert command.allocation_ids == ("r",) and command.primary_term == 1
        shard = metadata.state.routing_table["logs"][0]
        assert shard.in_sync_allocation_ids == ("p",)
        nursery.cancel_scope.cancel()


async def test_a_primary_that_cannot_read_its_own_history_does_not_blame_its_replicas(tmp_path):
    network = Network()
    metadata = RecordingMetadata(cluster_with_started_primary_and_replica())
    await crash_with_a_write_only_on_the_primary(tmp_path, network, metadata)

    async with trio.open_nursery() as nursery:
        replica_node = start_node("n2", tmp_path / "n2", network, metadata, nursery)
        primary_node = start_node("n1", tmp_path / "n1", network, metadata, nursery, fail_methods={"history"})
        replica_node.on_state_applied(None, metadata.state)
        primary_node.on_state_applied(None, metadata.state)
        await opened(replica_node)
        await opened(primary_node)
        assert metadata.submitted == [], "the replica is not to blame for the primary's own failure"
        assert metadata.state.routing_table["logs"][0].in_sync_allocation_ids == ("p", "r")
        nursery.cancel_scope.cancel()


async def test_a_primary_write_with_an_unknown_outcome_catches_the_started_replicas_up_in_the_background(tmp_path):
    network = Network()
    metadata = RecordingMetadata(cluster_with_started_primary_and_replica())
    async with trio.open_nursery() as nursery:
        replica_node = start_node("n2", tmp_path / "n2", network, metadata, nursery)
        primary_node = start_node("n1", tmp_path / "n1", network, metadata, nursery)
        replica_node.on_state_applied(None, metadata.state)
        primary_node.on_state_applied(None, metadata.state)
        await opened(replica_node)
        await opened(primary_node)
        await replicated_write(primary_node, "doc-0", 0)
        lost_seq_no = await applied_on_the_primary_only(primary_node, "doc-1", 1)
        replica = replica_node.context.workers.shard()
        assert replica.local_checkpoint == lost_seq_no - 1

        # the worker dies answering the next write (it may have applied it): the caller gets the
        # error, and the replicas are caught up with whatever the primary holds
        workers = primary_node.context.workers
        real_call = workers.call

        async def write_dies(index_uuid, shard_number, method, payload, body=b"", timeout_seconds=None):
            if method == "write":
                raise ConnectionError("shard worker 0: connection lost (test)")
            return await real_call(index_uuid, shard_number, method, payload, body, timeout_seconds)

        workers.call = write_dies
        state = metadata.state
        try:
            await primary_node.replication.primary_write(
                state.indices["logs"], state.routing_table["logs"][0],
                {"items": [["index", "doc-2", {"length": 2}]], "mapping_version": 1}, b"{}")
        except ConnectionError:
            pass
        else:
            raise AssertionError("the write's error must reach the caller")
        while primary_node.replication.catching_up:
            await trio.sleep(0)
        assert replica.local_checkpoint == lost_seq_no
        nursery.cancel_scope.cancel()


async def test_every_copy_keeps_a_recovery_record_and_a_peer_recovery_counts_the_operations_it_replayed(tmp_path):
    """Recovery progress (``_recovery`` / ``_cat/recovery`` read these records): a new primary comes
    from an empty store, a reopened started copy from its existing store, and a replica allocated
    later recovers from its peer, replaying the primary's history through TRANSLOG to DONE."""
    network = Network()
    network.down.add("n2:9300")
    metadata = RecordingMetadata(cluster_with_started_primary_and_replica())
    async with trio.open_nursery() as nursery:
        primary_node = start_node("n1", tmp_path / "n1", network, metadata, nursery)
        primary_node.on_state_applied(None, metadata.state)
        await opened(primary_node)
        reopened = primary_node.replication.recoveries[(INDEX_UUID, 0)]
        assert (reopened.recovery_type, reopened.stage) == ("EXISTING_STORE", "DONE")
        assert reopened.stop_time_millis >= reopened.start_time_millis
        # n2 was not there to be caught up, so its copy "r" left the in-sync set; the master then
        # allocates a fresh replica copy "r2" there
        assert metadata.state.routing_table["logs"][0].copy_with_allocation_id("r") is None
        for number in range(4):  # written while n2 has no copy: only the history can bring them
            source = orjson.dumps({"n": number})
            await primary_node.context.workers.call(INDEX_UUID, 0, "write", {
                "items": [["index", f"doc-{number}", {"length": len(source)}]], "mapping_version": 1,
                "primary_term": 1}, source)
        metadata.state = accepted(metadata.state, c.AllocateCopy(index_name="logs", shard_number=0, node_id="n2",
                                                                 allocation_id="r2", primary=False))
        network.down.clear()
        replica_node = start_node("n2", tmp_path / "n2", network, metadata, nursery)
        replica_node.on_state_applied(None, metadata.state)
        while metadata.state.routing_table["logs"][0].copy_with_allocation_id("r2").state != "STARTED":
            await trio.sleep(0)
        record = replica_node.replication.recoveries[(INDEX_UUID, 0)]
        assert (record.recovery_type, record.stage, record.allocation_id) == ("PEER", "DONE", "r2")
        assert (record.source_node_id, record.target_node_id) == ("n1", "n2")
        assert (record.operations_total, record.operations_recovered) == (4, 4)
        # what the APIs ask every node for
        answer, _ = await network.handlers_by_address["n2:9300"].methods["recovery/progress"]({}, b"")
        assert [entry["stage"] for entry in answer["recoveries"]] == ["DONE"]
        nursery.cancel_scope.cancel()


async def test_a_fresh_primary_is_recorded_as_recovered_from_an_empty_store(tmp_path):
    state = accepted(initial_cluster_state("test"), c.BootstrapCluster(cluster_uuid="u"))
    state = accepted(state, c.RegisterNode(node=NodeInfo(node_id="n1", name="n1", http_address="n1:9200",
                                                         transport_address="n1:9300")))
    state = accepted(state, c.CreateIndex(index_name="logs", index_uuid=INDEX_UUID, creation_date=1, mappings=MAPPINGS,
                                          settings={"index": {"number_of_shards": 1, "number_of_replicas": 0}}))
    state = accepted(state, c.AllocateCopy(index_name="logs", shard_number=0, node_id="n1", allocation_id="p",
                                           primary=True))
    metadata = RecordingMetadata(state)
    async with trio.open_nursery() as nursery:
        primary_node = start_node("n1", tmp_path / "n1", Network(), metadata, nursery)
        primary_node.on_state_applied(None, metadata.state)
        await opened(primary_node)
        record = primary_node.replication.recoveries[(INDEX_UUID, 0)]
        assert (record.recovery_type, record.stage, record.primary) == ("EMPTY_STORE", "DONE", True)
        nursery.cancel_scope.cancel()


async def test_a_recovered_copy_below_the_global_checkpoint_it_was_told_is_not_started(tmp_path):
    """Defence in depth (ADR 0170): the global checkpoint is on every in-sync copy, so a copy whose
    local checkpoint is below it lacks an operation the others hold and must recover again."""
    metadata = RecordingMetadata(cluster_with_started_primary_and_replica())
    async with trio.open_nursery() as nursery:
        replica_node = start_node("n2", tmp_path / "n2", Network(), metadata, nursery)
        replica_node.on_state_applied(None, metadata.state)
        local = await opened(replica_node)
        workers = replica_node.context.workers

        async def forwarded(seq_no, global_checkpoint):
            source = orjson.dumps({"n": seq_no})
            await workers.call(INDEX_UUID, 0, "apply_replica", {
                "operations": [["index", seq_no, 1, 1, f"doc-{seq_no}", len(source), None, None]],
                "mappings": MAPPINGS, "mapping_version": 1, "global_checkpoint": global_checkpoint,
                "primary_term": 1}, source)

        await forwarded(0, -1)
        await forwarded(2, 0)
        assert not await replica_node.replication.holds_less_than_its_global_checkpoint(local)
        await forwarded(3, 2)  # the primary says seq_nos up to 2 are everywhere; this copy lacks 1
        assert await replica_node.replication.holds_less_than_its_global_checkpoint(local)
        await forwarded(1, 2)
        assert not await replica_node.replication.holds_less_than_its_global_checkpoint(local)
        nursery.cancel_scope.cancel()


async def forwarded_to(workers, seq_no, term, global_checkpoint):
    source = orjson.dumps({"n": seq_no})
    await workers.call(INDEX_UUID, 0, "apply_replica", {
        "operations": [["index", seq_no, term, 1, f"doc-{seq_no}", len(source), None, None]],
        "mappings": MAPPINGS, "mapping_version": 1, "global_checkpoint": global_checkpoint,
        "primary_term": term}, source)


async def test_a_returning_copy_keeps_what_its_current_primary_sent_it_above_the_global_checkpoint(tmp_path):
    """Every operation above the copy's global checkpoint carries the term of the primary it now
    recovers from: that primary issued them and holds them, so nothing is rolled back and the
    history is asked from the local checkpoint (only what the copy missed travels)."""
    metadata = RecordingMetadata(cluster_with_started_primary_and_replica())
    async with trio.open_nursery() as nursery:
        node = start_node("n2", tmp_path / "n2", Network(), metadata, nursery)
        node.on_state_applied(None, metadata.state)
        local = await opened(node)
        workers = node.context.workers
        for seq_no in range(4):
            await forwarded_to(workers, seq_no, 2, 0)
        assert await node.replication.prepare_copy(local, 2, -1) == 3
        assert workers.shard().max_seq_no == 3 and searchable_count(workers.shard()) == 4
        nursery.cancel_scope.cancel()


async def test_a_returning_copy_holding_an_older_terms_operation_above_its_global_checkpoint_rolls_back(tmp_path):
    """An operation of an older term above the global checkpoint may be a deposed primary's write
    that the current primary never had: the copy rolls back to its global checkpoint first."""
    metadata = RecordingMetadata(cluster_with_started_primary_and_replica())
    async with trio.open_nursery() as nursery:
        node = start_node("n2", tmp_path / "n2", Network(), metadata, nursery)
        node.on_state_applied(None, metadata.state)
        local = await opened(node)
        workers = node.context.workers
        await forwarded_to(workers, 0, 1, -1)
        await forwarded_to(workers, 1, 1, 0)
        await forwarded_to(workers, 2, 1, 0)   # term 1 above the global checkpoint 0
        assert await node.replication.prepare_copy(local, 2, -1) == 0
        assert workers.shard().max_seq_no == 0 and searchable_count(workers.shard()) == 1
        nursery.cancel_scope.cancel()
