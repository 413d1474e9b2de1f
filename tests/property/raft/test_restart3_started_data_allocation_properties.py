"""Property tests for ADR 0270: nodes that report data of copies once STARTED there get replicas
back (an unassigned one, or a replacement still recovering from nothing is cancelled for them).
Held against DESIGN §10 (never an in-sync copy cancelled, a shard never left without its
primary) and against ping-pong (with the same live nodes and reports, rounds reach a fixed point)."""

import itertools
from random import Random

from hypothesis import given, settings
from hypothesis import strategies as st

from raft import commands as c
from raft.allocation import REALLOCATED_REPLICA_REASON, ReportedCopy, allocation_batch
from raft.apply import apply
from raft.state import INITIALIZING, NodeInfo, initial_cluster_state

NODE_IDS = ("n1", "n2", "n3", "n4")
ROUNDS_TO_SETTLE = 12


def build_cluster():
    state = initial_cluster_state("property")
    for node_id in NODE_IDS:
        state, _ = apply(state, c.RegisterNode(node=NodeInfo(
            node_id=node_id, name=node_id, http_address="h:1", transport_address="t:1")))
    state, _ = apply(state, c.CreateIndex(index_name="bench", index_uuid="bench-uuid", creation_date=0,
                                          settings={"number_of_shards": 3, "number_of_replicas": 1}))
    return state


def shards_of(state):
    for shards in state.routing_table.values():
        yield from shards


def reports(held_on_disk, live):
    """What each live node reports: every copy it held, started ones marked as holding data."""
    return {node_id: [ReportedCopy(index_name, shard_number, allocation_id, holds_started_data=started)
                      for (index_name, shard_number), (allocation_id, started) in sorted(held_on_disk[node_id].items())]
            for node_id in live}


def check_cancellations(before, batch):
    """Each REALLOCATED_REPLICA cancellation, checked against the state it applies to inside the
    batch: a copy the same batch allocated may be cancelled again (the batch applies atomically,
    so no node ever sees it), but never a primary, a started copy or an in-sync one."""
    working = before
    for command in batch.commands:
        if isinstance(command, c.FailCopy) and command.reason == REALLOCATED_REPLICA_REASON:
            shard = working.routing_table[command.index_name][command.shard_number]
            cancelled = shard.copy_with_allocation_id(command.allocation_id)
            assert cancelled is not None and not cancelled.primary and cancelled.state == INITIALIZING
            assert command.allocation_id not in shard.in_sync_allocation_ids
        working, outcome = apply(working, command)
        assert outcome.accepted, outcome


def check_invariants(before, after):
    for shard in shards_of(after):
        previous = before.routing_table[shard.index_name][shard.shard_number]
        if previous.in_sync_allocation_ids:
            assert shard.in_sync_allocation_ids
        assigned = [copy.node_id for copy in shard.copies if copy.assigned]
        assert len(assigned) == len(set(assigned))
        previous_primary = previous.primary()
        if previous_primary is not None and previous_primary.state == "STARTED" and \
                previous_primary.node_id in assigned:
            assert shard.primary() is not None


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2 ** 32 - 1))
def test_returning_started_data_never_cancels_in_sync_copies_and_rounds_settle(seed):
    random = Random(seed)
    state = build_cluster()
    counter = itertools.count(1)
    # per node: (index, shard) → (allocation id last assigned there, whether it was ever started)
    held_on_disk = {node_id: {} for node_id in NODE_IDS}

    def allocate(live):
        nonlocal state
        batch = allocation_batch(state, 1, live, lambda: f"a{next(counter)}", reports(held_on_disk, live))
        if batch is None:
            return False
        before = state
        check_cancellations(before, batch)
        state, outcome = apply(state, batch)
        assert outcome.accepted, outcome
        check_invariants(before, state)
        for shard in shards_of(state):
            for copy in shard.copies:
                if copy.assigned:
                    key = (shard.index_name, shard.shard_number)
                    _, started = held_on_disk[copy.node_id].get(key, (None, False))
                    held_on_disk[copy.node_id][key] = (copy.allocation_id, started)
        return True

    for _ in range(40):
        choice = random.random()
        live = set(random.sample(NODE_IDS, random.choice([2, 3, 3, 4, 4])))
        if choice < 0.5:
            allocate(live)
        else:
            # some recoveries finish (their nodes now hold started data of those shards)
            for shard in list(shards_of(state)):
                for copy in shard.copies:
                    if copy.state == INITIALIZING and random.random() < 0.5:
                        state, outcome = apply(state, c.StartCopy(
                            index_name=shard.index_name, shard_number=shard.shard_number,
                            allocation_id=copy.allocation_id))
                        if outcome.accepted:
                            held_on_disk[copy.node_id][(shard.index_name, shard.shard_number)] = (
                                copy.allocation_id, True)
    # with nothing finishing and the same live nodes and reports, decisions stop (no ping-pong)
    live = set(NODE_IDS)
    for _ in range(ROUNDS_TO_SETTLE):
        if not allocate(live):
            break
    else:
        raise AssertionError("allocation kept deciding with nothing changing: ping-pong")
