"""The lost acknowledged write jepsen-lite found (run seed 2585405761, element "1-351"; ADR 0170).

A replica copy registers with its primary as recovering and then reads the primary's history.
The primary used to choose the copies a write goes to BEFORE its worker applied the write. A copy
that registered in between read a history without the write (the worker had not applied it yet)
and was never sent it either, finished recovery, started in-sync, was later promoted, filled the
hole with a no-op and resynced it over the one copy that still held the write.

These tests drive node/coordination/replication.py's primary side in-process with a worker whose
``write`` is held until the test releases it, so the interleaving is chosen, not timed.
"""

import logging
from types import SimpleNamespace

import pytest
import trio

from node.coordination.replication import Replication
from node.errors import ApiError
from raft import commands as c
from raft.apply import apply
from raft.state import NodeInfo, initial_cluster_state

INDEX_UUID = "logs-uuid"
KEY = (INDEX_UUID, 0)
WRITTEN_SEQ_NO = 7


def accepted(state, command):
    new_state, outcome = apply(state, command)
    assert outcome.accepted, outcome
    return new_state


def node(node_id):
    return NodeInfo(node_id=node_id, name=node_id, http_address=f"{node_id}:9200",
                    transport_address=f"{node_id}:9300")


def cluster_with_started_primary():
    """n1 holds the started primary "p" of logs[0]; nothing else is allocated yet."""
    state = accepted(initial_cluster_state("test"), c.BootstrapCluster(cluster_uuid="u"))
    for node_id in ("n1", "n2"):
        state = accepted(state, c.RegisterNode(node=node(node_id)))
    state = accepted(state, c.CreateIndex(index_name="logs", index_uuid=INDEX_UUID, creation_date=1,
                                          settings={"index": {"number_of_shards": 1, "number_of_replicas": 1}}))
    state = accepted(state, c.AllocateCopy(index_name="logs", shard_number=0, node_id="n1",
                                           allocation_id="p", primary=True))
    return accepted(state, c.StartCopy(index_name="logs", shard_number=0, allocation_id="p"))


def with_recovering_replica(state):
    """n2's replica "r" of logs[0] is allocated and INITIALIZING."""
    return accepted(state, c.AllocateCopy(index_name="logs", shard_number=0, node_id="n2",
                                          allocation_id="r", primary=False))


class HeldWorker:
    """The primary's shard worker: ``write`` applies seq_no 7 only when the test releases it;
    ``history`` answers with the seq_nos applied so far (as Shard.operations_since would)."""

    def __init__(self):
        self.applied: list[int] = []
        self.write_started = trio.Event()
        self.write_may_finish = trio.Event()

    async def call(self, index_uuid, shard_number, method, payload, body=b"", timeout_seconds=None):
        if method == "write":
            self.write_started.set()
            await self.write_may_finish.wait()
            self.applied.append(WRITTEN_SEQ_NO)
            answer = {"results": [{"_seq_no": WRITTEN_SEQ_NO}], "local_checkpoint": WRITTEN_SEQ_NO}
            if payload.get("replicate"):
                # header[5] is the source length; the sources trail the results body
                answer["replicated"] = [["index", WRITTEN_SEQ_NO, payload["primary_term"], 1, "doc-1", 2]]
                return answer, b"RESULTS" + b"{}"
            return answer, b"RESULTS"
        if method == "history":
            return {"operations": [seq_no for seq_no in self.applied if seq_no > int(payload["from_seq_no"])]}, b""
        raise AssertionError(f"unexpected worker method {method}")


class RecordingPeers:
    def __init__(self):
        self.forwarded: list[tuple[str, list[int]]] = []

    async def request(self, address, method, request, body, timeout_seconds=None, channel=None):
        assert method == "shard/replicate"
        self.forwarded.append((request["allocation_id"], [header[1] for header in request["operations"]]))
        return {"local_checkpoint": WRITTEN_SEQ_NO}, b""


def replication_on_n1(state):
    worker, peers = HeldWorker(), RecordingPeers()
    context = SimpleNamespace(node_id="n1", metadata=SimpleNamespace(state=state), workers=worker, peers=peers,
                              logger=logging.getLogger("test.lost_write"), metrics=None, background=None)
    primary_local = SimpleNamespace(primary=True, writes_allowed=trio.Event())
    primary_local.writes_allowed.set()
    director = SimpleNamespace(local={KEY: primary_local})
    return Replication(context, director), context, worker, peers


def recover_request(from_seq_no=-1):
    return {"index_uuid": INDEX_UUID, "shard_number": 0, "allocation_id": "r", "from_seq_no": from_seq_no}


async def run_write_while(replication, context, worker, during_write):
    """Start a primary write, run ``during_write`` while the worker holds it, then release it."""
    index = context.metadata.state.indices["logs"]
    shard = context.metadata.state.routing_table["logs"][0]
    outcome = {}

    async def write():
        outcome["answer"] = await replication.primary_write(index, shard, {"items": 1}, b"")

    async with trio.open_nursery() as nursery:
        nursery.start_soon(write)
        await worker.write_started.wait()
        await during_write()
        worker.write_may_finish.set()
    return outcome["answer"]


async def test_a_copy_that_registers_as_recovering_while_the_primary_applies_a_write_is_sent_that_write():
    state = with_recovering_replica(cluster_with_started_primary())
    replication, context, worker, peers = replication_on_n1(state)
    histories = []

    async def recovery_registers_and_reads_history():
        answer, _ = await replication.handle_recover(recover_request(), b"")
        histories.append(answer["operations"])

    await run_write_while(replication, context, worker, recovery_registers_and_reads_history)

    assert histories == [[]], "the history was read before the worker applied the write"
    # the write is neither in the history the copy read nor may it be skipped: it must be forwarded
    assert ("r", [WRITTEN_SEQ_NO]) in peers.forwarded
    # and the copy may finish its recovery (it holds everything the primary acknowledged)
    finalized, _ = await replication.handle_recovery_finalize(recover_request(), b"")
    assert finalized == {"finalized": True}


async def test_a_copy_started_while_the_primary_applies_a_write_is_still_sent_that_write():
    recovering_state = with_recovering_replica(cluster_with_started_primary())
    replication, context, worker, peers = replication_on_n1(recovering_state)
    await replication.handle_recover(recover_request(), b"")
    started_state = accepted(recovering_state, c.StartCopy(index_name="logs", shard_number=0, allocation_id="r"))

    async def copy_starts():
        # what ShardDirector.on_state_applied does when the StartCopy state arrives: the copy is
        # no longer recovering, it is a started in-sync replica
        context.metadata.state = started_state
        replication.recovering[KEY].discard("r")

    answer, _ = await run_write_while(replication, context, worker, copy_starts)

    assert ("r", [WRITTEN_SEQ_NO]) in peers.forwarded
    assert answer["successful_copies"] == 2 and answer["failed_copies"] == 0


async def test_a_copy_allocated_during_a_write_that_kept_no_operations_must_recover_again():
    primary_only = cluster_with_started_primary()
    replication, context, worker, peers = replication_on_n1(primary_only)

    async def copy_is_allocated_and_registers():
        context.metadata.state = with_recovering_replica(primary_only)
        await replication.handle_recover(recover_request(), b"")

    await run_write_while(replication, context, worker, copy_is_allocated_and_registers)

    # the worker was told there was nobody to replicate to, so nothing could be forwarded: the
    # copy's registration is dropped and its finalize fails, so it reads the history again
    assert peers.forwarded == []
    with pytest.raises(ApiError, match="not registered as recovering"):
        await replication.handle_recovery_finalize(recover_request(), b"")
